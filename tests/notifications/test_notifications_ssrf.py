"""The SSRF guard: what an admin may save as a webhook URL and where the worker may connect."""

from __future__ import annotations

import re

import pytest

from shared.notifications.ssrf import (
    WebhookPolicy,
    WebhookUrlError,
    parse_allowed_hosts,
    resolve_for_delivery,
    validate_webhook_url,
)

# Development policy: plain http allowed, so each refusal below is about the address, not the scheme.
DEV = WebhookPolicy(allow_http=True)
PROD = WebhookPolicy()


def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


# The list from issue 10, with the words the admin should read in the refusal.
ISSUE_EXAMPLES = [
    ("http://169.254.169.254", "link-local"),
    ("http://169.254.170.2", "link-local"),
    ("http://[::ffff:169.254.169.254]", "IPv4-mapped"),
    ("http://2852039166", "decimal, octal or hex"),
    ("http://0x7f.1", "decimal, octal or hex"),
    ("http://10.0.0.5", "private"),
    ("http://localhost:6379", "loopback"),
    ("http://[fd00:ec2::254]", "unique-local"),
    ("file:///etc/passwd", "file: is not allowed"),
    ("gopher://x", "gopher: is not allowed"),
]


@pytest.mark.parametrize(("url", "reason"), ISSUE_EXAMPLES)
def test_issue_examples_are_refused_at_save_time_with_a_reason(url, reason):
    with pytest.raises(WebhookUrlError, match=reason):
        validate_webhook_url(url, policy=DEV, resolver=public_resolver)


@pytest.mark.parametrize(("url", "reason"), ISSUE_EXAMPLES)
def test_issue_examples_are_refused_at_send_time(url, reason):
    with pytest.raises(WebhookUrlError, match=reason):
        resolve_for_delivery(url, policy=DEV, resolver=public_resolver)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://172.16.3.4/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://100.64.0.1/", "carrier-grade NAT"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://255.255.255.255/", "reserved"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[::a9fe:a9fe]/", "IPv4-compatible"),
        ("https://[::ffff:8.8.8.8]/", "IPv4-mapped"),
        ("https://[64:ff9b::a9fe:a9fe]/", "NAT64 form of a link-local"),
        ("https://[64:ff9b::7f00:1]/", "NAT64 form of a loopback"),
        ("https://[2002:a9fe:a9fe::1]/", "6to4 form of a link-local"),
        ("https://[::ffff:0:7f00:1]/", "not a public address"),  # SIIT "IPv4-translated" form
        ("https://[4000::1]/", "not a public address"),  # outside 2000::/3, unassigned
        ("https://[2001:db8::1]/", "documentation"),
        ("https://0177.0.0.1/", "decimal, octal or hex"),
        ("https://127.1/", "decimal, octal or hex"),
        ("https://0x7f000001/", "decimal, octal or hex"),
        ("https://127.0.0.1./", "loopback"),
        ("https://app.localhost/", "loopback"),
        ("https://user:secret@example.com/hook", "user name or password"),
        ("https://example.com@10.0.0.5/", "user name or password"),
        ("http://example.com/hook", "must use https"),
        ("ftp://example.com/", "ftp: is not allowed"),
        ("javascript:alert(1)", "javascript: is not allowed"),
        ("//example.com/hook", "no scheme"),
        ("https://exa mple.com/", "spaces or control characters"),
        ("https://example.com\r\nX-Evil: 1/", "spaces or control characters"),
        ("https://example.com:99999/", "port"),
        ("https://exa_$mple.com/", "not a valid domain name"),
        ("https:///path-only", "no host"),
        ("", "Enter the URL"),
    ],
)
def test_other_forbidden_forms_are_refused(url, reason):
    with pytest.raises(WebhookUrlError, match=reason):
        validate_webhook_url(url, policy=PROD, resolver=public_resolver)


def test_http_is_refused_in_production_even_for_a_public_host():
    with pytest.raises(WebhookUrlError, match="must use https"):
        validate_webhook_url("http://hooks.example.com/x", policy=PROD, resolver=public_resolver)
    assert validate_webhook_url("http://hooks.example.com/x", policy=DEV, resolver=public_resolver)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/services/T000/B000/XXXX",
        "https://93.184.215.14:8443/hook?team=ops",
        "https://[2606:4700:4700::1111]/hook",
        "https://[64:ff9b::808:808]/hook",  # NAT64 form of a public address
        "https://bücher.example/hook",
    ],
)
def test_public_endpoints_are_accepted(url):
    assert validate_webhook_url(url, policy=PROD, resolver=public_resolver) == url


def test_a_name_with_any_private_address_is_refused():
    def split_horizon(host, port):
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(WebhookUrlError, match=r"'hooks.example.com' resolves to 10.1.2.3, which is a private address"):
        validate_webhook_url("https://hooks.example.com/", policy=PROD, resolver=split_horizon)


