"""Dashboard search: qualifiers in the search box plus free text, filters, sorting, paging.

`status:open priority:p1 owner:me component:rds env:prod disk full` — values may be
comma-separated (`status:open,blocked`), a leading `-` negates a qualifier (`-status:closed`),
`due:` narrows by due date (`due:overdue`, `due:week`, `-due:none`), `reporter:` by who filed it,
`is:watching` to what the signed-in person watches, `updated:` (the last activity: edits, moves,
comments, follow-ups, evidence) and `created:` by when (`updated:12h`, `created:>2026-11-30`),
`title:` narrows to words in the title and `sort:` picks the order; `owner:disabled` finds the
work still owned by disabled accounts (nobody does it until it is given to someone). Any other
`word:value` is searched as words, and named under the box. PostgreSQL uses the weighted
full-text vector and trigram indexes (see the migration); SQLite falls back to LIKE over the
same fields, with one-edit typo patterns when the words match nothing.

Free text looks in the whole incident: title, description, component, key, block reason,
resolution summary and its comments (a redacted comment by none of its words). Each word may
be in any of them ("CHG-4411 rollback": the ticket in a comment, the word in the title), as
people expect of "the incident mentions these words"; requiring every word in one comment
would miss exactly the hand-over notes people search for. Each word is one lookup in each
table's GIN index (migration 0018), or a probe of the walked row's comments by its id.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Label, Select, and_, any_, column, exists, func, literal_column, or_, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.db import utcnow
from shared.incidents import timers
from shared.incidents.lifecycle import Status, parse_status
from shared.incidents.models import ENVIRONMENTS, Comment, Incident, Priority, Watcher
from shared.text import is_number
from shared.timeutil import day_start

QUALIFIERS = {
    "status": "statuses",
    "is": "statuses",
    "priority": "priorities",
    "prio": "priorities",
    "owner": "owner",
    "assignee": "owner",
    "component": "components",
    "comp": "components",
    "env": "environments",
    "environment": "environments",
    "due": "due",
    "reporter": "reporter",
    "watching": "watching",
    "updated": "updated",
    "created": "created",
}
# Every qualifier by its main name, as a message lists them.
QUALIFIER_NAMES = (
    "status",
    "is",
    "priority",
    "owner",
    "reporter",
    "component",
    "env",
    "due",
    "updated",
    "created",
    "watching",
    "title",
    "sort",
)
# Names people reach for that mean a qualifier under another name ("since:12h" is updated:12h),
# too far from it in spelling for the typo guess.
MEANT = {
    "since": "updated",
    "changed": "updated",
    "modified": "updated",
    "opened": "created",
    "author": "reporter",
    "creator": "reporter",
    "watch": "watching",
    "watched": "watching",
    "watcher": "watching",
    "watchers": "watching",
    "state": "status",
    "severity": "priority",
    "sev": "priority",
    "service": "component",
}
# `is:` values that are not statuses, and the qualifier each is short for.
IS_FLAGS = {"overdue": "due", "watching": "watching"}
SORTS = ("priority", "recent", "oldest", "due")
# `due:` values: past due and still being worked on (the Overdue badge), due today, due today or
# in the 7 days after, no due date, any due date. Days are the reader's (Filters.days_in), as
# the badge counts them.
DUE_VALUES = ("overdue", "today", "week", "none", "any")
WEEK_DAYS = 7
NOBODY = ("none", "nobody", "unassigned")
# `owner:disabled`: owned by any disabled account (a postmortem's "what was left with people
# who have gone"). See `_disabled_owner_ids` for how it stays an owner-index lookup.
DISABLED = "disabled"
_DISABLED_IDS = "disabled_owner_ids"  # session.info: the disabled accounts' ids, read once per request
# `status:all` (or `any`) shows every status, Closed included: the dashboard's default view is
# the active incidents (`-status:closed`, see `active_by_default`).
ALL_STATUSES = ("all", "any")
# Fields that can be negated, and the Filters attribute holding the negated values.
NEGATED = {
    "statuses": "not_statuses",
    "priorities": "not_priorities",
    "components": "not_components",
    "environments": "not_environments",
    "due": "not_due",
    "updated": "not_updated",
    "created": "not_created",
}
# `updated:` and `created:` windows: the last minutes, hours, days or weeks; a day, before or
# after one (or on or before/after it), or a range of days, both ends included (GitHub's forms).
_AGO_RE = re.compile(r"([1-9]\d{0,4})([mhdw])")
_AGO_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DAY_RE = re.compile(r"(>=|<=|>|<)?(\d{4}-\d{2}-\d{2})")
_DAYS_RE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
WINDOW_DAYS = ("today", "yesterday")
WINDOW_FORMS = (
    "30m, 12h, 7d or 2w for the last minutes, hours, days or weeks; today or yesterday; "
    "or days: 2026-11-30, >2026-11-30, <2026-11-30, 2026-11-01..2026-11-30"
)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# A token of the search box: a qualifier whose value has quoted parts (`owner:"Lee Lead"`,
# `owner:"Lee Lead",ali`: spaces kept),
# a quoted phrase, or a run without spaces. An unclosed quote runs to the end, so a value being
# typed (`owner:"lee le`) already searches.
_TOKEN_RE = re.compile(r'-?[^\s:"]+:(?:"[^"]*"?|[^\s"]+)+|"[^"]*"?|\S+')
_KEY_RE = re.compile(r"^\s*inc-\d+\s*$", re.IGNORECASE)
# A word that looks like a qualifier: letters, a colon, a value ("team:sre"); not a URL
# ("https://..."), a time ("10:30") or a ticket ("CHG-4411").
_QUALIFIER_LIKE = re.compile(r"-?([^\W\d_]+):(?!//)\S")
# Each word is a clause of the query: past a few dozen, a pasted log line is not a search, and
# SQLite refuses an expression over 1,000 deep (a 1,200-word paste was a 500).
MAX_TEXT_WORDS = 32


@dataclass(frozen=True)
class Filters:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    owner: str = ""  # "me", "none", "disabled", a user id, or an email / its local part
    components: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    text: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)
    # Match the text by similarity (typos) rather than as words: set by `with_typo_fallback`
    # when the words match nothing.
    typo_tolerant: bool = False
    not_statuses: tuple[str, ...] = ()
    not_priorities: tuple[str, ...] = ()
    not_components: tuple[str, ...] = ()
    not_environments: tuple[str, ...] = ()
    not_owner: str = ""
    title: tuple[str, ...] = ()  # words the title must contain (also part of `text`)
    sort: str = ""  # from `sort:`; "" = the caller's choice
    all_statuses: bool = False  # `status:all` typed: no default status scope
    due: tuple[str, ...] = ()  # DUE_VALUES, any of them (`due:`, or `is:overdue`)
    not_due: tuple[str, ...] = ()
    reporter: str = ""  # as `owner`: "me", a user id, or an email / its local part / a name
    not_reporter: str = ""
    watching: bool | None = None  # `is:watching` (True), `-is:watching` (False), or neither
    # Windows of time (WINDOW_FORMS, normalised): each one must hold; each negated one must not.
    updated: tuple[str, ...] = ()
    not_updated: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    not_created: tuple[str, ...] = ()
    # Whose days `created:`/`updated:` days, today, yesterday and `due:` count: the reader's zone
    # (the dashboard's it_tz cookie, the API's tz), not part of the query text. UTC by default.
    days_in: tzinfo = UTC

    def without_status(self) -> Filters:
        return replace(self, statuses=(), not_statuses=())

    @property
    def has_status_scope(self) -> bool:
        """Did the person say anything about status (`status:`, `-status:`, `status:all`)?"""
        return bool(self.statuses or self.not_statuses or self.all_statuses)

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, searching: bool = True, days_in: tzinfo = UTC) -> Filters:
        """Filters from request parameters — status, priority, owner, component, env (values
        comma-separated) and the search box `q` — built directly, not re-parsed as qualifier text.
        `searching`: as `parse_query`'s; `days_in`: the reader's zone (Filters.days_in)."""
        problems: list[str] = []

        def values(target: str, name: str) -> tuple[str, ...]:
            found: list[str] = []
            for item in _split((params.get(name) or "").strip()):
                value = _normalise(target, item, problems)
                if value and value not in found:
                    found.append(value)
            return tuple(found)

        base = cls(
            statuses=values("statuses", "status"),
            priorities=values("priorities", "priority"),
            owner=(params.get("owner") or "").strip().lower(),
            components=values("components", "component"),
            environments=values("environments", "env"),
            problems=tuple(problems),
            days_in=days_in,
        )
        return parse_query(params.get("q") or "", base=base, searching=searching)

    @classmethod
    def problems_by_parameter(cls, params: Mapping[str, str]) -> dict[str, list[str]]:
        """What `from_params` finds wrong, under the parameter that carries it, so an API error
        names `status` for `?status=opn` rather than the search box (worded for a refusal:
        `searching=False`)."""
        found: dict[str, list[str]] = {}
        for name in ("status", "priority", "component", "env"):
            if problems := cls.from_params({name: params.get(name) or ""}, searching=False).problems:
                found[name] = list(problems)
        if problems := parse_query(params.get("q") or "", searching=False).problems:
            found["q"] = list(problems)
        return found


def _split(value: str) -> list[str]:
    return [v for v in (part.strip() for part in value.split(",")) if v]


def parse_query(query: str, base: Filters | None = None, *, searching: bool = True) -> Filters:
    """Read qualifiers and free text from the search box, on top of `base` (the dropdowns).

    A field the query names replaces that field of `base`; it is never OR-ed with it: the box
    and the dropdowns are one filter, not two that widen each other. `searching=False` is for a
    caller that refuses a query with problems instead of searching what it can (the API's 400):
    its problems then say nothing about what was searched."""
    base = base or Filters()
    values: dict[str, list[str]] = {name: [] for name in (*NEGATED, *NEGATED.values())}
    named: set[str] = set()
    owner, not_owner, sort, all_statuses = "", "", "", False
    reporter, not_reporter, watching = "", "", None
    words: list[str] = []
    title: list[str] = []
    problems: list[str] = list(base.problems)
    for token in _TOKEN_RE.findall(query or ""):
        if token.startswith('"'):
            # A phrase: its words, as unquoted, except a word that would read as a qualifier
            # ("team:sre", "-disk"): it keeps its quotes, so the canonical text searches it too.
            words.extend(
                f'"{word}"' if ":" in word or word.startswith("-") else word for word in token.strip('"').split()
            )
            continue
        negated = token.startswith("-") and len(token) > 1
        name, sep, value = token[1 if negated else 0 :].partition(":")
        if '"' in value:  # owner:"Mo Member",lee: the quotes only hold the spaces together
            value = ",".join(part.strip() for part in value.replace('"', "").split(","))
        lowered = name.lower()
        target = QUALIFIERS.get(lowered) if sep else None
        if sep and lowered in ("title", "sort") and not negated:
            target = lowered
        if negated and target is None:
            # Searched as words, "-disk" found the incidents about disks: the opposite of what
            # was meant. Words can't be left out (a negated word would walk every row that
            # lacks it); say so, and don't search for it. A token that is still becoming a
            # qualifier ("-sta" on the way to -status:closed) waits quietly.
            if _WORD_RE.search(name) and not (
                not sep and any(q.startswith(lowered) for q in (*QUALIFIERS, "title", "sort"))
            ):
                problems.append(_cannot_leave_out(token, name, sep))
            continue
        if target is None:
            words.append(token)
            if sep and value and (problem := _not_a_qualifier(token, name, searching)):
                problems.append(problem)
            continue
        if not value:
            problems.append(f"'{name}:' needs a value, e.g. {name}:{_example(target)}.")
            continue
        items = [item.lower() for item in _split(value)]
        if lowered == "is" and (flags := sorted({item for item in items if item in IS_FLAGS})):
            # `is:overdue` (what people try first) is `due:overdue`, `is:watching` the incidents
            # you watch; statuses stay statuses.
            if len(flags) > 1 or set(items) != set(flags):
                problems.append(_mixed_is(token, flags))
                continue
            target = IS_FLAGS[flags[0]]
        if target == "reporter":
            people = _split(value.lower())
            if nobody := [person for person in people if person in NOBODY]:
                problems.append(
                    f"Every incident has a reporter: reporter:{nobody[0]} would find nothing "
                    "(use me, a name or an email, as owner: takes)."
                )
                continue
            named.add("reporter")
            if negated:
                not_reporter = value.lower()
            else:
                reporter = value.lower()
            continue
        if target == "watching":
            # Whom others watch is theirs to know: `watching:` takes only "me".
            if lowered != "is" and items != ["me"]:
                problems.append(
                    f"Unknown watcher {value!r} (use watching:me, or is:watching: the incidents you watch)."
                )
                continue
            if "watching" in named and watching is negated:
                # Both held would match nothing; the last one alone is not what was asked either.
                problems.append(
                    "is:watching and -is:watching together match nothing: keep one (the last one given is searched)."
                )
            named.add("watching")
            watching = not negated
            continue
        if target == "title":
            title.extend(_WORD_RE.findall(value.lower()))
            continue
        if target == "sort":
            if value.lower() in SORTS:
                if sort and sort != value.lower():
                    # One order only: the last one given wins, and the note says which (a refusal
                    # names both).
                    last = value.lower()
                    said = f"sorting by {last} (the last one given), not {sort}"
                    problems.append(f"Give sort: once: {said if searching else f'not {sort} and {last}'}.")
                sort = value.lower()
            else:
                problems.append(f"Unknown sort {value!r} (use {', '.join(SORTS)}).")
            continue
        if target == "owner":
            named.add("owner")
            if negated:
                not_owner = value.lower()
            else:
                owner = value.lower()
            continue
        if target == "statuses" and value.lower() in ALL_STATUSES and not negated:
            all_statuses = True
            named.add("statuses")
            continue
        named.add(target)
        into = NEGATED[target] if negated else target
        for item in _split(value):
            normalised = _normalise(target, item, problems, via_is=lowered == "is")
            if normalised and normalised not in values[into]:
                values[into].append(normalised)

    typed = len(_WORD_RE.findall(" ".join(words + title)))
    if typed > MAX_TEXT_WORDS:
        title = _first_words(title, MAX_TEXT_WORDS)
        words = _first_words(words, MAX_TEXT_WORDS - len(title))
        problems.append(f"Only the first {MAX_TEXT_WORDS} words are searched ({typed} were typed).")

    def field_value(name: str, negative: bool = False):
        # The query's own values where it names the field, the base's otherwise.
        group = name if not negative else next(k for k, v in NEGATED.items() if v == name)
        return tuple(values[name]) if group in named else getattr(base, name)

    return Filters(
        statuses=field_value("statuses"),
        priorities=field_value("priorities"),
        owner=owner if "owner" in named else base.owner,
        components=field_value("components"),
        environments=field_value("environments"),
        text=" ".join(words + title + ([base.text] if base.text else [])).strip(),
        problems=tuple(problems),
        not_statuses=field_value("not_statuses", True),
        not_priorities=field_value("not_priorities", True),
        not_components=field_value("not_components", True),
        not_environments=field_value("not_environments", True),
        not_owner=not_owner if "owner" in named else base.not_owner,
        title=tuple(title) + base.title,
        sort=sort or base.sort,
        all_statuses=all_statuses if "statuses" in named else base.all_statuses,
        due=field_value("due"),
        not_due=field_value("not_due", True),
        reporter=reporter if "reporter" in named else base.reporter,
        not_reporter=not_reporter if "reporter" in named else base.not_reporter,
        watching=watching if "watching" in named else base.watching,
        updated=field_value("updated"),
        not_updated=field_value("not_updated", True),
        created=field_value("created"),
        not_created=field_value("not_created", True),
        days_in=base.days_in,
    )


def _first_words(tokens: list[str], limit: int) -> list[str]:
    """The tokens holding the first `limit` words (the words the text clause will search)."""
    kept, count = [], 0
    for token in tokens:
        count += len(_WORD_RE.findall(token))
        if count > limit:
            break
        kept.append(token)
    return kept


def active_by_default(filters: Filters) -> Filters:
    """The dashboard's default scope: without a word about status, the active incidents
    (everything but Closed). `status:all` shows every status."""
    if filters.has_status_scope:
        return filters
    return replace(filters, not_statuses=(Status.CLOSED.value,))


def _join(values) -> str:
    return ",".join(values)


def _quoted(value: str) -> str:
    """A qualifier value as typed: in quotes when it has spaces (`owner:"lee lead"`)."""
    return f'"{value}"' if any(character.isspace() for character in value) else value


def query_terms(filters: Filters) -> list[tuple[str, tuple[str, ...]]]:
    """Each part of the query as a person would type it, with the Filters fields it sets:
    what `explain_no_match` tries one by one, and what `canonical_query` writes."""
    terms: list[tuple[str, tuple[str, ...]]] = []
    names = {
        "statuses": "status",
        "priorities": "priority",
        "components": "component",
        "environments": "env",
        "due": "due",
        "updated": "updated",
        "created": "created",
    }
    for attr, qualifier in names.items():
        for field_name, sign in ((attr, ""), (NEGATED[attr], "-")):
            shown = [v.lower() if attr == "priorities" else v for v in getattr(filters, field_name)]
            if shown:
                terms.append((f"{sign}{qualifier}:{_join(shown)}", (field_name,)))
    if filters.owner:
        terms.append((f"owner:{_quoted(filters.owner)}", ("owner",)))
    if filters.not_owner:
        terms.append((f"-owner:{_quoted(filters.not_owner)}", ("not_owner",)))
    if filters.reporter:
        terms.append((f"reporter:{_quoted(filters.reporter)}", ("reporter",)))
    if filters.not_reporter:
        terms.append((f"-reporter:{_quoted(filters.not_reporter)}", ("not_reporter",)))
    if filters.watching is not None:
        terms.append(("is:watching" if filters.watching else "-is:watching", ("watching",)))
    if filters.text:
        title_words = list(filters.title)
        plain = []
        for word in filters.text.split():
            if word.lower() in title_words:
                title_words.remove(word.lower())
            else:
                plain.append(word)
        terms.append((" ".join(plain + [f"title:{w}" for w in filters.title]), ("text", "title")))
    return terms


def canonical_query(filters: Filters) -> str:
    """The one text form of the filters, for the URL: qualifiers first, then free text."""
    parts = [label for label, _ in query_terms(filters)]
    if filters.all_statuses:
        parts.insert(0, "status:all")
    if filters.sort:
        parts.append(f"sort:{filters.sort}")
    return " ".join(parts)


def _exists(session: Session, filters: Filters, me_id: int | None, *where) -> bool:
    statement = apply_filters(session, select(Incident.id).where(*where), filters, me_id)
    return session.scalar(statement.limit(1)) is not None


def matches(*, session: Session, filters: Filters, me_id: int | None, incident_id: int) -> bool:
    """Does the incident pass the filters? One primary-key lookup, whatever the table's size."""
    return _exists(session, replace(filters, typo_tolerant=False), me_id, Incident.id == incident_id)


MAX_EXPLAINED_TERMS = 8


def explain_no_match(*, session: Session, filters: Filters, me_id: int | None) -> list[str]:
    """When nothing matches: which parts of the query exclude everything. A part that matches
    nothing on its own is named; otherwise each part without which something would match; and
    when no single part is to blame, that it takes removing more than one.

    Called only for an empty page; each probe is a LIMIT 1 over the same indexed predicates
    as the page, at most two per part and MAX_EXPLAINED_TERMS parts."""
    terms = query_terms(filters)[:MAX_EXPLAINED_TERMS]
    empty = Filters(days_in=filters.days_in)  # a part alone is read in the same days
    alone = [
        f"Nothing matches {label} on its own."
        for label, fields in terms
        if not _exists(session, replace(empty, **{f: getattr(filters, f) for f in fields}), me_id)
    ]
    if alone or len(terms) < 2:
        return alone
    blocking = [
        f"{label} excludes every incident the rest of the search finds."
        for label, fields in terms
        if _exists(session, replace(filters, **{f: getattr(empty, f) for f in fields}), me_id)
    ]
    return blocking or [
        "Each part finds incidents on its own, but no incident matches them all: removing any one part is not enough."
    ]


def _qualifier_meant(name: str) -> str | None:
    """The qualifier a mistyped name is close to ("stauts" -> "status") or that it means under
    another name ("since" -> "updated"), or None ("team")."""
    if not name.isalpha():
        return None
    if name.lower() in MEANT:
        return MEANT[name.lower()]
    close = difflib.get_close_matches(name.lower(), [*QUALIFIERS, "title", "sort"], n=1, cutoff=0.75)
    return close[0] if close else None


def _not_a_qualifier(token: str, name: str, searching: bool) -> str | None:
    """What to say of `name:value` searched as words because no qualifier has that name: the
    one meant, when it is close; otherwise which names there are. A URL ("https://...") or a
    time ("10:30") is not mistaken for one. `searching`: as `parse_query`'s."""
    if not _QUALIFIER_LIKE.match(token):
        return None
    if guess := _qualifier_meant(name):
        # "stauts:open" matched nothing, and said nothing about why (found by QA).
        if not searching:
            return f"Unknown qualifier '{name}:' \u2014 did you mean {guess}:?"
        return f"Unknown qualifier '{name}:' (did you mean {guess}:?): {token!r} was searched as words."
    # "since:12h" and "team:sre" found nothing, and the dashboard said only "0 incidents".
    listed = ", ".join(QUALIFIER_NAMES)
    if not searching:
        # The API searched such words quietly before (v1): a script's `q=error:timeout` keeps
        # working. Only a name that looks like a qualifier misspelt (above) is refused there.
        return None
    return (
        f"'{name}:' is not a search qualifier: {token!r} was searched as words (qualifiers: {listed}). "
        f'In quotes ("{token}") it is searched without this note.'
    )


def _mixed_is(token: str, flags: list[str]) -> str:
    if len(flags) > 1:
        return (
            f"{token!r} mixes {' and '.join(flags)}: write them apart "
            "(is:overdue is:watching finds the overdue incidents you watch)."
        )
    if flags == ["overdue"]:
        return (
            f"{token!r} mixes overdue with statuses: write them apart "
            "(is:open is:overdue finds the open incidents that are overdue)."
        )
    return (
        f"{token!r} mixes watching with statuses: write them apart "
        "(is:open is:watching finds the open incidents you watch)."
    )


def _cannot_leave_out(token: str, name: str, sep: str) -> str:
    if sep and name.lower() in ("title", "sort"):
        return f"'-{name}:' can't be negated: {token!r} was left out of the search."
    if sep:
        return f"Unknown qualifier '{name}:' (use {', '.join(QUALIFIER_NAMES)}): {token!r} was not searched."
    return (
        f"Words can't be left out: {token!r} was not searched. A leading - leaves out a qualifier's "
        "values (-status:closed, -env:dev)."
    )


def _example(target: str) -> str:
    return {
        "statuses": "open",
        "priorities": "p1",
        "owner": "me",
        "components": "rds",
        "environments": "prod",
        "due": "overdue",
        "reporter": "me",
        "watching": "me",
        "updated": "12h",
        "created": ">2026-11-30",
        "title": "disk",
        "sort": "recent",
    }[target]


def _normalise(target: str, item: str, problems: list[str], via_is: bool = False) -> str | None:
    if target == "statuses":
        try:
            return parse_status(item).value
        except ValueError as error:
            message = str(error).capitalize()
            if via_is:  # `is:` takes its flags as well: say so where someone typed it (`is:overdeu`)
                message = message.removesuffix(")") + "; or " + " or ".join(IS_FLAGS) + ")"
            problems.append(message + ".")
            return None
    if target in ("updated", "created"):
        window = _window(item)
        if window is None:
            problems.append(_window_problem(target, item))
        return window
    if target == "due":
        lower = item.lower()
        if lower not in DUE_VALUES:
            problems.append(f"Unknown due date {item!r} (use one of: {', '.join(DUE_VALUES)}).")
            return None
        return lower
    if target == "priorities":
        upper = item.upper()
        if upper not in {p.value for p in Priority}:
            problems.append(f"Unknown priority {item!r} (use p1, p2, p3 or p4).")
            return None
        return upper
    if target == "environments":
        lower = item.lower()
        if lower not in ENVIRONMENTS:
            problems.append(f"Unknown environment {item!r} (use one of: {', '.join(ENVIRONMENTS)}).")
            return None
        return lower
    return item.lower()


def _owner_clause(session: Session, owner: str, me_id: int | None, column=Incident.owner_id):
    """Owned by `owner` (or, with `column`, reported by them: `reporter:` takes the same people)."""
    if owner == "me":
        return column == me_id
    if owner in NOBODY:
        return column.is_(None)
    if owner == DISABLED:
        return column.in_(_disabled_owner_ids(session))
    if is_number(owner):
        return column == int(owner)
    if "@" in owner:
        return column.in_(select(User.id).where(User.email.like(owner)))
    # A partial name or email ("ali" finds Alice Ng and ali@example.com). The users table is
    # small: this subquery reads it, never the incidents.
    escaped = owner.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    return column.in_(
        select(User.id).where(or_(User.name.ilike(like, escape="\\"), User.email.ilike(like, escape="\\")))
    )


def _disabled_owner_ids(session: Session) -> list[int]:
    """The disabled accounts' ids (a few), read once per session (a request) however many
    statements the search runs. Sent as values, not as `IN (SELECT id FROM users WHERE ...)`:
    the planner weighs each id by how many incidents it owns (a leaver's last three are three
    probes of ix_incidents_owner_sort), where a subquery is weighed as average owners, for whom
    it walks the sort index instead, past every active incident when the leavers own three."""
    ids = session.info.get(_DISABLED_IDS)
    if ids is None:
        ids = session.info[_DISABLED_IDS] = list(
            session.scalars(select(User.id).where(User.is_active.is_(False)).order_by(User.id))
        )
    return ids


def _not_owner_clause(session: Session, owner: str, me_id: int | None):
    """Not owned by `owner`: unassigned incidents included, except for -owner:none."""
    if owner in NOBODY:
        return Incident.owner_id.is_not(None)
    return or_(Incident.owner_id.is_(None), ~_owner_clause(session, owner, me_id))


# How many spellings from the titles' words a misspelt word stands for, and the shortest word
# that is corrected at all (shorter ones are one-edit away from too much).
TYPO_SPELLINGS = 3
TYPO_MIN_LENGTH = 4
_SPELLINGS = "typo_spellings"  # session.info: word -> spellings, looked up once per request


def _title_spellings(session: Session, word: str) -> list[str]:
    """The words of titles that `word` is probably a misspelling of (trigram similarity over
    the distinct title words, migration 0009), closest first; the word itself if none."""
    if len(word) < TYPO_MIN_LENGTH:
        return [word]
    memo = session.info.setdefault(_SPELLINGS, {})
    if word not in memo:
        found = session.scalars(
            sql_text(
                "SELECT word FROM incident_title_words WHERE word % :word ORDER BY word <-> :word, word LIMIT :limit"
            ),
            {"word": word, "limit": TYPO_SPELLINGS},
        ).all()
        memo[word] = [w for w in found if _WORD_RE.fullmatch(w)] or [word]
    return memo[word]


def _word_tsqueries(session: Session, typed: str, typo_tolerant: bool) -> list[str]:
    """The to_tsquery text of each search word: as typed (the last one a prefix), or for a
    typo, the word OR-ed with the title words it is close to ("(certificate | certified)")."""
    words = _WORD_RE.findall(typed.lower())[:MAX_TEXT_WORDS]
    if not typo_tolerant:
        # Prefix-match the last word so results follow the user as they type.
        return [*words[:-1], words[-1] + ":*"]
    groups = []
    for position, word in enumerate(words):
        suffix = ":*" if position == len(words) - 1 else ""
        groups.append("(" + " | ".join(spelling + suffix for spelling in _title_spellings(session, word)) + ")")
    return groups


# The comments' search vectors (a generated column only the migrations know, as the incidents').
_COMMENT_VECTORS = table("incident_comments", column("incident_id"), column("search_vector"))


def _to_tsquery(text: str):
    return func.to_tsquery(literal_column("'english'::regconfig"), text)


def _full_text(word_tsqueries: list[str], typed: str, vector, incident_id, key, *, per_row: bool):
    """Each word in the incident's `vector` or in one of its comments, or a key prefix (what was
    typed) on `key`.

    A stop word ("the") is no word of any document: its clause is true (`numnode` of its query
    is 0, which PostgreSQL works out while planning), as it was dropped from the one query of
    all the words before; when every word is one, nothing matches, as before.

    `per_row`: the rows are a bounded walk, so a row's comments are probed by its id (or, when
    the word is rare, looked up once: the planner's choice between the two). Otherwise the
    clause must serve a whole-table search from indexes: each word's commented incidents come
    from the comments' GIN index as an array, which the primary key turns into a bitmap OR-ed
    with the incidents' GIN index, the words' bitmaps AND-ed."""
    every_word = _to_tsquery(" & ".join(word_tsqueries))
    clauses = [func.numnode(every_word) > 0]
    for word in word_tsqueries:
        query = _to_tsquery(word)
        comments = _COMMENT_VECTORS.alias()
        said = comments.c.search_vector.op("@@")(query)
        if per_row:
            in_comments = exists().where(comments.c.incident_id == incident_id, said)
        else:
            commented = select(comments.c.incident_id).where(said).scalar_subquery()
            in_comments = incident_id == any_(func.array(commented))
        clauses.append(or_(func.numnode(query) == 0, vector.op("@@")(query), in_comments))
    return or_(and_(*clauses), key.ilike(typed.strip() + "%"))


def _text_clause(session: Session, text: str, typo_tolerant: bool = False):
    words = _WORD_RE.findall(text.lower())[:MAX_TEXT_WORDS]
    if not words:
        return None
    if _KEY_RE.match(text):
        # A key ("INC-4", "inc-1" while typing "INC-12") is a key lookup on both backends;
        # as words, "inc" and "1" would match nearly every incident on SQLite.
        return Incident.key.ilike(text.strip() + "%")
    if session.get_bind().dialect.name == "postgresql":
        # Full text alone: OR-ing a trigram scan of the titles in as well made common phrases
        # ("certificate expired") re-check tens of thousands of titles on every request. A typo
        # (the words matched nothing) is searched as the title words it is close to.
        return _full_text(
            _word_tsqueries(session, text, typo_tolerant),
            text,
            literal_column("incidents.search_vector"),
            Incident.id,
            Incident.key,
            per_row=False,
        )
    clauses = []
    for word in words:
        # No trigrams on SQLite: a typo search tries every spelling one edit away (a letter
        # missing, extra, wrong or swapped with its neighbour) as LIKE patterns.
        likes = [f"%{pattern}%" for pattern in (_one_edit_patterns(word) if typo_tolerant else [word])]
        # As on PostgreSQL, the word may be in any field or in any one comment; a redacted
        # comment's body is the notice, and not searched at all.
        in_comments = exists().where(
            Comment.incident_id == Incident.id,
            Comment.redacted_at.is_(None),
            or_(*(Comment.body.ilike(like) for like in likes)),
        )
        clauses.append(or_(*(field.ilike(like) for like in likes for field in _SEARCHED_FIELDS), in_comments))
    return and_(*clauses)


# The incident's own fields that free text searches on SQLite (PostgreSQL: the search vector,
# migration 0018, and the key).
_SEARCHED_FIELDS = (
    Incident.title,
    Incident.description,
    Incident.component,
    Incident.key,
    Incident.blocked_reason,
    Incident.resolution_summary,
)


# Longer "words" are pasted paths, hashes and ids, not typed: they are searched as they are.
# (Each letter adds four patterns; SQLite refuses an expression over 1,000 deep, which a
# 124-letter word reached: a 500 for the whole dashboard.)
TYPO_WORD_MAX = 24


def _one_edit_patterns(word: str) -> list[str]:
    """LIKE patterns matching `word` with one typo undone (`_` is any one character)."""
    if len(word) < 4 or len(word) > TYPO_WORD_MAX:
        return [word]
    patterns = {word}
    for i in range(len(word)):
        patterns.add(word[:i] + "_" + word[i + 1 :])  # a wrong letter
        patterns.add(word[:i] + word[i + 1 :])  # an extra letter typed
        patterns.add(word[:i] + "_" + word[i:])  # a letter left out
        if i + 1 < len(word):
            patterns.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])  # two letters swapped
    return sorted(patterns)


