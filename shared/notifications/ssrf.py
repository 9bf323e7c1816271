"""SSRF guard for outgoing webhooks: which URLs we may POST to, checked at save and at send time.

A webhook URL is chosen by an admin but fetched by our worker, from inside our network. Left
unchecked it reaches the cloud metadata service (169.254.169.254), the Fargate credentials
endpoint (169.254.170.2), Redis on localhost or any private service. So:

- at save time ``validate_webhook_url`` refuses a bad URL with a message naming the problem;
- at send time ``resolve_for_delivery`` parses and resolves again and returns the one checked
  address the sender must connect to. The sender never resolves the name itself, so a name that
  resolves to a public address at check time and to 127.0.0.1 a moment later (DNS rebinding)
  cannot slip through between the check and the connect.

Exemptions are explicit ``(host, port)`` pairs (``WEBHOOK_ALLOW_PRIVATE_HOSTS``), for tests and
local development; there are no wildcards.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses the name resolves to, as strings. Injected in tests.
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_PORTS = {"https": 443, "http": 80}

# Ranges refused on top of what `ipaddress` flags: its flags differ between Python versions
# (3.11 calls 100.64.0.0/10 neither private nor global, and multicast "global"), so the policy
# names every range it refuses.
_V4_REFUSED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address (cloud metadata and credentials live there)"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_V6_REFUSED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
        ("::/96", "an IPv4-compatible IPv6 address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001::/23", "an IETF protocol assignment address"),
        ("2001:db8::/32", "a documentation address"),
        ("fc00::/7", "a unique-local address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
# All public IPv6 unicast lies in 2000::/3; anything else that is not named above (::/8
# leftovers such as ::ffff:0:a.b.c.d, the unassigned ranges) is refused as well.
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
# WHATWG URL: a host whose last label is a number is an IPv4 address, in any notation
# (2852039166, 0x7f.1, 0177.0.0.1, 127.1). Resolvers accept those spellings; we accept only
# the plain dotted quad so that what the admin reads is what we connect to.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class WebhookUrlError(ValueError):
    """A webhook URL we will not deliver to; the message says why, for the admin to act on."""


class HostNotResolved(WebhookUrlError):
    """The name has no address right now: refused at save time, retried later at send time."""


@dataclass(frozen=True)
class WebhookPolicy:
    """What the deployment allows. Production: the defaults (https only, no exemptions)."""

    allow_http: bool = False
    # Exact (host, port) pairs whose private addresses are allowed; host lower-case, IPv6
    # without brackets. From WEBHOOK_ALLOW_PRIVATE_HOSTS via parse_allowed_hosts. Never an
    # address in _NEVER_EXEMPT, and a loopback address only when exempt_loopback (not production).
    allow_private_hosts: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    exempt_loopback: bool = True

    def exempts(self, host: str, port: int) -> bool:
        return (host, port) in self.allow_private_hosts


@dataclass(frozen=True)
class ParsedUrl:
    url: str
    scheme: str
    host: str  # lower-case; IDNA (punycode) for names; IPv6 without brackets
    port: int
    target: str  # path and query as sent in the request line
    host_header: str  # what goes in Host: (the port only when not the default)
    literal_ip: IPAddress | None  # the host when the URL names an address


@dataclass(frozen=True)
class CheckedTarget:
    """A URL that passed the guard and the one address to connect to."""

    parsed: ParsedUrl
    ip: str

    @property
    def host(self) -> str:
        return self.parsed.host

    @property
    def port(self) -> int:
        return self.parsed.port


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver returns for host (A and AAAA), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0], None)
    return list(seen)


# No receiver lives at these, whatever WEBHOOK_ALLOW_PRIVATE_HOSTS says: link-local is where the
# cloud's metadata and credentials answer (169.254.169.254, ECS's 169.254.170.2), and the others
# are not one host. An exempted name that resolves to one of them is refused like any other.
_NEVER_EXEMPT: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv4Network("169.254.0.0/16"),
    ipaddress.IPv4Network("224.0.0.0/4"),
    ipaddress.IPv4Network("240.0.0.0/4"),
    ipaddress.IPv6Network("::/128"),
    ipaddress.IPv6Network("fe80::/10"),
    ipaddress.IPv6Network("ff00::/8"),
)


def exemption_problem(ip: IPAddress, *, exempt_loopback: bool = True) -> str | None:
    """Why WEBHOOK_ALLOW_PRIVATE_HOSTS cannot exempt this address (a phrase), or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for network in _NEVER_EXEMPT:
        if ip.version == network.version and ip in network:
            return address_problem(ip) or "an address no receiver can have"
    if ip.is_loopback and not exempt_loopback:
        # On ECS, loopback is the task itself: the web server's own port and its sidecars.
        return "a loopback address (in production that is the server's own task)"
    return None


