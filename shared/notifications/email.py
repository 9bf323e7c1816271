"""Notification email: build one message per (event, recipient), send it over SMTP or to a folder.

Database-free: the worker task gathers a `MailEvent` and the `MailRecipient`s (see
`rules.recipients_for`), builds each message with `build_message` and hands it to a `Mailer`
from `make_mailer`. Messages are deterministic for an (event, recipient) pair (same
Message-ID, same file name), so a task that runs twice produces the same mail, which the
delivery row's compare-and-set then sends only once.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import tempfile
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markdown_it import MarkdownIt

from shared.incidents.lifecycle import Status
from shared.notifications.rules import EventKind
from shared.text import without_unwanted
from shared.timeutil import as_utc
from shared.tls import system_tls_context

log = logging.getLogger(__name__)

SmtpSecurity = Literal["none", "starttls", "tls"]
SMTP_SECURITY_CHOICES: tuple[str, ...] = ("none", "starttls", "tls")
SUBJECT_TITLE_LIMIT = 150
SUBJECT_FILENAME_LIMIT = 80  # an upload's file name in its verdict's subject
SUBJECT_REASON_LIMIT = 100  # the gist of why it was refused, after the name
# A comment or a reason in a mail: as typed, up to whichever limit comes first (enough for a
# command and the top of a stack trace); the mail links to the rest.
EXCERPT_CHARS = 2000
EXCERPT_LINES = 40
WRAP_WIDTH = 78  # prose lines of the plain-text part; code is never re-wrapped

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    # HTML is escaped, plain text is not (a title with "<" reads as written there).
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class MailEvent:
    """What happened, with the words a person reads; the worker fills it from the event and the incident."""

    event_id: str
    kind: EventKind
    incident_id: int
    incident_key: str  # "INC-42"
    incident_title: str
    incident_status: str  # the label people read: "Blocked"
    incident_priority: str  # "P1"
    actor_name: str  # who did it; "" for the system (the scanner)
    occurred_at: datetime
    comment_excerpt: str = ""  # the comment's Markdown as typed, line breaks kept (see `excerpt`)
    comment_truncated: bool = False  # the excerpt is the start of a longer comment
    reason: str = ""  # what the move recorded: why it was blocked, reopened or closed; the resolution summary
    reason_truncated: bool = False
    previous_status: str = ""  # a status change's "from", as a label ("Resolved"); "" when not known
    previous_priority: str = ""  # a priority change's "from" ("P2"); "" when not known
    evidence_filename: str = ""
    evidence_verdict: str = ""  # "clean", "infected (Eicar-Test-Signature)", ...
    comment_id: int | None = None  # a comment's mail links to it on the incident page
    to_owner: bool = False  # a new incident's mail to the person it was filed for
    follow_up_id: int | None = None  # a follow-up's mail links to it in the incident's Follow-ups
    follow_up_title: str = ""
    follow_up_due: str = ""  # its due date, ISO ("2026-12-04"); "" for none
    follow_up_owner: str = ""  # a moved follow-up's mail: the name of whom it went to; "" for nobody


@dataclass(frozen=True)
class MailRecipient:
    user_id: int
    email: str
    name: str = ""


@dataclass(frozen=True)
class SmtpConfig:
    """SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_SECURITY."""

    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0  # per socket operation; a stuck relay must not hold a worker

    def __post_init__(self) -> None:
        if self.security not in SMTP_SECURITY_CHOICES:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_CHOICES)}, got {self.security!r}")


class MailDeliveryError(RuntimeError):
    """Sending failed. permanent: the server refused this message or recipient (5xx), retrying
    will not help; otherwise (network, 4xx, login, missing STARTTLS) retry with backoff."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


# --- building --------------------------------------------------------------------------------