def _title_clause(session: Session, filters: Filters, column=Incident.title):
    """Each `title:` word in the title. For a typo (the words matched nothing), one of the word's
    spellings in the title: the title words it is close to (PostgreSQL) or the patterns one edit
    away (SQLite). Leaving the title out for a typo made `title:` find words said anywhere else
    in the incident, its comments included."""
    if not filters.title:
        return None
    clauses = []
    for word in filters.title:
        spellings = [word]
        if filters.typo_tolerant:
            if session.get_bind().dialect.name == "postgresql":
                spellings = _title_spellings(session, word)
            else:
                spellings = _one_edit_patterns(word)
        clauses.append(or_(*(column.ilike(f"%{spelling}%") for spelling in spellings)))
    return and_(*clauses)


def _due_clause(value: str, today: date):
    """One `due:` value as SQL. Each is true or false, never NULL (no due date included), so
    `-due:` leaves out exactly what `due:` finds."""
    due = Incident.due_date
    if value == "none":
        return due.is_(None)
    if value == "any":
        return due.is_not(None)
    if value == "overdue":
        # timers.is_overdue (the Overdue badge) in SQL: its statuses and its day (tested to agree).
        return and_(due.is_not(None), due < today, Incident.status.in_(sorted(timers.ACTIVE)))
    if value == "today":
        return and_(due.is_not(None), due == today)
    return and_(due.is_not(None), due >= today, due <= today + timedelta(days=WEEK_DAYS))


