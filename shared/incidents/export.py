"""An incident's whole timeline as one Markdown document, for the postmortem ("Export timeline").

`timeline_document` checks that the reader may view the incident and loads what the document
shows, one query per kind (events with their actors, comments, files, people): an incident
with thousands of events costs the same five statements as one with ten. `render_markdown` is
the pure part: the incident, its events, comments, files and people in, the text out.

What people typed is kept as typed, Markdown and all, but cannot change the document's shape:
one-line fields (title, names, file names, short edits) have every Markdown character escaped
and stay on their line; multi-line text (description, comments, reasons) is a quote block, so
its headings and lists stay inside it, a code fence it leaves open is closed, and raw HTML
outside its code reads as text, as the incident page shows it (which renders no HTML).
Nor can it load or run anything where the document is pasted (a wiki, GitHub): outside code,
an image becomes a link to it (no tracking pixel loads) and a link to anything but http(s) or
mailto: (javascript:, data:) keeps only its text, as the incident page shows them.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.errors import PermissionDenied
from shared.events import EventType
from shared.evidence import service as evidence_service
from shared.evidence.models import Evidence, EvidenceState
from shared.incidents import follow_ups as follow_up_service
from shared.incidents import service as incidents
from shared.incidents import timers
from shared.incidents.lifecycle import STATUS_LABELS, Status, is_reopen
from shared.incidents.models import Comment, FollowUp, Incident
from shared.permissions import Action, can
from shared.text import one_line, without_unwanted
from shared.timeutil import as_utc

MEDIA_TYPE = "text/markdown; charset=utf-8"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
# An edited field whose old or new value is longer than this (or has a line break) is named,
# not quoted: the description's full text would bury the timeline.
SHORT_VALUE = 120
LONG_FIELDS = frozenset({"description"})

# Parses typed Markdown only to find its code (left as typed) and a fence it leaves open.
_commonmark = MarkdownIt("commonmark")
# Inline Markdown (and GFM's tables, strikethrough, math) in a one-line field, each escaped.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&$])")
_AUTOLINK = re.compile(r"<(?:[A-Za-z][A-Za-z0-9.+-]{1,31}:[^\s<>]*|[^\s<>@\\]+@[^\s<>\\]+)>")
_HTML_START = re.compile(r"[A-Za-z/!?]")
_LEADING_TABS = re.compile(r"^[ \t]*\t[ \t]*")
# Where typed links may point: what the incident page links (nh3's url_schemes in web/filters.py).
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]{1,31}):")
# Finds every image and link, whatever its address (markdown-it's own check drops javascript:).
_all_links = MarkdownIt("commonmark")
_all_links.validateLink = lambda url: True  # type: ignore[method-assign]
# "[label]: destination" (a link reference definition), up to its destination.
_REFERENCE = re.compile(r"^( {0,3})\[(?:[^\]\\]|\\.)+\]:[ \t]*<?([^\s>]*)")


def file_name(incident: Incident) -> str:
    """The download's file name: INC-31-timeline.md."""
    return f"{incident.key}-timeline.md"


def timeline_document(
    *, session: Session, incident: Incident, actor: User, url: str | None = None, now: datetime | None = None
) -> str:
    """The incident's timeline as a Markdown document, for anyone who may view the incident."""
    if not can(actor, Action.VIEW, incident):
        raise PermissionDenied(f"You cannot view {incident.key}.")
    return render_markdown(
        incident=incident,
        events=audit.incident_events(session=session, incident_id=incident.id),
        comments=incidents.comments_by_id(session=session, incident_id=incident.id),
        evidence=evidence_service.list_for_incident(session=session, incident_id=incident.id),
        follow_ups=follow_up_service.list_follow_ups(session=session, actor=actor, incident_id=incident.id),
        people=accounts.list_users(session=session),
        exported_at=now or utcnow(),
        exported_by=actor.name,
        url=url,
    )


# -- Text as Markdown -------------------------------------------------------------------------


def inline(value: object) -> str:
    """A one-line field as literal Markdown text: on one line, every Markdown character escaped."""
    text = one_line(without_unwanted(str(value if value is not None else "")))
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def quoted(value: object) -> str:
    """A one-line value in quotation marks, or "(none)" when empty."""
    text = inline(value)
    return f"“{text}”" if text else "(none)"