def one_line(text: str, limit: int | None = None) -> str:
    """text with every control or line-separator character turned into a space, so it can never
    start a new header line (CR, LF, NEL, U+2028 ... all count)."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def _mail_domain(base_url: str) -> str:
    host = urlsplit(base_url).hostname or ""
    return host if re.fullmatch(r"[a-z0-9.-]+", host) else "incident-tracker.invalid"


def _id_part(value: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", str(value))


def thread_root_id(*, incident_id: int, base_url: str) -> str:
    """The Message-ID every mail about one incident refers to, so clients thread them together."""
    return f"<incident-{_id_part(incident_id)}@{_mail_domain(base_url)}>"


def message_id(*, event_id: str, recipient_id: int, base_url: str) -> str:
    """One Message-ID per (event, recipient): the same on a second run of the same task."""
    return f"<{_id_part(event_id)}.{_id_part(recipient_id)}@{_mail_domain(base_url)}>"


def incident_url(*, base_url: str, incident_key: str) -> str:
    return f"{base_url.rstrip('/')}/incidents/{quote(incident_key, safe='')}"


def _move(event: MailEvent) -> str:
    """What a status change was, in the words its mail uses: "reopened", "unblocked", "resolved",
    "closed" or (any other move, or one whose "from" is not known) "moved"."""
    before, now = event.previous_status, event.incident_status
    if now == Status.IN_PROGRESS.label and before in (Status.RESOLVED.label, Status.CLOSED.label):
        return "reopened"
    if now == Status.IN_PROGRESS.label and before == Status.BLOCKED.label:
        return "unblocked"
    if before and now == Status.RESOLVED.label:
        return "resolved"
    if before and now == Status.CLOSED.label:
        return "closed"
    return "moved"


def reason_label(event: MailEvent) -> str:
    """What the text a move recorded is: a move to Resolved records its resolution summary."""
    return "Resolution summary" if event.incident_status == Status.RESOLVED.label else "Reason"


def _priority_move(event: MailEvent) -> str:
    """What a priority change was: "raised" (to a more urgent priority; P1 is the most) or
    "lowered". A change whose "from" is not known counts as raised: only a raise to P1 is mailed."""
    before = event.previous_priority
    return "lowered" if before and before < event.incident_priority else "raised"


def subject_for(event: MailEvent) -> str:
    """``[INC-42] Blocked: Disk full on log shipper`` and its siblings, on one line."""
    if event.kind == EventKind.EVIDENCE_VERDICT:  # about one file: it is named instead of the incident
        return one_line(f"[{event.incident_key}] {_verdict_subject(event)}")
    move = _move(event)
    label = {
        EventKind.ASSIGNED: "Assigned to you",
        EventKind.STATUS_CHANGED: move.capitalize() if move in ("reopened", "unblocked") else event.incident_status,
        EventKind.COMMENT_CREATED: "New comment",
        EventKind.INCIDENT_CREATED: f"New {event.incident_priority}",
        EventKind.PRIORITY_CHANGED: f"{_priority_move(event).capitalize()} to {event.incident_priority}",
        EventKind.EVIDENCE_INFECTED: "Infected upload",
        EventKind.FOLLOW_UP_ASSIGNED: "Follow-up for you",
        EventKind.FOLLOW_UP_MOVED: (
            f"Follow-up moved to {one_line(event.follow_up_owner, 60)}"
            if event.follow_up_owner
            else "Follow-up unassigned"
        ),
    }[EventKind(event.kind)]
    # A follow-up's mail is about the follow-up: its title, not the incident's.
    about = event.follow_up_title if event.kind in _FOLLOW_UP_KINDS else event.incident_title
    return one_line(f"[{event.incident_key}] {label}: {one_line(about, SUBJECT_TITLE_LIMIT)}")


def _verdict_subject(event: MailEvent) -> str:
    """The subject of a verdict's mail: the file, and why in a few words ("report.exe was
    rejected: files ending in .exe are not accepted"). Four files refused in one upload were
    four mails of one subject naming none, with the allowed types in each: those, and the rest
    of the reason, are the body's."""
    name = one_line(event.evidence_filename, SUBJECT_FILENAME_LIMIT) or "Your upload"
    # The verdict as stored: "rejected (files ending in .exe are not accepted (allowed: csv, ...);
    # file is plain text)", cut at 200 characters; the reason's first clause is its gist.
    state, _, reason = event.evidence_verdict.partition(" (")
    gist = one_line(re.split(r" \(|; ", reason.removesuffix(")"))[0].rstrip("…"), SUBJECT_REASON_LIMIT)
    said = {
        "error": f"{name} could not be checked",
        "rejected": f"{name} was rejected",
    }.get(state, f"{name} is {state or 'scanned'}")
    return f"{said}: {gist}" if gist else said