def _day(text: str) -> date | None:
    """A day as typed (2026-11-30), or None if there is no such day. The last year is left out:
    the day after it (where `>9999-12-31` starts) does not exist."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if day.year < date.max.year else None


def _window(item: str) -> str | None:
    """An `updated:`/`created:` value in its one written form (WINDOW_FORMS), or None."""
    value = item.lower()
    if value in WINDOW_DAYS or _AGO_RE.fullmatch(value):
        return value
    if (one := _DAY_RE.fullmatch(value)) and _day(one[2]):
        return value
    if (days := _DAYS_RE.fullmatch(value)) and (first := _day(days[1])) and (last := _day(days[2])):
        return value if first <= last else None
    return None


def _window_problem(target: str, item: str) -> str:
    compared = re.fullmatch(r"[<>]=?(\d+[mhdw])", item.lower())
    if compared:
        # ">12h" reads as "more recent than 12 hours ago" and as "more than 12 hours ago":
        # neither is guessed.
        ago = compared[1]
        return (
            f"Unknown time {item!r} for {target}: a comparison takes a day ({target}:>2026-11-30); "
            f"{target}:{ago} is the last {ago}, -{target}:{ago} longer ago."
        )
    if (days := _DAYS_RE.fullmatch(item)) and _day(days[1]) and _day(days[2]):
        return f"{target}:{item} ends before it starts: write the earlier day first."
    return f"Unknown time {item!r} for {target}: use {WINDOW_FORMS}."


def _window_clause(column, value: str, now: datetime, zone: tzinfo):
    """One `updated:`/`created:` window as SQL: a range of `column` (one index range). Days
    are `zone`'s, as `due:` counts them."""

    def midnight(day: date) -> datetime:
        # In UTC, as stored: SQLite compares the text SQLAlchemy writes, without its offset.
        return day_start(day, zone)

    if ago := _AGO_RE.fullmatch(value):
        return column >= now - timedelta(**{_AGO_UNITS[ago[2]]: int(ago[1])})
    if value in WINDOW_DAYS:
        first = last = now.astimezone(zone).date() - timedelta(days=WINDOW_DAYS.index(value))
    elif days := _DAYS_RE.fullmatch(value):
        first, last = date.fromisoformat(days[1]), date.fromisoformat(days[2])
    else:
        one = _DAY_RE.fullmatch(value)
        assert one is not None  # _window let nothing else in
        comparison, day = one[1], date.fromisoformat(one[2])
        after = {">": midnight(day + timedelta(days=1)), ">=": midnight(day)}
        before = {"<": midnight(day), "<=": midnight(day + timedelta(days=1))}
        if comparison in after:
            return column >= after[comparison]
        if comparison in before:
            return column < before[comparison]
        first = last = day
    return and_(column >= midnight(first), column < midnight(last + timedelta(days=1)))