def test_a_name_that_does_not_resolve_is_refused_with_its_name():
    def nxdomain(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(WebhookUrlError, match=re.escape("'nowhere.example' could not be resolved")):
        validate_webhook_url("https://nowhere.example/", policy=PROD, resolver=nxdomain)


def test_dns_rebinding_public_at_save_loopback_at_send_is_blocked_at_send():
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    def rebinding(host, port):
        return next(answers)

    url = "https://rebind.example/hook"
    assert validate_webhook_url(url, policy=PROD, resolver=rebinding) == url
    with pytest.raises(WebhookUrlError, match=re.escape("resolves to 127.0.0.1, which is a loopback address")):
        resolve_for_delivery(url, policy=PROD, resolver=rebinding)


def test_send_time_check_returns_the_checked_address_and_the_original_host():
    target = resolve_for_delivery("https://Hooks.Example.com:8443/in?x=1", policy=PROD, resolver=public_resolver)
    assert target.ip == "93.184.215.14"
    assert target.parsed.host == "hooks.example.com"
    assert target.parsed.host_header == "hooks.example.com:8443"
    assert target.parsed.target == "/in?x=1"


def test_exemption_is_for_the_exact_host_and_port_only():
    policy = WebhookPolicy(allow_http=True, allow_private_hosts=parse_allowed_hosts("127.0.0.1:8080, receiver:9000"))
    assert resolve_for_delivery("http://127.0.0.1:8080/hook", policy=policy).ip == "127.0.0.1"
    assert (
        resolve_for_delivery("http://receiver:9000/", policy=policy, resolver=lambda h, p: ["172.18.0.5"]).ip
        == "172.18.0.5"
    )
    with pytest.raises(WebhookUrlError, match="loopback"):
        resolve_for_delivery("http://127.0.0.1:8081/hook", policy=policy)
    with pytest.raises(WebhookUrlError, match="private"):
        resolve_for_delivery("http://receiver:9001/", policy=policy, resolver=lambda h, p: ["172.18.0.5"])
    # An exemption does not re-open the other checks.
    with pytest.raises(WebhookUrlError, match="decimal, octal or hex"):
        resolve_for_delivery("http://2130706433:8080/", policy=policy)


@pytest.mark.parametrize("value", ["*:443", "localhost", "10.0.0.0/8", "host:", "[::1]", "host:70000", "[::g]:80"])
def test_exemption_list_must_name_explicit_host_port_pairs(value):
    with pytest.raises(ValueError, match="WEBHOOK_ALLOW_PRIVATE_HOSTS"):
        parse_allowed_hosts(value)


def test_exemption_list_parses_names_and_ipv6():
    assert parse_allowed_hosts(" Receiver:9000,[0:0::1]:8080,, ") == frozenset({("receiver", 9000), ("::1", 8080)})
    policy = WebhookPolicy(allow_http=True, allow_private_hosts=parse_allowed_hosts("[0::1]:8080"))
    assert resolve_for_delivery("http://[::1]:8080/", policy=policy).ip == "::1"


# Found by a security review: WEBHOOK_ALLOW_PRIVATE_HOSTS=169.254.169.254:443 was taken silently,
# in production too, and opened the cloud's metadata service to any admin's webhook.
@pytest.mark.parametrize(
    "value", ["169.254.169.254:443", "169.254.170.2:80", "[fe80::1]:443", "0.0.0.0:80", "[::ffff:169.254.169.254]:80"]
)
def test_an_exemption_cannot_name_a_link_local_or_unspecified_address(value):
    with pytest.raises(ValueError, match=r"WEBHOOK_ALLOW_PRIVATE_HOSTS: .* cannot be exempted"):
        parse_allowed_hosts(value)


def test_an_exempted_name_that_resolves_to_the_metadata_address_is_refused_at_send():
    policy = WebhookPolicy(allow_http=True, allow_private_hosts=parse_allowed_hosts("receiver.internal:9000"))
    assert resolve_for_delivery("http://receiver.internal:9000/", policy=policy, resolver=lambda h, p: ["10.0.3.4"])
    with pytest.raises(WebhookUrlError, match=r"resolves to 169\.254\.169\.254, a link-local address .* cannot exempt"):
        resolve_for_delivery(
            "http://receiver.internal:9000/", policy=policy, resolver=lambda h, p: ["10.0.3.4", "169.254.169.254"]
        )


def test_production_policy_never_exempts_loopback_even_through_a_name():
    allowed = parse_allowed_hosts("receiver.internal:9000")
    production = WebhookPolicy(allow_private_hosts=allowed, exempt_loopback=False)
    with pytest.raises(WebhookUrlError, match="loopback"):
        resolve_for_delivery("https://receiver.internal:9000/", policy=production, resolver=lambda h, p: ["127.0.0.1"])
    # An internal receiver on a private address is what the exemption is for, in production too.
    internal = resolve_for_delivery(
        "https://receiver.internal:9000/", policy=production, resolver=lambda h, p: ["10.0.3.4"]
    )
    assert internal.ip == "10.0.3.4"
