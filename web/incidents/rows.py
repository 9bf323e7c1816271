"""What every dashboard row needs, worked out once per request instead of once per row.

A dashboard draws 50 rows, each with two links, a quick-status form (CSRF token, form action)
and the lifecycle moves the signed-in person may make. Built per row — url_for, csrf_token(),
the policy check and a Jinja macro per move — they were most of the page's CPU time (profile
in README "Performance"). The rows now read them from one `RowKit` per request.

An untouched row (no move chosen, no message) is drawn once and kept in a small per-process
cache keyed by everything it shows (`RowKit.row`): most rows of a dashboard are the same from
one view to the next, and rendering them through Jinja's nested templates was still about half
of the page's CPU time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, g, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from shared.db import utcnow
from shared.incidents import service as incidents
from shared.incidents import timers
from shared.incidents.lifecycle import Requirement, Status, Transition, status_since
from shared.timeutil import as_utc
from web.markdown_cache import RenderCache
from web.reader import reader_today

# Keys are "INC-<n>": nothing in them is escaped in a URL path, so a URL is prefix + key + suffix.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9-]+")
_PLACEHOLDER = "KEY-PLACEHOLDER"
# Stand-ins for the two values in which untouched rows' forms differ (plain text, never escaped).
_KEY_SLOT = "QUICKSTATUSKEYSLOT"
_VERSION_SLOT = "QUICKSTATUSVERSIONSLOT"
# Untouched rows as drawn, keyed by every value they show (see RowKit.row). ~2 KiB a row.
ROW_CACHE = RenderCache(limit_bytes=8 * 1024 * 1024)


def age(value) -> str:
    """How long ago, in the largest unit that reads well: "5 min", "3 h", "12 d"."""
    value = as_utc(value)
    if value is None:
        return "—"
    seconds = max(0, int((utcnow() - value).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _url_builder(endpoint: str):
    prefix, _, suffix = url_for(endpoint, key=_PLACEHOLDER).partition(_PLACEHOLDER)

    def build(key: str) -> str:
        if _PLAIN_KEY.fullmatch(key):
            return prefix + key + suffix
        return url_for(endpoint, key=key)

    return build


def text_label(move: Transition | None, key: str) -> str:
    """The label of the text box a move needs ("Reason for closing INC-4")."""
    if move is None or not move.requires:
        return f"Reason for {key}"
    if move.requires == Requirement.RESOLUTION:
        return f"Resolution summary for {key}"
    if move.label == "Reopen":
        return f"Reason for reopening {key}"
    if move.target == Status.CLOSED:
        return f"Reason for closing {key}"
    if move.target == Status.BLOCKED:
        return f"Reason for blocking {key}"
    return f"Reason for {key}"


@dataclass
class RowKit:
    csrf: str
    detail_url: object
    transition_url: Callable[[str], str]
    row_url: object
    database: str = ""  # the engine's URL: rows of two databases (tests, a restore) never mix
    # Where a search matched the rows shown, by incident id (shared.incidents.search.match_hints):
    # drawn under the title, and part of the cached row's key.
    hints: dict = field(default_factory=dict)
    _moves: dict = field(default_factory=dict)
    _forms: dict = field(default_factory=dict)

    def moves(self, incident) -> list[Transition]:
        """The moves the signed-in user may make on `incident`. Memoised on what the policy
        reads (shared.permissions.can: the status, and for members owner and reporter): a page
        of 50 rows asks the policy a handful of times, not 50."""
        memo_key = (incident.status, incident.owner_id, incident.reporter_id)
        if memo_key not in self._moves:
            self._moves[memo_key] = incidents.allowed_transitions(actor=current_user.user, incident=incident)
        return self._moves[memo_key]

    def quick_status(self, incident, moves: list[Transition]) -> Markup:
        """An untouched row's quick-status form (incidents/_quick_status.html), drawn once per
        page for each set of moves and stamped with the row's key and version."""
        key, version = incident.key, str(incident.version)
        if not _PLAIN_KEY.fullmatch(key):
            return Markup(self._draw_form(key, version, moves))  # noqa: S704 - a rendered template
        memo_key = tuple(moves)
        if memo_key not in self._forms:
            self._forms[memo_key] = self._draw_form(_KEY_SLOT, _VERSION_SLOT, moves)
        return Markup(self._forms[memo_key].replace(_KEY_SLOT, key).replace(_VERSION_SLOT, version))  # noqa: S704

    def row(self, incident) -> Markup:
        """An untouched dashboard row (incidents/_row.html with no move chosen and no message).

        Cached by every value the row shows — the database, the incident's own fields, its owner's
        name and whether that account is disabled, the ages and the overdue mark as they read now,
        the moves this viewer may make, the URL root, where the search matched it — so a change to
        any of them draws it again; the viewer's CSRF token is stamped into the cached HTML."""
        moves = self.moves(incident)
        since = status_since(incident)
        owner = incident.owner
        hint = self.hints.get(incident.id)
        memo_key = (
            self.database,
            request.script_root,
            incident.id,
            incident.key,
            incident.version,
            incident.title,
            incident.status,
            incident.priority,
            owner.name if owner is not None else None,
            # "(disabled)" after the name: disabling or enabling the account draws the row again.
            owner.is_active if owner is not None else None,
            incident.component,
            incident.environment,
            incident.created_at,
            since,
            incident.activity_at,  # the Updated column: a comment changes it, not the version
            timers.is_overdue(incident, on=reader_today()),  # in the reader's days, as drawn
            age(incident.created_at),
            age(since),
            tuple(moves),
            hint,  # a search's row (with its hint) is never served for another search, or none
        )

        def draw() -> str:
            return render_template("incidents/_row.html", incident=incident, hint=hint)

        return ROW_CACHE.get_or_render_for_viewer(memo_key, draw, self.csrf)

    def _draw_form(self, key: str, version: str, moves: list[Transition]) -> str:
        return render_template(
            "incidents/_quick_status.html",
            kit=self,
            key=key,
            version=version,
            transition_url=self.transition_url(key),
            moves=moves,
            chosen_move=None,
            reason="",
            row_error=None,
            text_error=None,
        )


def row_kit() -> RowKit:
    """This request's RowKit (made on first use)."""
    kit = g.get("row_kit")
    if kit is None:
        kit = g.row_kit = RowKit(
            csrf=generate_csrf(),
            detail_url=_url_builder("incidents.detail"),
            transition_url=_url_builder("incidents.transition"),
            row_url=_url_builder("incidents.row"),
            database=str(current_app.extensions["db_engine"].url),
        )
    return kit