def apply_filters(session: Session, statement: Select, filters: Filters, me_id: int | None) -> Select:
    if filters.statuses:
        statement = statement.where(Incident.status.in_(filters.statuses))
    if filters.not_statuses:
        statement = statement.where(Incident.status.not_in(filters.not_statuses))
    if filters.priorities:
        statement = statement.where(Incident.priority.in_(filters.priorities))
    if filters.not_priorities:
        statement = statement.where(Incident.priority.not_in(filters.not_priorities))
    if filters.owner:
        # Comma-separated like every qualifier: owned by any of them.
        statement = statement.where(or_(*(_owner_clause(session, part, me_id) for part in _split(filters.owner))))
    if filters.not_owner:
        statement = statement.where(
            and_(*(_not_owner_clause(session, part, me_id) for part in _split(filters.not_owner)))
        )
    if filters.reporter:
        reported = [_owner_clause(session, part, me_id, Incident.reporter_id) for part in _split(filters.reporter)]
        statement = statement.where(or_(*reported))
    if filters.not_reporter:
        # Every incident has a reporter: no NULLs to keep, as -owner: keeps the unassigned.
        others = [~_owner_clause(session, part, me_id, Incident.reporter_id) for part in _split(filters.not_reporter)]
        statement = statement.where(and_(*others))
    if filters.watching is not None:
        # The signed-in person's watch rows (ix_incident_watchers_user, migration 0020), or a
        # probe of the walked incident's by the unique (incident_id, user_id): the planner picks.
        watched = exists().where(Watcher.incident_id == Incident.id, Watcher.user_id == me_id)
        statement = statement.where(watched if filters.watching else ~watched)
    if filters.updated or filters.not_updated or filters.created or filters.not_created:
        now = utcnow()
        for column, within, outside in (
            # `updated:` is the last activity: edits and moves, and comments, follow-ups and
            # evidence, which leave the incident row alone (shared.incidents.activity).
            (Incident.activity_at, filters.updated, filters.not_updated),
            (Incident.created_at, filters.created, filters.not_created),
        ):
            zone = filters.days_in
            statement = statement.where(*(_window_clause(column, value, now, zone) for value in within))
            statement = statement.where(*(~_window_clause(column, value, now, zone) for value in outside))
    if filters.components:
        statement = statement.where(Incident.component.in_(filters.components))
    if filters.not_components:
        statement = statement.where(Incident.component.not_in(filters.not_components))
    if filters.environments:
        statement = statement.where(Incident.environment.in_(filters.environments))
    if filters.not_environments:
        statement = statement.where(Incident.environment.not_in(filters.not_environments))
    if filters.due or filters.not_due:
        today = timers.today(filters.days_in)
        if filters.due:
            statement = statement.where(or_(*(_due_clause(value, today) for value in filters.due)))
        if filters.not_due:
            statement = statement.where(and_(*(~_due_clause(value, today) for value in filters.not_due)))
    text_clause = _text_clause(session, filters.text, filters.typo_tolerant)
    if text_clause is not None:
        statement = statement.where(text_clause)
    title_clause = _title_clause(session, filters)
    if title_clause is not None:
        statement = statement.where(title_clause)
    return statement