def parse_allowed_hosts(value: str) -> frozenset[tuple[str, int]]:
    """Parse WEBHOOK_ALLOW_PRIVATE_HOSTS ("host:port,[::1]:8080"); wildcards and bare hosts are refused."""
    pairs: set[tuple[str, int]] = set()
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d{1,5})|([^:\[\]\s]+):(\d{1,5})", item)
        if not match or "*" in item:
            raise ValueError(f"WEBHOOK_ALLOW_PRIVATE_HOSTS: {item!r} is not an explicit host:port")
        if match.group(1):
            try:
                host = ipaddress.IPv6Address(match.group(1)).compressed  # the spelling parse_webhook_url produces
            except ValueError:
                raise ValueError(f"WEBHOOK_ALLOW_PRIVATE_HOSTS: {item!r} is not a valid IPv6 address") from None
        else:
            host = match.group(3).lower().rstrip(".")
        port = int(match.group(2) or match.group(4))
        if not 0 < port < 65536:
            raise ValueError(f"WEBHOOK_ALLOW_PRIVATE_HOSTS: port {port} in {item!r} is out of range")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and (problem := exemption_problem(literal)):
            raise ValueError(f"WEBHOOK_ALLOW_PRIVATE_HOSTS: {item!r} is {problem}: it cannot be exempted")
        pairs.add((host, port))
    return frozenset(pairs)