def when(value: datetime | None) -> str:
    """A moment in UTC, to the second."""
    value = as_utc(value)
    return value.strftime(TIME_FORMAT) if value else "—"


def duration(value: timedelta | None) -> str:
    """A span as "1 d 2 h 3 min 4 s", from its largest unit down."""
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{number} {unit}" for number, unit in parts)


def digest(value: object) -> str:
    """A SHA-256 as code: only its hex digits (nothing else could close the code span)."""
    return f"`{re.sub(r'[^0-9A-Fa-f]', '', str(value or ''))}`"


def size_text(size: int | None) -> str:
    """A file size for people, with the exact byte count: "2.0 KB (2,048 bytes)"."""
    if size is None:
        return "—"
    value, unit = float(size), "bytes"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    if unit == "bytes":
        return byte_count(size)
    return f"{value:.1f} {unit} ({byte_count(size)})"


def byte_count(size: int) -> str:
    """A count of bytes as people write it: "1 byte", "2,048 bytes"."""
    return "1 byte" if size == 1 else f"{size:,} bytes"


def _verbatim_end(line: str, i: int) -> int | None:
    """Where a backslash escape or a code span starting at `line[i]` ends (kept as typed by
    both scanners below); None when neither starts there."""
    if line[i] == "\\":
        return i + 2
    if line[i] == "`":
        run = len(line[i:]) - len(line[i:].lstrip("`"))
        closing = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(line, i + run)
        return closing.end() if closing else i + run
    return None


def _escape_html(line: str) -> str:
    """`line` with each "<" that would start raw HTML escaped, outside code spans (kept as
    typed). Backslash escapes and autolinks (<https://…>) are left alone."""
    out: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if (end := _verbatim_end(line, i)) is not None:
            out.append(line[i:end])
            i = end
        elif char == "<" and (link := _AUTOLINK.match(line, i)):
            out.append(link.group(0))
            i = link.end()
        else:
            out.append("\\<" if char == "<" and _HTML_START.match(line, i + 1) else char)
            i += 1
    return "".join(out)


def _unsafe_address(destination: str) -> bool:
    """Whether a link's address names a scheme other than http(s) and mailto: (as a reader
    decodes it: entities and backslash escapes first)."""
    decoded = html.unescape(re.sub(r"\\(.)", r"\1", destination))
    match = _SCHEME.match(decoded)
    return match is not None and match.group(1).lower() not in LINK_SCHEMES


def _inline_link(line: str, start: int) -> tuple[str, str, int] | None:
    """The "[text](destination \"title\")" starting at line[start] ("["): its text, its
    destination and where it ends; None when none starts there."""
    depth, i = 0, start
    while i < len(line):
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char == "`":  # a code span in the text: its brackets are not the link's
            run = len(line[i:]) - len(line[i:].lstrip("`"))
            closing = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(line, i + run)
            i = closing.end() if closing else i + run
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    if depth != 0 or i + 1 >= len(line) or line[i + 1] != "(":
        return None
    text, j = line[start + 1 : i], i + 2
    while j < len(line) and line[j] in " \t":
        j += 1
    if j < len(line) and line[j] == "<":
        end = line.find(">", j)
        if end < 0:
            return None
        destination, j = line[j + 1 : end], end + 1
    else:
        begin, parens = j, 0
        while j < len(line) and not line[j].isspace():
            if line[j] == "\\":
                j += 1
            elif line[j] == "(":
                parens += 1
            elif line[j] == ")":
                if parens == 0:
                    break
                parens -= 1
            j += 1
        destination = line[begin:j]
    close = _closing_paren(line, j)
    return (text, destination, close) if close is not None else None


def _closing_paren(line: str, start: int) -> int | None:
    """Past the ")" that ends a link after its destination (an optional title between)."""
    i = start
    while i < len(line) and line[i] in " \t":
        i += 1
    if i < len(line) and line[i] in "\"'(":
        closer = ")" if line[i] == "(" else line[i]
        i += 1
        while i < len(line) and line[i] != closer:
            i += 2 if line[i] == "\\" else 1
        i += 1
        while i < len(line) and line[i] in " \t":
            i += 1
    return i + 1 if i < len(line) and line[i] == ")" else None