def _order(sort: str, columns=Incident):
    """ORDER BY for a sort, on the incidents table or on a subquery's columns of the same names."""
    # Recency is the last activity (ix_incidents_activity_sort, both ways).
    if sort == "recent":
        return (columns.activity_at.desc(), columns.id.desc())
    if sort == "oldest":
        return (columns.activity_at.asc(), columns.id.asc())
    if sort == "due":
        # Soonest due first, none last (PostgreSQL's ascending order, so its index serves it);
        # within a day, the priority order.
        return (
            columns.due_date.asc().nulls_last(),
            columns.priority.asc(),
            columns.updated_at.desc(),
            columns.id.desc(),
        )
    # Priority: P1 first; within a priority, what moved most recently first.
    return (columns.priority.asc(), columns.updated_at.desc(), columns.id.desc())


# Counts stop here: past it the dashboard says "1,000+" (as GitHub does) instead of counting
# every match, so no request does work that grows with the table.
COUNT_CAP = 1000


class Counts(dict[str, int]):
    """Incidents per status. `at_least`: the counts are lower bounds (a broad free-text search
    counted from its first COUNT_CAP + 1 matches rather than all of them), shown as "N+"."""

    at_least: bool = False


def count_label(count: int, at_least: bool = False) -> str:
    """How a count reads: "12", "1,000+" past the cap, "12+" when it is a lower bound."""
    if count > COUNT_CAP:
        return f"{COUNT_CAP:,}+"
    return f"{count:,}+" if at_least and count else f"{count:,}"