def set_subject(message: EmailMessage, subject: str, width: int = 78) -> None:
    """The message's Subject, on one line of text, folded here and not by the email package: its
    folder can end a line with the space before an encoded word and start the next line with
    another (a "40% — payments" subject then reads "40%  — payments"), or drop the space between
    two encoded words. Plain ASCII folds at its spaces, each fold standing for one space; any
    other text, or a word too long for a line, goes as UTF-8 encoded words, which a reader joins
    across folds without adding a space."""
    subject = one_line(subject)
    lines, room = [""], width - len("Subject: ")
    for word in subject.split(" "):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > room:
            lines, room = [*lines, ""], width - 1
        lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    fits = len(lines[0]) <= width - len("Subject: ") and all(len(line) < width for line in lines[1:])
    if subject.isascii() and "=?" not in subject and fits:
        folded = "\n ".join(lines)
    else:
        folded = Header(subject, "utf-8", maxlinelen=width, header_name="Subject").encode(linesep="\n")
    # Stored as folded: the policy refolds a raw value only when a line is over `width`.
    message.set_raw("Subject", folded)


def headline_for(event: MailEvent) -> str:
    """The first sentence of the mail. Built here, not in a shared template partial: Jinja decides
    escaping per template file, so a .txt partial included in the HTML body would not be escaped."""
    who = one_line(event.actor_name) or "The tracker"
    key = event.incident_key
    before = event.previous_status
    moved = {
        "reopened": f"{who} reopened {key} (it was {before}); it is {event.incident_status} again.",
        "unblocked": f"{who} unblocked {key}; it is {event.incident_status} again.",
        "resolved": f"{who} resolved {key}.",
        "closed": f"{who} closed {key}." if before != Status.OPEN.label else f"{who} closed {key} while it was Open.",
        "moved": f"{who} moved {key} to {event.incident_status}.",
    }[_move(event)]
    return {
        EventKind.ASSIGNED: f"{who} assigned {key} to you.",
        EventKind.STATUS_CHANGED: moved,
        EventKind.COMMENT_CREATED: f"{who} commented on {key}.",
        EventKind.INCIDENT_CREATED: (
            f"{who} filed a new {event.incident_priority} incident, {key}, and made you its owner."
            if event.to_owner
            else f"{who} filed a new {event.incident_priority} incident, {key}."
        ),
        EventKind.PRIORITY_CHANGED: (
            f"{who} {_priority_move(event)} {key} from {event.previous_priority} to {event.incident_priority}."
            if event.previous_priority
            else f"{who} {_priority_move(event)} {key} to {event.incident_priority}."
        ),
        EventKind.EVIDENCE_INFECTED: f"A file uploaded to {key} was flagged as infected and quarantined.",
        # Mailed only for a file that is not there to download: infected or rejected (checked),
        # or an error (the check itself failed, e.g. the scanner did not answer).
        EventKind.EVIDENCE_VERDICT: (
            f"Your file on {key} could not be checked{event.evidence_verdict.removeprefix('error')}."
            if event.evidence_verdict.startswith("error")
            else f"Your file on {key} was checked: {event.evidence_verdict or 'done'}."
        ),
        EventKind.FOLLOW_UP_ASSIGNED: f"{who} gave you a follow-up on {key}.",
        EventKind.FOLLOW_UP_MOVED: (
            f"{who} moved your follow-up on {key} to {one_line(event.follow_up_owner)}."
            if event.follow_up_owner
            else f"{who} took you off a follow-up on {key}; nobody owns it now."
        ),
    }[EventKind(event.kind)]


_FOLLOW_UP_KINDS = (EventKind.FOLLOW_UP_ASSIGNED, EventKind.FOLLOW_UP_MOVED)


def overdue_since(event: MailEvent) -> str:
    """The day a follow-up given to someone became overdue (ISO), when it already was as they
    were given it: the day after its due date (the due day itself is not overdue); else ""."""
    if event.kind != EventKind.FOLLOW_UP_ASSIGNED or not event.follow_up_due:
        return ""
    try:
        due = date.fromisoformat(event.follow_up_due)
    except ValueError:
        return ""
    if due >= as_utc(event.occurred_at).date():
        return ""
    return (due + timedelta(days=1)).isoformat()


# --- typed text (comments, reasons) ------------------------------------------------------------

# Only to find code blocks, as the site's renderer does (CommonMark): nothing is rendered to HTML
# from it, so no markup, image or link a comment holds can reach the HTML part.
_commonmark = MarkdownIt("commonmark", {"html": False})
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_LIST_OR_QUOTE = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]?)*")