def _defuse_links(line: str, in_link: bool = False) -> str:
    """`line` with each image made a link to it ("![alt](url)" -> "[alt](url)"; in a link's
    text, where no link may be, its alt text) and each link to an unsafe address reduced to
    its text, outside code spans (kept as typed)."""
    reference = _REFERENCE.match(line)
    if reference and _unsafe_address(reference.group(2)):
        # An escaped "[" makes the definition text: "[text][label]" then reads as typed.
        return f"{reference.group(1)}\\{line[len(reference.group(1)) :]}"
    out: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if (end := _verbatim_end(line, i)) is not None:
            out.append(line[i:end])
            i = end
        elif char == "!" and in_link and (image := _inline_link(line, i + 1)):
            out.append(_defuse_links(image[0], in_link=True))
            i = image[2]
        elif char == "!" and line.startswith("[", i + 1):
            i += 1  # an image: the "[" that follows is now a link's
        elif char == "[" and (link := _inline_link(line, i)):
            text, destination, end = link
            inner = _defuse_links(text, in_link=True)
            out.append(inner if _unsafe_address(destination) else f"[{inner}]{line[i + len(text) + 2 : end]}")
            i = end
        elif char == "<" and (autolink := _AUTOLINK.match(line, i)) and _unsafe_address(autolink.group(0)[1:]):
            out.append("\\" + autolink.group(0))  # as text, not a link
            i = autolink.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _lines_with_links(tokens) -> set[int]:
    """The lines (0-based) of the paragraphs, headings and table cells that hold an image or a
    link to an unsafe address, as a CommonMark reader finds them (code is never among them)."""
    lines: set[int] = set()
    for token in tokens:
        if token.type != "inline" or token.map is None:
            continue
        for child in token.children or ():
            if child.type == "image" or (
                child.type == "link_open" and _unsafe_address(str(child.attrGet("href") or ""))
            ):
                lines.update(range(*token.map))
                break
    return lines


def _code_lines(tokens) -> set[int]:
    """The lines (0-based) of the fenced and indented code blocks, at any depth."""
    lines: set[int] = set()
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map is not None:
            lines.update(range(*token.map))
    return lines


def typed_markdown(text: str | None) -> str:
    """Multi-line text as typed, safe to put in a document: LF line ends, raw HTML outside code
    escaped, and a fenced code block it leaves open closed."""
    source = without_unwanted((text or "").replace("\r\n", "\n").replace("\r", "\n"), multiline=True).rstrip()
    if not source:
        return ""
    # A leading tab is four columns where it was typed (column 0); after a quote's "> " it
    # would be fewer, and an indented code block would lose its indent.
    lines = [_LEADING_TABS.sub(lambda m: m.group(0).expandtabs(4), line) for line in source.split("\n")]
    source = "\n".join(lines)
    if "<" in source:  # parsed only when there may be HTML to escape (most comments have none)
        code = _code_lines(_commonmark.parse(source))
        lines = [line if number in code else _escape_html(line) for number, line in enumerate(lines)]
        source = "\n".join(lines)
    if "[" in source or "<" in source:  # images, unsafe links: parsed only when there may be some
        env: dict = {}
        tokens = _all_links.parse(source, env)
        links = _lines_with_links(tokens)
        if any(_unsafe_address(str(ref.get("href", ""))) for ref in env.get("references", {}).values()):
            code = _code_lines(tokens)
            links |= {number for number, line in enumerate(lines) if number not in code and _REFERENCE.match(line)}
        lines = [_defuse_links(line) if number in links else line for number, line in enumerate(lines)]
        source = "\n".join(lines)
    if "```" not in source and "~~~" not in source:
        return source
    # Parsed with one more line: a fence still open swallows it (its map reaches past the text).
    for token in _commonmark.parse(f"{source}\n\u2026"):
        if token.type == "fence" and token.map is not None and token.map[1] > len(lines):
            source += "\n" + token.markup
    return source


