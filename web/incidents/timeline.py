"""The incident timeline: audit events turned into the rows the page shows.

The words for each event type are shared with the audit log (shared/audit/sentences.py); the
template only draws rows. Comment
text comes from `incident_comments` (the event keeps only the comment id and a hash of the
body), so a redacted comment shows its redaction notice here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import render_template, request
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.audit import sentences
from shared.audit import service as audit
from shared.audit.models import AuditEvent
from shared.events import EventType
from shared.incidents import service as incidents
from shared.incidents.merge import LineDiff, line_diff
from shared.incidents.models import Comment, Incident
from web.filters import app_origin, status_label
from web.markdown_cache import RenderCache

# Drawn timelines, keyed by everything they show (see timeline_html). A 400-event timeline is
# ~150 KiB of HTML; loading its events and comments and drawing them was most of the incident
# page's time.
TIMELINE_CACHE = RenderCache(limit_bytes=32 * 1024 * 1024)


@dataclass(frozen=True)
class TimelineRow:
    occurred_at: datetime
    actor: str
    text: str  # plain text, escaped by the template (an edit of the description: Markup, drawn as is)
    quote: str | None = None  # drawn as ": <q>quote</q>"
    comment: Comment | None = None  # drawn as its Markdown body (or redaction notice)
    anchor: str | None = None  # the row's id, a link target


def _edited(d, c):
    # The shared words, plus what changed in the description offered beside them: its old and new
    # text are in the event (Markup: the template draws it as it is, so the words are escaped).
    text, quote = sentences.PRESENTERS[EventType.INCIDENT_EDITED](d, c)
    description = (d.get("changes") or {}).get("description")
    if not isinstance(description, Mapping):
        return text, quote
    diff = line_diff(str(description.get("from") or ""), str(description.get("to") or ""))
    if not diff.hunks and not diff.more:
        return escape(text) + " (only its line breaks changed)", None
    return escape(text) + Markup('<details class="diff"><summary>Show changes</summary>{}</details>').format(
        diff_html(diff)
    ), None


# Each removed or added line, named for a screen reader and marked with a sign: not told by colour alone.
_DIFF_LINE = {
    "-": Markup(
        '<del class="diff-line"><span class="visually-hidden">Removed: </span>'
        '<span class="diff-sign" aria-hidden="true">\u2212 </span>{}</del>'
    ),
    "+": Markup(
        '<ins class="diff-line"><span class="visually-hidden">Added: </span>'
        '<span class="diff-sign" aria-hidden="true">+ </span>{}</ins>'
    ),
}


def diff_html(diff: LineDiff) -> Markup:
    """A line diff as HTML: each change where it is ("Edited line 3:"), then its lines, removed
    (<del>, a minus sign) and added (<ins>, a plus sign). The edit page shows what someone else
    changed the same way."""
    parts = [Markup('<div class="line-diff">')]
    for hunk in diff.hunks:
        words = hunk.change.words()
        parts.append(Markup('<p class="diff-where">{}:</p>').format(words[0].upper() + words[1:]))
        parts.extend(_DIFF_LINE[line.sign].format(line.text) for line in hunk.lines)
    if diff.more:
        parts.append(
            Markup('<p class="diff-more">\u2026{} more changed line{}</p>').format(diff.more, "s" * (diff.more > 1))
        )
    parts.append(Markup("</div>"))
    return Markup("").join(parts)


# The words are shared with the audit log (shared/audit/sentences.py); only the description's
# diff is the page's own.
_PRESENTERS: dict[str, sentences.Presenter] = {**sentences.PRESENTERS, EventType.INCIDENT_EDITED: _edited}


def what_changed(events: Sequence[AuditEvent], *, names: Mapping[str, str], limit: int = 4) -> str:
    """The changes a refused stale write missed, in a few words ("priority P2 → P1; status In
    Progress → Blocked"), each named by who made it when more than one person did; the newest
    `limit`, with how many more. The page then shows the latest version whole."""
    several = len({event.actor_id for event in events}) > 1
    parts = []
    for event in events:
        d = event.data or {}
        if event.action == EventType.INCIDENT_STATUS_CHANGED:
            part = f"status {status_label(str(d.get('from')))} → {status_label(str(d.get('to')))}"
        elif event.action == EventType.INCIDENT_PRIORITY_CHANGED:
            part = f"priority {d.get('from')} → {d.get('to')}"
        elif event.action == EventType.INCIDENT_ASSIGNED:
            was, to = d.get("from"), d.get("to")
            part = f"owner {names.get(was, was) if was else 'nobody'} → {names.get(to, to) if to else 'nobody'}"
        elif event.action == EventType.INCIDENT_EDITED:
            fields = [str(name).replace("_", " ") for name in (d.get("changes") or {})]
            part = (" and ".join(fields) if len(fields) < 3 else ", ".join(fields)) + " edited"
        else:
            continue
        who = event.actor.name if several and event.actor is not None else ""
        parts.append(f"{who}: {part}" if who else part)
    if not parts:
        return ""
    shown = parts[-limit:]
    more = f" (and {len(parts) - len(shown)} earlier)" if len(parts) > len(shown) else ""
    return "What changed: " + "; ".join(shown) + more + "."


def present(
    events: Iterable[AuditEvent],
    *,
    names: Mapping[str, str],
    comments: Mapping[int, Comment],
    names_by_id: Mapping[int, str] | None = None,
) -> list[TimelineRow]:
    """Display rows for these events, in their order."""
    context = sentences.Names(names=names, names_by_id=names_by_id or {})
    rows = []
    for event in events:
        actor = event.actor.name if event.actor else "system"
        data = event.data or {}
        if event.action == EventType.INCIDENT_COMMENTED:
            comment_id = data.get("comment_id")
            rows.append(
                TimelineRow(
                    event.occurred_at,
                    actor,
                    "commented:",
                    comment=comments.get(comment_id) if comment_id is not None else None,
                    anchor=f"comment-{comment_id}",
                )
            )
            continue
        presenter = _PRESENTERS.get(event.action)
        text, quote = presenter(data, context) if presenter else (event.action, None)
        rows.append(TimelineRow(event.occurred_at, actor, text, quote=quote, anchor=f"event-{event.id}"))
    return rows


def timeline_html(
    session: Session, incident: Incident, *, people: Sequence[User], can_redact: bool, csrf: str
) -> Markup:
    """The incident's timeline as drawn (incidents/_timeline.html), from a per-process cache.

    Keyed by what the drawing reads: the database, the events (appended only: the newest one's
    id and chain hash), the comments (added or redacted: counts and newest redaction), everyone's
    name and email (actors, assignees and redactors are named), whether this viewer may redact,
    the URL root and the app's origin. Only a miss loads the events and comments. The viewer's CSRF token (the
    Redact forms) is put in on the way out, never stored."""
    key = (
        str(session.get_bind().engine.url),
        request.script_root,
        app_origin(),  # comments' links to this origin stay in the tab (web/filters.py)
        incident.id,
        incident.key,
        audit.incident_events_marker(session=session, incident_id=incident.id),
        incidents.comments_marker(session=session, incident_id=incident.id),
        tuple((person.id, person.email, person.name) for person in people),
        can_redact,
    )

    def draw() -> str:
        rows = present(
            audit.incident_events(session=session, incident_id=incident.id),
            names={person.email: person.name for person in people},
            names_by_id={person.id: person.name for person in people},
            comments=incidents.comments_by_id(session=session, incident_id=incident.id),
        )
        return render_template("incidents/_timeline.html", timeline=rows, incident=incident, can_redact=can_redact)

    return TIMELINE_CACHE.get_or_render_for_viewer(key, draw, csrf)