def excerpt(text: str, *, chars: int = EXCERPT_CHARS, lines: int = EXCERPT_LINES) -> tuple[str, bool]:
    """`text` as a mail shows it, and whether it was cut: every kind of line break one newline,
    other control and bidi characters dropped, blank ends and trailing spaces trimmed; then at
    most `lines` lines and `chars` characters, cut at a line end (within a very long line, at a
    space)."""
    cleaned = without_unwanted(_LINE_BREAKS.sub("\n", text or ""), multiline=True)
    all_lines = [line.rstrip() for line in cleaned.split("\n")]
    while all_lines and not all_lines[0]:
        all_lines.pop(0)
    while all_lines and not all_lines[-1]:
        all_lines.pop()
    kept = "\n".join(all_lines[:lines])
    cut = len(all_lines) > lines
    if len(kept) > chars:
        cut = True
        head = kept[:chars]
        at = head.rfind("\n")
        if at < chars // 2:
            at = head.rfind(" ")
        kept = head[:at] if at >= chars // 2 else head
    return kept.rstrip(), cut


@dataclass(frozen=True)
class TextBlock:
    """A run of lines of typed Markdown: prose, or a code block (fenced or indented)."""

    code: bool
    source: str  # the lines as typed (a fence with its ``` lines)
    text: str  # what to show: prose as typed, code without its fence


def close_open_fence(source: str) -> str:
    """`source` with a fenced code block it leaves open (an excerpt cut inside one) closed by a
    matching fence, so that what the mail writes next ("…" and the link to the rest) is not
    code, in the plain part or the HTML one. Any other text as given."""
    if not source:
        return source
    # Parsed with the line the templates write after it: an open fence swallows that line. (A
    # fence in a list item or a quote does not: it closes where its container ends, at that line.)
    for token in _commonmark.parse(f"{source}\n\u2026"):
        if token.type == "fence" and token.map is not None and token.map[1] > source.count("\n") + 1:
            return f"{source}\n{token.markup}"
    return source


def markdown_blocks(source: str) -> list[TextBlock]:
    """`source` (one newline per line break, as `excerpt` gives it) cut into prose and the code
    blocks the site shows as code, in order; blank prose between blocks left out."""
    return [block for block in _split(source) if block.code or block.text]


def _split(source: str) -> list[TextBlock]:
    # Together the blocks' source lines are all of `source`'s, blank ones included.
    if not source:
        return []
    lines = source.split("\n")
    blocks: list[TextBlock] = []
    start = 0
    for token in _commonmark.parse(source):
        # Top-level code only: a fence inside a list item stays in its prose, line breaks kept.
        if token.type not in ("fence", "code_block") or token.level != 0 or token.map is None:
            continue
        first, end = token.map
        if first > start:
            blocks.append(_prose(lines[start:first]))
        blocks.append(TextBlock(code=True, source="\n".join(lines[first:end]), text=token.content.rstrip("\n")))
        start = end
    if start < len(lines):
        blocks.append(_prose(lines[start:]))
    return blocks


def _prose(lines: list[str]) -> TextBlock:
    source = "\n".join(lines)
    return TextBlock(code=False, source=source, text=source.strip("\n"))