@dataclass(frozen=True)
class Page:
    incidents: list[Incident]
    total: int  # exact up to COUNT_CAP; COUNT_CAP + 1 means "more than COUNT_CAP"
    page: int
    page_size: int
    more: bool = False  # a row exists after this page (known without counting)

    total_at_least: bool = False  # `total` is a lower bound

    @property
    def total_is_exact(self) -> bool:
        return self.total <= COUNT_CAP and not self.total_at_least

    @property
    def total_label(self) -> str:
        return count_label(self.total, self.total_at_least)

    @property
    def pages(self) -> int:
        if not self.total_is_exact:
            return self.page + (1 if self.more else 0)
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _capped_count(session: Session, filters: Filters, me_id: int | None):
    """count(*) of the matches, reading at most COUNT_CAP + 1 index entries."""
    matches = apply_filters(session, select(Incident.id), filters, me_id).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(matches).scalar_subquery()


# Broad phrases ("certificate expired" matches ~10 % of incidents): walking the rows the other
# filters allow, in order, and testing the words on each row stops after a bounded number of
# rows, where the full-text index must first collect every match (100k+ at a million). When the
# walk runs out of budget before finding enough, matches are sparse and the index is cheap: the
# query falls back to it. Either way no request's cost grows with the table.
PAGE_WALK = 5_000
COUNT_WALK = 20_000
PROBE_WALK = 2_000


def _walks(session: Session, filters: Filters) -> bool:
    return (
        bool(_WORD_RE.search(filters.text))
        and not _KEY_RE.match(filters.text)
        and session.get_bind().dialect.name == "postgresql"
    )


def _untexted(filters: Filters) -> Filters:
    """The filters without the words (free text and `title:`), which the walk tests per row."""
    return replace(filters, text="", title=())


def _walk_text(session: Session, filters: Filters, walk):
    word_tsqueries = _word_tsqueries(session, filters.text, filters.typo_tolerant)
    clause = _full_text(word_tsqueries, filters.text, walk.c.search_vector, walk.c.id, walk.c.key, per_row=True)
    title = _title_clause(session, filters, walk.c.title)
    return clause if title is None else and_(clause, title)


def _candidates(session: Session, filters: Filters, me_id: int | None, columns: list, budget: int, sort=None):
    """The rows the filters other than the text allow, at most `budget` of them (a subquery)."""
    vector: Label[Any] = literal_column("incidents.search_vector").label("search_vector")
    if not any(selected is Incident.id for selected in columns):  # the walk probes each row's comments by it
        columns = [Incident.id, *columns]
    statement = apply_filters(
        session, select(*columns, Incident.key, Incident.title, vector), _untexted(filters), me_id
    )
    if sort is not None:
        statement = statement.order_by(*_order(sort))
    return statement.limit(budget).subquery()


def _walk_exhausted(session: Session, filters: Filters, me_id: int | None, budget: int) -> bool:
    """Did the walk see every row the other filters allow (fewer than its budget exist)?"""
    allowed = apply_filters(session, select(Incident.id), _untexted(filters), me_id).limit(budget).subquery()
    return (session.scalar(select(func.count()).select_from(allowed)) or 0) < budget


def _walk_page(session: Session, filters: Filters, me_id: int | None, sort: str, offset: int, limit: int):
    """Ids of the page, by walking the allowed rows in sort order; None if the budget ran out."""
    columns = [Incident.id, Incident.priority, Incident.updated_at, Incident.activity_at, Incident.due_date]
    walk = _candidates(session, filters, me_id, columns, PAGE_WALK, sort)
    matched = (
        select(walk.c.id)
        .where(_walk_text(session, filters, walk))
        .order_by(*_order(sort, walk.c))
        .offset(offset)
        .limit(limit)
    )
    ids = list(session.scalars(matched))
    if len(ids) == limit or _walk_exhausted(session, filters, me_id, PAGE_WALK):
        return ids
    return None