def address_problem(ip: IPAddress) -> str | None:
    """Why we refuse to connect to ip (a phrase like "a loopback address"), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64:
            # NAT64 translates to the IPv4 address in the low 32 bits: judge that one.
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            problem = address_problem(inner)
            return f"a NAT64 form of {problem}" if problem else None
        if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
            problem = address_problem(ip.sixtofour)
            return f"a 6to4 form of {problem}" if problem else None
        for net, why in _V6_REFUSED:
            if ip in net:
                return why
        if ip not in _V6_GLOBAL_UNICAST or not ip.is_global:
            return "not a public address"
        return None
    for network, why in _V4_REFUSED:
        if ip in network:
            return why
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


def parse_webhook_url(url: str, *, policy: WebhookPolicy) -> ParsedUrl:
    """Check the URL's form (scheme, userinfo, host spelling) without any network access."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookUrlError("Enter the URL of the endpoint.")
    url = url.strip()
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise WebhookUrlError("The URL contains spaces or control characters.")
    if "\\" in url:
        raise WebhookUrlError("The URL contains a backslash; write the address with '/' only.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise WebhookUrlError(f"The URL cannot be read: {exc}.") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if scheme not in allowed:
        if scheme == "http":
            raise WebhookUrlError("Webhook URLs must use https:// (plain http is allowed only in development).")
        shown = f"{scheme}:" if scheme else "no scheme"
        raise WebhookUrlError(f"Webhook URLs must start with https://; {shown} is not allowed.")
    netloc = parts.netloc
    if "@" in netloc:
        raise WebhookUrlError("The URL must not contain a user name or password (the part before '@').")
    if not netloc:
        raise WebhookUrlError("The URL has no host name.")
    try:
        port = parts.port
    except ValueError:
        raise WebhookUrlError("The port in the URL is not a number between 1 and 65535.") from None
    if port == 0:
        raise WebhookUrlError("The port in the URL is not a number between 1 and 65535.")
    port = port or DEFAULT_PORTS[scheme]
    raw_host = parts.hostname or ""
    if not raw_host:
        raise WebhookUrlError("The URL has no host name.")

    literal_ip: IPAddress | None = None
    if netloc.startswith("["):
        try:
            literal_ip = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise WebhookUrlError(f"[{raw_host}] is not a valid IPv6 address.") from None
        if literal_ip.scope_id:
            raise WebhookUrlError("IPv6 addresses with a zone (%…) are not allowed.")
        host = literal_ip.compressed
    else:
        host = _normalise_name(raw_host)
        labels = host.split(".")
        if _NUMERIC_LABEL.match(labels[-1]):
            try:
                literal_ip = ipaddress.IPv4Address(host)
            except ValueError:
                raise WebhookUrlError(
                    f"The host {raw_host!r} is an IP address written in decimal, octal or hex form; "
                    "write it as four decimal numbers (a.b.c.d) or use a host name."
                ) from None

    default_port = DEFAULT_PORTS[scheme]
    shown_host = f"[{host}]" if isinstance(literal_ip, ipaddress.IPv6Address) else host
    host_header = shown_host if port == default_port else f"{shown_host}:{port}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    # The request line is ASCII: percent-encode what is not, keep what is already encoded.
    target = quote(target, safe="/?&=%:@!$'()*+,;~-._")
    return ParsedUrl(
        url=url, scheme=scheme, host=host, port=port, target=target, host_header=host_header, literal_ip=literal_ip
    )


def _normalise_name(raw_host: str) -> str:
    host = raw_host.lower()
    if host.endswith("."):
        host = host[:-1]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise WebhookUrlError(f"The host name {raw_host!r} is not a valid domain name.") from None
    labels = host.split(".")
    if not host or not all(_LABEL.match(label) for label in labels):
        raise WebhookUrlError(f"The host name {raw_host!r} is not a valid domain name.")
    return host


def _exemption_hint(parsed: ParsedUrl, ip: IPAddress, policy: WebhookPolicy) -> str:
    """How a receiver at this private address is allowed after all, when it can be: the refusal is
    read by an admin, often a developer with a receiver on their own machine, who needs the
    setting's name and the exact pair to write in it (found by an integrator)."""
    if exemption_problem(ip, exempt_loopback=policy.exempt_loopback):
        return ""
    shown = f"[{parsed.host}]" if isinstance(parsed.literal_ip, ipaddress.IPv6Address) else parsed.host
    return (
        f" To allow a receiver you run there (local development, an internal service), the server's "
        f"WEBHOOK_ALLOW_PRIVATE_HOSTS setting must name it: {shown}:{parsed.port}."
    )


def _check_addresses(parsed: ParsedUrl, addresses: Sequence[str], policy: WebhookPolicy) -> list[str]:
    """Return the addresses as strings once every one of them is acceptable."""
    if not addresses:
        raise HostNotResolved(f"The host name {parsed.host!r} does not resolve to any address.")
    checked: list[str] = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise WebhookUrlError(f"{parsed.host!r} resolved to {text!r}, which is not an IP address.") from None
        problem = address_problem(ip)
        if problem:
            hint = _exemption_hint(parsed, ip, policy)
            if parsed.literal_ip is not None:
                raise WebhookUrlError(f"{parsed.host} is {problem}; webhooks may only go to public addresses.{hint}")
            # One bad address refuses the host: a name that also points inside is not an endpoint
            # we trust, and the connection could land on whichever record comes first.
            raise WebhookUrlError(
                f"{parsed.host!r} resolves to {ip}, which is {problem}; webhooks may only go to public addresses."
                + hint
            )
        checked.append(ip.compressed)
    return checked


def _resolve(parsed: ParsedUrl, resolver: Resolver | None) -> list[str]:
    if parsed.literal_ip is not None:
        return [parsed.literal_ip.compressed]
    if parsed.host == "localhost" or parsed.host.endswith(".localhost"):
        # RFC 6761: always loopback, whatever a resolver answers.
        return ["127.0.0.1"]
    try:
        return list((resolver or system_resolver)(parsed.host, parsed.port))
    except (OSError, UnicodeError) as exc:
        raise HostNotResolved(f"The host name {parsed.host!r} could not be resolved ({exc}).") from None


def resolve_for_delivery(url: str, *, policy: WebhookPolicy, resolver: Resolver | None = None) -> CheckedTarget:
    """Check url and resolve it now; return the checked address to connect to, or raise WebhookUrlError."""
    parsed = parse_webhook_url(url, policy=policy)
    addresses = _resolve(parsed, resolver)
    if policy.exempts(parsed.host, parsed.port):
        if not addresses:
            raise HostNotResolved(f"The host name {parsed.host!r} does not resolve to any address.")
        for address in addresses:
            if problem := exemption_problem(ipaddress.ip_address(address), exempt_loopback=policy.exempt_loopback):
                raise WebhookUrlError(
                    f"{parsed.host} resolves to {address}, {problem}; WEBHOOK_ALLOW_PRIVATE_HOSTS cannot exempt that."
                )
        return CheckedTarget(parsed=parsed, ip=str(ipaddress.ip_address(addresses[0])))
    checked = _check_addresses(parsed, addresses, policy)
    return CheckedTarget(parsed=parsed, ip=checked[0])


def validate_webhook_url(url: str, *, policy: WebhookPolicy, resolver: Resolver | None = None) -> str:
    """Save-time check: the URL as it should be stored, or WebhookUrlError with a message for the form."""
    return resolve_for_delivery(url, policy=policy, resolver=resolver).parsed.url