def quote_block(text: str | None, indent: str = "") -> str:
    """Multi-line text as a Markdown quote (each line "> "), so its headings, lists and code
    stay inside it; `indent` puts it under a list item."""
    source = typed_markdown(text)
    return "\n".join(f"{indent}> {line}" if line.strip() else f"{indent}>" for line in source.split("\n"))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return lines


# -- The timeline -----------------------------------------------------------------------------


class _People:
    """Names by id and by email (assignment events record emails, the created event an id)."""

    def __init__(self, people: Sequence[User]):
        self.by_id = {person.id: person.name for person in people}
        self.by_email = {person.email: person.name for person in people}

    def of_id(self, user_id: object) -> str | None:
        return self.by_id.get(user_id) if isinstance(user_id, int) else None

    def of_email(self, email: object) -> str:
        return self.by_email.get(str(email), str(email)) if email else "nobody"


# A presenter gives the entry's sentence (Markdown, user text escaped) and the multi-line text
# shown under it as a quote, with its label, if any.
_Entry = tuple[str, tuple[str, str] | None]


class _Timeline:
    def __init__(self, *, people: _People, comments: Mapping[int, Comment]):
        self.people = people
        self.comments = comments
        self.presenters: dict[str, Callable[[Mapping], _Entry]] = {
            EventType.INCIDENT_CREATED: self.created,
            EventType.INCIDENT_STATUS_CHANGED: self.status_changed,
            EventType.INCIDENT_ASSIGNED: self.assigned,
            EventType.INCIDENT_PRIORITY_CHANGED: self.priority_changed,
            EventType.INCIDENT_EDITED: self.edited,
            EventType.INCIDENT_COMMENTED: self.commented,
            EventType.INCIDENT_COMMENT_REDACTED: self.comment_redacted,
            EventType.INCIDENT_WATCHED: lambda _d: ("started watching", None),
            EventType.INCIDENT_UNWATCHED: lambda _d: ("stopped watching", None),
            EventType.EVIDENCE_UPLOADED: lambda d: (f"uploaded {_file(d)}{_custody(d)}", None),
            EventType.EVIDENCE_VERDICT: self.checked,
            EventType.EVIDENCE_PROCESSED: self.checked,
            EventType.EVIDENCE_DOWNLOADED: lambda d: (f"downloaded {_file(d)}", None),
            EventType.EVIDENCE_LEGAL_HOLD_CHANGED: self.legal_hold,
            EventType.EVIDENCE_RETRIED: lambda d: (f"retried the checks of {_file(d)}", None),
            EventType.FOLLOW_UP_CREATED: self.follow_up_created,
            EventType.FOLLOW_UP_COMPLETED: lambda d: (f"marked the follow-up {quoted(d.get('title'))} done", None),
            EventType.FOLLOW_UP_REOPENED: lambda d: (f"reopened the follow-up {quoted(d.get('title'))}", None),
            EventType.FOLLOW_UP_UPDATED: self.follow_up_updated,
            EventType.FOLLOW_UP_DELETED: lambda d: (f"deleted the follow-up {quoted(d.get('title'))}", None),
        }

    def entry(self, event: AuditEvent) -> _Entry:
        presenter = self.presenters.get(event.action)
        return presenter(event.data or {}) if presenter else (inline(event.action), None)

    def created(self, d: Mapping) -> _Entry:
        text = f"created the incident ({inline(d.get('priority'))}, {inline(d.get('environment'))})"
        owner = self.people.of_id(d.get("owner_id"))
        return (text + (f" and assigned it to {inline(owner)}" if owner else "")), None

    def status_changed(self, d: Mapping) -> _Entry:
        if d.get("undo"):
            # The mover's Undo of their own move: said so, and not as a reopen or a resolution.
            return f"undid the move: back to {_status(d.get('to'))} (from {_status(d.get('from'))})", None
        if is_reopen(d.get("from"), d.get("to")):
            # As the incident page and the audit log say it (shared/audit/sentences.py), and as its form asks.
            text, label = f"reopened the incident (was {_status(d.get('from'))})", "Reason for reopening"
        else:
            text = f"changed status from {_status(d.get('from'))} to {_status(d.get('to'))}"
            label = "Resolution summary" if d.get("to") == Status.RESOLVED.value else "Reason"
        return text, ((label, d["reason"]) if d.get("reason") else None)

    def assigned(self, d: Mapping) -> _Entry:
        text = f"assigned it to {inline(self.people.of_email(d.get('to')))}"
        return text + (f" (was {inline(self.people.of_email(d['from']))})" if d.get("from") else ""), None

    def priority_changed(self, d: Mapping) -> _Entry:
        return f"changed priority from {inline(d.get('from'))} to {inline(d.get('to'))}", None

    def edited(self, d: Mapping) -> _Entry:
        parts = []
        for name, change in (d.get("changes") or {}).items():
            change = change if isinstance(change, Mapping) else {}
            old, new = change.get("from"), change.get("to")
            if name in LONG_FIELDS or any(_is_long(value) for value in (old, new)):
                parts.append(f"{inline(name)} edited")
            else:
                parts.append(f"{inline(name)}: {_edit_value(name, old)} → {_edit_value(name, new)}")
        return "edited the incident — " + "; ".join(parts or ["no details recorded"]), None

    def comment(self, d: Mapping) -> Comment | None:
        comment_id = d.get("comment_id")
        return self.comments.get(comment_id) if isinstance(comment_id, int) else None

    def commented(self, d: Mapping) -> _Entry:
        comment = self.comment(d)
        if comment is None:
            return "commented (the comment is no longer stored)", None
        if comment.redacted_at is not None:
            who = self.people.of_id(comment.redacted_by_id) or "an admin"
            return f"commented: *\\[redacted by {inline(who)}\\]*", None
        return "commented:", ("", comment.body)

    def comment_redacted(self, d: Mapping) -> _Entry:
        comment = self.comment(d)
        which = f"the comment of {when(comment.created_at)}" if comment is not None else "a comment"
        return f"redacted {which}", (("Reason", d["reason"]) if d.get("reason") else None)

    def person(self, user_id: object) -> str:
        return "nobody" if user_id is None else inline(self.people.of_id(user_id) or "someone")

    def follow_up_created(self, d: Mapping) -> _Entry:
        details = [f"owner {self.person(d['owner_id'])}"] if d.get("owner_id") is not None else []
        if d.get("due_date"):
            details.append(f"due {inline(d['due_date'])}")
        more = f" ({', '.join(details)})" if details else ""
        return f"added the follow-up {quoted(d.get('title'))}{more}", None

    def follow_up_updated(self, d: Mapping) -> _Entry:
        parts = []
        for name, change in (d.get("changes") or {}).items():
            change = change if isinstance(change, Mapping) else {}
            old, new = change.get("from"), change.get("to")
            if name == "owner":
                parts.append(f"owner: {self.person(old)} → {self.person(new)}")
            else:
                parts.append(f"{inline(name)}: {quoted(old)} → {quoted(new)}")
        title = (d.get("changes") or {}).get("title")
        which = title.get("from") if isinstance(title, Mapping) else d.get("title")
        return f"edited the follow-up {quoted(which)} — " + "; ".join(parts or ["no details recorded"]), None

    def checked(self, d: Mapping) -> _Entry:
        verdict = inline(str(d.get("state") or d.get("verdict") or "processed").replace("_", " "))
        return f"checked {_file(d)}{_custody(d)}: **{verdict}**", (("Reason", d["reason"]) if d.get("reason") else None)

    def legal_hold(self, d: Mapping) -> _Entry:
        if d.get("legal_hold"):
            return f"put {_file(d)} on legal hold", None
        return f"lifted the legal hold on {_file(d)}", None