def _sparse_page(session: Session, filters: Filters, me_id: int | None, sort: str, offset: int, limit: int):
    """Ids of the page when the walk ran out of budget (the matches are sparse): every match from
    the indexes, then sorted. The fence (OFFSET 0) keeps the planner from walking the sort index
    instead, testing the words on each row: for a rare last word, a prefix it cannot estimate
    below 0.5 % of the rows, that walk read the whole index when the few matches were not near
    its start."""
    columns = (Incident.id, Incident.priority, Incident.updated_at, Incident.activity_at, Incident.due_date)
    matched = apply_filters(session, select(*columns), filters, me_id).offset(0).subquery()
    statement = select(matched.c.id).order_by(*_order(sort, matched.c)).offset(offset).limit(limit)
    return list(session.scalars(statement))


def _all_title_words(session: Session, filters: Filters) -> bool:
    """Is every word of the search (a typo's spellings by construction) one of the titles' words?"""
    if filters.typo_tolerant:
        return True
    words = sorted(set(_WORD_RE.findall(filters.text.lower())))
    if not words:
        return False
    known = session.scalar(
        sql_text("SELECT count(*) FROM incident_title_words WHERE word = ANY(:words)"), {"words": words}
    )
    return known == len(words)


def _walk_counts(session: Session, filters: Filters, me_id: int | None):
    """(status, count) rows of the first COUNT_CAP + 1 matches among a bounded walk, and whether
    they are lower bounds; None if the walk ran out of budget before it could tell.

    When a word is not one of the titles' words (a typo, a rare word, a word being typed), a
    short probe walk comes first: when it finds nothing, matches are rare and the index answers
    cheaply, so the full walk would be wasted. Title words skip the probe."""
    budgets = (COUNT_WALK,) if _all_title_words(session, filters) else (PROBE_WALK, COUNT_WALK)
    for budget in budgets:
        walk = _candidates(session, filters, me_id, [Incident.status], budget)
        sample = select(walk.c.status).where(_walk_text(session, filters, walk)).limit(COUNT_CAP + 1).subquery()
        rows = session.execute(select(sample.c.status, func.count()).group_by(sample.c.status)).all()
        found = sum(count for _, count in rows)
        if found > COUNT_CAP:
            return rows, True
        if _walk_exhausted(session, filters, me_id, budget):
            return rows, False
        if not found:
            return None
    return None


def search(
    *,
    session: Session,
    filters: Filters,
    me_id: int | None,
    sort: str = "priority",
    page: int = 1,
    page_size: int = 50,
    counts: dict[str, int] | None = None,
) -> Page:
    """One page of incidents matching the filters, in the chosen order.

    Pass what `with_typo_fallback` returned (its filters and counts) to page without counting
    the matches once more."""
    sort = sort if sort in SORTS else "priority"
    page = max(1, page)
    if counts is None:
        filters, counts = with_typo_fallback(session=session, filters=filters, me_id=me_id)
    base = apply_filters(session, select(Incident), filters, me_id)
    # The counters are per status under every other filter: the total is theirs for the
    # statuses shown, which a -status: (or the Active default, -status:closed) leaves out.
    wanted = [s for s in (filters.statuses or tuple(counts)) if s not in filters.not_statuses]
    total = min(sum(counts[s] for s in wanted if s in counts), COUNT_CAP + 1)
    at_least = getattr(counts, "at_least", False)
    offset = (page - 1) * page_size
    ids = None
    if _walks(session, filters):
        ids = _walk_page(session, filters, me_id, sort, offset, page_size + 1)
        if ids is None:
            ids = _sparse_page(session, filters, me_id, sort, offset, page_size + 1)
    if ids is not None:
        found = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(ids))).unique()}
        rows = [found[i] for i in ids if i in found]
    else:
        # Index-ordered and LIMITed: the cost is the rows shown plus those skipped, never the table.
        rows = list(session.scalars(base.order_by(*_order(sort)).offset(offset).limit(page_size + 1)).unique())
    return Page(
        incidents=rows[:page_size],
        total=total,
        page=page,
        page_size=page_size,
        more=len(rows) > page_size,
        total_at_least=at_least,
    )


def count_by_status(*, session: Session, filters: Filters, me_id: int | None) -> Counts:
    """How many incidents are in each status, under every filter except status.

    Without free text: one round trip, each count an index range that stops at COUNT_CAP + 1.
    With free text: the text predicate is evaluated once, over the first COUNT_CAP + 1 matches;
    when there are more, the counts are lower bounds (`at_least`) instead of five more scans of
    the full-text index."""
    others = filters.without_status()
    statuses = [status.value for status in Status]
    counts = Counts({status: 0 for status in statuses})
    if others.text:
        walked = _walk_counts(session, others, me_id) if _walks(session, others) else None
        if walked is not None:
            rows, counts.at_least = walked
        else:
            sample = apply_filters(session, select(Incident.status), others, me_id).limit(COUNT_CAP + 1).subquery()
            rows = session.execute(select(sample.c.status, func.count()).group_by(sample.c.status)).all()
            counts.at_least = sum(count for _, count in rows) > COUNT_CAP
        for status, count in rows:
            counts[status] = count
        return counts
    columns = [_capped_count(session, replace(others, statuses=(status,)), me_id).label(status) for status in statuses]
    row = session.execute(select(*columns)).one()
    for index, status in enumerate(statuses):
        counts[status] = int(row[index] or 0)
    return counts


def with_typo_fallback(*, session: Session, filters: Filters, me_id: int | None) -> tuple[Filters, dict[str, int]]:
    """The status counters, and the filters to page with: when the free text matches nothing as
    words, the same text matched by similarity instead (typo tolerance: trigrams on PostgreSQL,
    one-edit patterns on SQLite). The
    common case evaluates the text once (in the counters); only a miss pays for the trigram scan."""
    counts = count_by_status(session=session, filters=filters, me_id=me_id)
    if filters.text and not filters.typo_tolerant and not any(counts.values()):
        filters = replace(filters, typo_tolerant=True)
        counts = count_by_status(session=session, filters=filters, me_id=me_id)
    return filters, counts


def latest_change(*, session: Session) -> str:
    """A marker that changes whenever any incident is created, changed, commented on or given a
    follow-up or a file: the newest activity_at (every change moves it, and with `sort:recent` a
    comment reorders the page) and the highest id. Two index endpoint reads
    (ix_incidents_activity_sort and the primary key), so the live dashboard's polls cost the same
    at a million incidents as at ten."""
    newest, highest = session.execute(select(func.max(Incident.activity_at), func.max(Incident.id))).one()
    stamp = newest.strftime("%Y%m%dT%H%M%S%f") if newest else "0"
    return f"{stamp}-{highest or 0}"


# (database, change marker) -> components: the last answer of `distinct_components` per
# process, reused while no incident has changed (a thread-safe swap of one tuple).
_components_memo: tuple[tuple[str, str], list[str]] | None = None


def distinct_components(*, session: Session, change_marker: str | None = None) -> list[str]:
    """Components in use, for the filter dropdown.

    A loose index scan: each step jumps to the next component in ix_incidents_component_sort,
    so the cost is the number of components (~200), not the number of incidents. Given the
    request's `change_marker` (`latest_change`), the list is reused until an incident changes:
    the dashboard then skips those ~200 index probes on most requests."""
    global _components_memo
    memo_key = (str(session.get_bind().engine.url), change_marker or "")
    if change_marker and _components_memo is not None and _components_memo[0] == memo_key:
        return list(_components_memo[1])
    table = Incident.__table__
    first = select(func.min(table.c.component).label("component")).scalar_subquery()
    walk = select(first.label("component")).cte("components", recursive=True)
    following = select(func.min(table.c.component)).where(table.c.component > walk.c.component).scalar_subquery()
    walk = walk.union_all(select(following.label("component")).where(walk.c.component.is_not(None)))
    components = [c for c in session.scalars(select(walk.c.component)) if c]
    if change_marker:
        _components_memo = (memo_key, components)
    return list(components)