def wrap_prose(text: str, width: int = WRAP_WIDTH) -> str:
    """Each line longer than `width` wrapped at spaces, its continuation indented under its
    text (past a list marker, after a quote's ">"); a word or link longer than a line stays whole."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width or line.lstrip().startswith("|"):  # a table row reads only unwrapped
            out.append(line)
            continue
        lead = _LIST_OR_QUOTE.match(line)
        hang = re.sub(r"[^\t >]", " ", lead.group(0)) if lead else ""
        wrapped = textwrap.wrap(
            line, width=width, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False
        )
        out.extend(wrapped or [line])
    return "\n".join(out)


def markdown_as_text(source: str, width: int = WRAP_WIDTH) -> str:
    """Typed Markdown for a plain-text mail: as typed, prose wrapped, code blocks untouched."""
    return "\n".join(block.source if block.code else wrap_prose(block.source, width) for block in _split(source))


def _sender_address(sender: str) -> Address:
    name, addr = parseaddr(one_line(sender))
    if not addr or "@" not in addr:
        raise ValueError(f"SMTP_FROM must be an email address, got {sender!r}")
    return Address(display_name=one_line(name) or "Incident Tracker", addr_spec=addr)


def _recipient_address(recipient: MailRecipient) -> Address:
    if recipient.email != one_line(recipient.email) or "@" not in recipient.email:
        raise ValueError(f"not a usable email address for user {recipient.user_id}: {recipient.email!r}")
    return Address(display_name=one_line(recipient.name, 100), addr_spec=recipient.email)


def build_message(*, event: MailEvent, recipient: MailRecipient, base_url: str, sender: str) -> EmailMessage:
    """The email about event for recipient: text and HTML bodies, a link, threading and list headers."""
    url = incident_url(base_url=base_url, incident_key=event.incident_key)
    if event.comment_id is not None:
        url += f"#comment-{int(event.comment_id)}"  # the timeline's anchor for that comment
    elif event.follow_up_id is not None:
        url += f"#follow-up-{int(event.follow_up_id)}"  # its item in the incident's Follow-ups
    # Excerpts are made at fan-out; made again here for any text that was not (idempotent).
    comment, comment_cut = excerpt(event.comment_excerpt)
    comment = close_open_fence(comment)
    reason, reason_cut = excerpt(event.reason)
    context = {
        "event": event,
        "kind": EventKind(event.kind).value,
        # Names and titles are one line in the body too: a pasted CRLF must not fake a new paragraph
        # ("Reason: ..." or a fake link) under the headline.
        "title": one_line(event.incident_title),
        "follow_up_title": one_line(event.follow_up_title),
        "follow_up_overdue_since": overdue_since(event),
        "headline": headline_for(event),
        # Typed text keeps its line breaks: the plain part as typed (prose wrapped), the HTML
        # part as blocks of text and code, escaped by the template.
        "comment_text": markdown_as_text(comment),
        "comment_blocks": markdown_blocks(comment),
        "comment_truncated": event.comment_truncated or comment_cut,
        "reason": reason,
        "reason_label": reason_label(event),
        "reason_text": wrap_prose(f"{reason_label(event)}: {reason}") if reason else "",
        "reason_truncated": event.reason_truncated or reason_cut,
        "recipient": recipient,
        "incident_url": url,
        "profile_url": f"{base_url.rstrip('/')}/profile",
    }
    root = thread_root_id(incident_id=event.incident_id, base_url=base_url)
    domain = _mail_domain(base_url)

    message = EmailMessage()
    set_subject(message, subject_for(event))
    message["From"] = _sender_address(sender)
    message["To"] = _recipient_address(recipient)
    message["Date"] = format_datetime(event.occurred_at)
    message["Message-ID"] = message_id(event_id=event.event_id, recipient_id=recipient.user_id, base_url=base_url)
    message["In-Reply-To"] = root
    message["References"] = root
    message["List-Id"] = f"Incident Tracker notifications <notifications.{domain}>"
    message["List-Unsubscribe"] = f"<{context['profile_url']}>"
    # RFC 3834: machine-made, so vacation responders stay quiet; the Microsoft header does the
    # same for Exchange, which ignores Auto-Submitted.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    # Quoted-printable keeps the source readable where a relay or a test prints it raw.
    text = _templates.get_template("email/notification.txt").render(context)
    message.set_content(text, cte="quoted-printable")
    html = _templates.get_template("email/notification.html").render(context)
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def build_notice(
    *,
    notice_id: str,
    recipient: MailRecipient,
    subject: str,
    text: str,
    base_url: str,
    sender: str,
    occurred_at: datetime,
) -> EmailMessage:
    """A plain-text notice (to admins: a webhook endpoint was disabled; to a person: their
    password changed), with the same safe headers as the incident mails; not threaded under
    any incident."""
    domain = _mail_domain(base_url)
    message = EmailMessage()
    set_subject(message, one_line(f"[Incident Tracker] {subject}", 200))
    message["From"] = _sender_address(sender)
    message["To"] = _recipient_address(recipient)
    message["Date"] = format_datetime(occurred_at)
    message["Message-ID"] = message_id(event_id=notice_id, recipient_id=recipient.user_id, base_url=base_url)
    message["List-Id"] = f"Incident Tracker notifications <notifications.{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, cte="quoted-printable")
    return message


# --- sending ---------------------------------------------------------------------------------


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Deliver message; return where it went, for the delivery log."""
        ...


@dataclass(frozen=True)
class SmtpMailer:
    config: SmtpConfig
    ssl_context: ssl.SSLContext | None = None  # tests pass one that trusts their certificate

    def send(self, message: EmailMessage) -> str:
        send_via_smtp(message, config=self.config, ssl_context=self.ssl_context)
        return f"smtp://{self.config.host}:{self.config.port}"

    def describe(self) -> str:
        return f"Email is sent through {self.config.host}:{self.config.port} ({self.config.security})."