def reopenings(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The moves among `events` that reopened the incident, in their order: not one taken back by
    its mover's Undo, nor an Undo of a resolve (Resolved back to In Progress is no reopen)."""
    taken_back = _taken_back(events)
    return [
        event
        for event in events
        if event.action == EventType.INCIDENT_STATUS_CHANGED
        and is_reopen((event.data or {}).get("from"), (event.data or {}).get("to"))
        and not (event.data or {}).get("undo")
        and event.id not in taken_back
    ]


def _taken_back(events: Sequence[AuditEvent]) -> set[int]:
    """The ids of the status changes whose next status change is their mover's Undo of them."""
    moves = [event for event in events if event.action == EventType.INCIDENT_STATUS_CHANGED]
    return {
        move.id
        for move, after in itertools.pairwise(moves)
        if (after.data or {}).get("undo") and after.actor_id == move.actor_id
    }


def _undone_resolutions(events: Sequence[AuditEvent], reopens: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The moves to Resolved that a later reopen undid (a reopen clears the incident's summary:
    these events are where the earlier ones are kept), oldest first; not one its mover took
    back at once (Undo), which resolved nothing."""
    if not reopens:
        return []
    before_last_reopen = events[: next(i for i, event in enumerate(events) if event is reopens[-1])]
    taken_back = _taken_back(events)
    return [
        event
        for event in before_last_reopen
        if event.action == EventType.INCIDENT_STATUS_CHANGED
        and (event.data or {}).get("to") == Status.RESOLVED.value
        and event.id not in taken_back
    ]


def _actor(event: AuditEvent, names: _People) -> str:
    return names.of_id(event.actor_id) or (event.actor.name if event.actor else "System")


def _reopened_fact(reopens: Sequence[AuditEvent], names: _People) -> str:
    """ "2 times (2026-12-01 08:05:31 UTC, by Lee Lead; …)": when and by whom, each time."""
    each = "; ".join(f"{when(event.occurred_at)}, by {inline(_actor(event, names))}" for event in reopens)
    return f"{len(reopens)} time{'s' * (len(reopens) != 1)} ({each})"


def _status(value: object) -> str:
    try:
        return STATUS_LABELS[Status(str(value))]
    except ValueError:
        return inline(value)


def _is_long(value: object) -> bool:
    text = "" if value is None else str(value)
    return len(text) > SHORT_VALUE or "\n" in text or "\r" in text


def _edit_value(name: str, value: object) -> str:
    if name == "due date" and value == "none":
        return "(none)"
    return quoted(value)


def _file(d: Mapping) -> str:
    name = d.get("name") or d.get("filename") or (f"file {d['evidence_id']}" if d.get("evidence_id") else "a file")
    return quoted(name)


def _custody(d: Mapping) -> str:
    parts = [byte_count(d["size"]) if isinstance(d.get("size"), int) else ""]
    if d.get("sha256"):
        parts.append(f"SHA-256 {digest(d['sha256'])}")
    parts = [part for part in parts if part]
    return f" ({', '.join(parts)})" if parts else ""


def _verdict(item: Evidence) -> str:
    try:
        label = EvidenceState(item.state).label
    except ValueError:
        label = item.state
    return inline(f"{label}: {item.reason}" if item.reason else label)


def _owner_fact(owner_id: int | None, names: _People, people: Sequence[User]) -> str:
    """The owner (of the incident, of a follow-up) by name, "(disabled)" after it when the account
    is: nobody does that work until it is given to someone, which a postmortem reader needs to see."""
    if owner_id is None:
        return "Unassigned"
    disabled = any(person.id == owner_id and person.is_active is False for person in people)
    return inline(names.of_id(owner_id) or "—") + (" (disabled)" if disabled else "")


def render_markdown(
    *,
    incident: Incident,
    events: Sequence[AuditEvent],
    comments: Mapping[int, Comment],
    evidence: Sequence[Evidence],
    people: Sequence[User],
    exported_at: datetime,
    follow_ups: Sequence[FollowUp] = (),
    exported_by: str | None = None,
    url: str | None = None,
) -> str:
    """The postmortem document: the incident's facts and clocks, its description and resolution
    (after a reopen, when it was reopened and the resolutions it undid, from `events`), its files,
    its follow-ups (a checklist), then every event in order with its UTC time to the second."""
    names = _People(people)
    key = inline(incident.key)
    made = f"Timeline of {key}, exported {when(exported_at)}" + (f" by {inline(exported_by)}" if exported_by else "")
    lines = [f"# {key}: {inline(incident.title)}", "", made + ". All times are UTC."]
    if url:
        lines += ["", f"Incident page: <{url}>"]

    tta, ttr = timers.time_to_acknowledge(incident), timers.time_to_resolve(incident)
    reopens = reopenings(events)
    facts = [
        ("Key", key),
        ("Title", inline(incident.title)),
        ("Status", _status(incident.status)),
        ("Priority", inline(incident.priority)),
        ("Environment", inline(incident.environment)),
        ("Component", inline(incident.component) or "—"),
        ("Owner", _owner_fact(incident.owner_id, names, people)),
        ("Reporter", inline(names.of_id(incident.reporter_id) or "—")),
        ("Created", when(incident.created_at)),
        ("Acknowledged (first In Progress)", when(incident.acknowledged_at)),
        ("Time to acknowledge", duration(tta) if tta is not None else "Not acknowledged yet"),
        ("Resolved", when(incident.resolved_at)),
        *([("Reopened", _reopened_fact(reopens, names))] if reopens else []),
        ("Time to resolve", duration(ttr) if ttr is not None else "Not resolved yet"),
        ("Closed", when(incident.closed_at)),
        # A change, a comment, a follow-up or a file: as the API's last_activity_at and the CSV's.
        ("Last activity", when(incident.activity_at)),
    ]
    if incident.due_date:
        facts.append(("Due date", incident.due_date.isoformat()))
    if incident.blocked_reason:
        facts.append(("Blocked because", inline(incident.blocked_reason)))
    lines += ["", "## Summary", "", *_table(("Field", "Value"), facts)]

    lines += ["", "## Description", ""]
    lines.append(quote_block(incident.description) if (incident.description or "").strip() else "No description.")
    lines += ["", "## Resolution summary", ""]
    summary = incident.resolution_summary
    lines.append(quote_block(summary) if (summary or "").strip() else "Not resolved yet.")
    if undone := _undone_resolutions(events, reopens):
        # What was believed fixed before: the postmortem's first question after a reopen.
        lines += ["", "### Earlier resolutions"]
        for event in undone:
            earlier = (event.data or {}).get("reason")
            recorded = quote_block(earlier, indent="  ") if (earlier or "").strip() else "  No summary recorded."
            lines += ["", f"- **{when(event.occurred_at)}** by {inline(_actor(event, names))}:", "", recorded]

    lines += ["", f"## Files ({len(evidence)})", ""]
    if evidence:
        rows = [
            (
                quoted(item.display_name),
                size_text(item.size),
                digest(item.sha256),
                _verdict(item),
                inline(names.of_id(item.uploader_id) or "—"),
                when(item.created_at),
            )
            for item in evidence
        ]
        lines += _table(("File", "Size", "SHA-256", "Verdict", "Uploaded by", "Uploaded"), rows)
    else:
        lines.append("No files attached.")

    still_open = sum(1 for item in follow_ups if item.done_at is None)
    lines += ["", f"## Follow-ups ({still_open} open of {len(follow_ups)})" if follow_ups else "## Follow-ups", ""]
    for item in follow_ups:
        details = [f"owner {_owner_fact(item.owner_id, names, people)}" if item.owner_id else "no owner"]
        if item.due_date:
            details.append(f"due {item.due_date.isoformat()}")
        if item.done_at is not None:
            done_by = names.of_id(item.done_by_id) if item.done_by_id else None
            details.append(f"done {when(item.done_at)}" + (f" by {inline(done_by)}" if done_by else ""))
        lines.append(f"- [{'x' if item.done_at is not None else ' '}] {inline(item.title)} ({', '.join(details)})")
    if not follow_ups:
        lines.append("No follow-ups.")

    lines += ["", f"## Timeline ({len(events)} events)", ""]
    timeline = _Timeline(people=names, comments=comments)
    for event in events:
        text, body = timeline.entry(event)
        lines.append(f"- **{when(event.occurred_at)}** {inline(_actor(event, names))} {text}")
        if body is not None and (body[1] or "").strip():
            label, value = body
            lines.append("")
            if label:
                lines += [f"  {label}:", ""]
            lines += [quote_block(value, indent="  "), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