# Where a search matched, for the rows shown (README "Search"): a row whose title lacks some of
# the words says in which field it found them, with a short excerpt. Worked out from the page's
# own rows in Python (the words as each backend matches them: substrings on SQLite, words and
# their prefixes on PostgreSQL, whose stemming this reads loosely) and one query for the page's
# comments, so it costs the same at a million incidents as at ten.
HINT_EXCERPT = 120
# Of the excerpt, how much comes before the first matched word.
_HINT_LEAD = 40
# PostgreSQL's english configuration drops these (no document holds them): the title never lacks one.
_STOP_WORD_TEXT = (
    "a an and are as at be but by for from has have he her his i if in into is it its no not of on or"
    " our she so such that the their then there these they this to was we were will with you your"
)
_STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())
# The vectors read these as spaces (migration 0018), as the box splits words at them.
_HINT_SEPARATORS = str.maketrans("<>-./@", "      ")
_ENDINGS = ("ing", "ed", "es", "s")


@dataclass(frozen=True)
class MatchHint:
    """Where a row matched: `place` ("description", "comment", "block reason", "resolution
    summary", "component"), the comment's author, and the excerpt as (text, matched) parts."""

    place: str
    excerpt: tuple[tuple[str, bool], ...]
    author: str | None = None

    @property
    def where(self) -> str:
        if self.place == "comment":
            return f"in a comment by {self.author}" if self.author else "in a comment"
        return f"in the {self.place}"


def _hint_pattern(word: str, postgres: bool) -> re.Pattern[str]:
    """Where `word` is found in a text: anywhere (SQLite's LIKE), or at the start of a word, its
    English ending left off (a near enough reading of PostgreSQL's stemmed prefix matching)."""
    if not postgres:
        return re.compile(re.escape(word), re.IGNORECASE)
    stem = word
    for ending in _ENDINGS:
        if len(word) - len(ending) >= TYPO_MIN_LENGTH and word.endswith(ending):
            stem = word[: -len(ending)]
            break
    return re.compile(r"(?<![^\W_])" + re.escape(stem) + r"\w*", re.IGNORECASE)


def _found(patterns: list[re.Pattern[str]], text: str | None) -> bool:
    cleaned = (text or "").translate(_HINT_SEPARATORS)
    return any(pattern.search(cleaned) for pattern in patterns)


def _excerpt(text: str, patterns: list[re.Pattern[str]], first: list[re.Pattern[str]]) -> tuple[tuple[str, bool], ...]:
    """At most HINT_EXCERPT characters of `text` (whitespace collapsed) around the first match of
    `first`, each match of `patterns` marked."""
    collapsed = " ".join(text.split())
    cleaned = collapsed.translate(_HINT_SEPARATORS)
    spans = sorted({m.span() for pattern in patterns for m in pattern.finditer(cleaned) if m.end() > m.start()})
    starts = [m.start() for pattern in first if (m := pattern.search(cleaned))]
    at = min(starts) if starts else 0
    start = max(0, at - _HINT_LEAD)
    end = min(len(collapsed), start + HINT_EXCERPT)
    start = max(0, min(start, end - HINT_EXCERPT))
    if start > 0 and (space := collapsed.find(" ", start, at)) != -1:
        start = space + 1  # not in the middle of a word
    if end < len(collapsed) and (space := collapsed.rfind(" ", at, end)) > at:
        end = space
    parts: list[tuple[str, bool]] = [("\u2026", False)] if start > 0 else []
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, position), min(span_end, end)
        if span_start >= span_end:
            continue
        if span_start > position:
            parts.append((collapsed[position:span_start], False))
        parts.append((collapsed[span_start:span_end], True))
        position = span_end
    if position < end:
        parts.append((collapsed[position:end], False))
    if end < len(collapsed):
        parts.append(("\u2026", False))
    return tuple(parts)


def _newest_matching_comments(
    session: Session, incident_ids: list[int], words: list[str], last: str, postgres: bool
) -> dict[int, tuple[str, str | None]]:
    """Per incident, its newest unredacted comment holding one of `words` (body, author's name):
    one query, reading the page's incidents' comments by incident id."""
    if postgres:
        # The comments' own vectors, as the search reads them (the `last` word typed a prefix).
        said = or_(
            *(
                and_(func.numnode(query) > 0, literal_column("incident_comments.search_vector").op("@@")(query))
                for query in (_to_tsquery(word + ":*" if word == last else word) for word in words)
            )
        )
    else:
        said = or_(*(Comment.body.ilike(f"%{word}%") for word in words))
    ranked = (
        select(
            Comment.incident_id,
            Comment.body,
            Comment.author_id,
            func.row_number()
            .over(partition_by=Comment.incident_id, order_by=(Comment.created_at.desc(), Comment.id.desc()))
            .label("newest"),
        )
        .where(Comment.incident_id.in_(incident_ids), Comment.redacted_at.is_(None), said)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.incident_id, ranked.c.body, User.name)
        .join(User, User.id == ranked.c.author_id)
        .where(ranked.c.newest == 1)
    ).all()
    return {incident_id: (body, name) for incident_id, body, name in rows}


def match_hints(*, session: Session, filters: Filters, incidents: list[Incident]) -> dict[int, MatchHint]:
    """For the rows shown (`incidents`, a page): where each one whose title lacks some of the
    search's words matched them, by incident id. In order: the description, its comments
    (newest first; a redacted one never), the block reason, the resolution summary, the
    component. No hint for a key lookup or a search forgiving typos (what matched were other
    spellings); at most one query, for the page's comments."""
    if not incidents or filters.typo_tolerant or _KEY_RE.match(filters.text):
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    words = list(dict.fromkeys(_WORD_RE.findall(filters.text.lower())[:MAX_TEXT_WORDS]))
    if postgres:
        words = [word for word in words if word not in _STOP_WORDS]
    if not words:
        return {}
    patterns = {word: _hint_pattern(word, postgres) for word in words}
    every = list(patterns.values())
    lacking: dict[int, list[str]] = {}
    for incident in incidents:
        if missing_words := [word for word in words if not _found([patterns[word]], incident.title)]:
            lacking[incident.id] = missing_words
    needs_comments = [
        i.id for i in incidents if i.id in lacking and not _found([patterns[w] for w in lacking[i.id]], i.description)
    ]
    # The words some title lacks: a comment holding only the title's words says nothing new.
    sought = list(dict.fromkeys(word for i in needs_comments for word in lacking[i]))
    last = _WORD_RE.findall(filters.text.lower())[:MAX_TEXT_WORDS][-1]
    comments = _newest_matching_comments(session, needs_comments, sought, last, postgres) if needs_comments else {}
    hints: dict[int, MatchHint] = {}
    for incident in incidents:
        if incident.id not in lacking:
            continue
        missing = [patterns[word] for word in lacking[incident.id]]
        comment = comments.get(incident.id)
        places: list[tuple[str, str | None, str | None]] = [
            ("description", incident.description, None),
            ("comment", comment[0] if comment else None, comment[1] if comment else None),
            ("block reason", incident.blocked_reason, None),
            ("resolution summary", incident.resolution_summary, None),
            ("component", incident.component, None),
        ]
        for place, text, author in places:
            # The comment was found by the database's own matching; the fields by the patterns.
            if text and (place == "comment" or _found(missing, text)):
                hints[incident.id] = MatchHint(place=place, excerpt=_excerpt(text, every, missing), author=author)
                break
    return hints