@dataclass(frozen=True)
class FolderMailer:
    """The embedded default without SMTP: each message becomes an .eml file one can open in a mail client."""

    directory: Path

    def send(self, message: EmailMessage) -> str:
        # Owner-only, as the README says: the messages hold people's addresses and one-time
        # links (an invitation, a password reset). `make run` makes its folder so at start.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = _id_part(str(message["Message-ID"]).strip("<>")) + ".eml"
        path = self.directory / name
        # Write then rename, so a reader never sees half a message and a rerun replaces it whole.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("email to %s written to %s (SMTP_HOST is not set)", message["To"], path)
        return str(path)

    def describe(self) -> str:
        return f"Email is not sent: SMTP_HOST is not set, so messages are written to {self.directory}."


def make_mailer(*, smtp: SmtpConfig | None, mail_dir: Path | str) -> SmtpMailer | FolderMailer:
    """SMTP when a host is configured, otherwise the folder (the `make run` default)."""
    if smtp is not None and smtp.host:
        return SmtpMailer(smtp)
    return FolderMailer(Path(mail_dir))


def send_via_smtp(message: EmailMessage, *, config: SmtpConfig, ssl_context: ssl.SSLContext | None = None) -> None:
    """Send one message; MailDeliveryError says whether a retry can help."""
    context = ssl_context or (system_tls_context() if config.security != "none" else None)
    connect: Callable[[], smtplib.SMTP]
    if config.security == "tls":

        def connect() -> smtplib.SMTP:
            return smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:

        def connect() -> smtplib.SMTP:
            return smtplib.SMTP(config.host, config.port, timeout=config.timeout)

    step = "connect"
    try:
        with connect() as smtp:
            if config.security == "starttls":
                # starttls() raises when the server does not offer it: never fall back to plain text.
                step = "starttls"
                smtp.starttls(context=context)
            if config.username:
                step = "login"
                smtp.login(config.username, config.password)
            step = "send"
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_failure(exc, config=config, step=step) from exc


# What a plain SMTP answer looks like to a TLS client that expected a handshake first.
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"})


def _smtp_words(said: bytes | str) -> str:
    """What an SMTP server said, as text for the log and the admin pages (smtplib keeps bytes,
    which read b'...' there: found in QA)."""
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return " ".join(text.split())


def smtp_failure(exc: BaseException, *, config: SmtpConfig, step: str) -> MailDeliveryError:
    """An smtplib/ssl error in words that name the setting to change: the one sentence the worker
    logs, the test email shows, and the Webhooks page's banner and "Recent email" repeat.
    `step` is what was being done: connect, starttls, login or send."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailDeliveryError(f"SMTP login refused ({exc.smtp_code}); check SMTP_USERNAME/PASSWORD", permanent=False)
    if isinstance(exc, smtplib.SMTPNotSupportedError) and step == "login":
        fix = (
            "unset SMTP_USERNAME and SMTP_PASSWORD if it needs no login, or use SMTP_SECURITY=starttls (or tls) "
            "if it offers login only over TLS"
            if config.security == "none"
            else "unset SMTP_USERNAME and SMTP_PASSWORD if it needs no login"
        )
        return MailDeliveryError(
            f"The SMTP server offers no login (SMTP AUTH) on this connection, but SMTP_USERNAME is set: {fix}.",
            permanent=False,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailDeliveryError(f"The SMTP server does not support what SMTP_SECURITY asks: {exc}", permanent=False)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        permanent = all(500 <= code < 600 for code in codes)
        refused = "; ".join(f"{to} ({code} {_smtp_words(said)})" for to, (code, said) in exc.recipients.items())
        return MailDeliveryError(f"Recipient refused: {refused}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        return MailDeliveryError(
            f"SMTP server answered {exc.smtp_code}: {_smtp_words(exc.smtp_error)}", permanent=500 <= exc.smtp_code < 600
        )
    if (
        config.security == "tls"
        and step == "connect"
        and isinstance(exc, ssl.SSLError)
        and getattr(exc, "reason", None) in _NOT_TLS_REASONS
    ):
        return MailDeliveryError(
            f"The SMTP server at {config.host}:{config.port} answered, but not in TLS from the first byte as "
            "SMTP_SECURITY=tls expects: use SMTP_SECURITY=starttls (usually port 587), or none "
            f"(the TLS library said: {exc}).",
            permanent=False,
        )
    return MailDeliveryError(f"Could not reach the SMTP server: {exc}", permanent=False)
