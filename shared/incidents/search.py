"""Dashboard search: qualifiers in the search box plus free text, filters, sorting, paging.

`status:open priority:p1 owner:me component:rds env:prod disk full` — values may be
comma-separated (`status:open,blocked`). PostgreSQL uses the weighted full-text vector and
trigram indexes (see the migration); SQLite falls back to LIKE over the same fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import Select, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.incidents.lifecycle import Status, parse_status
from shared.incidents.models import ENVIRONMENTS, Incident, Priority

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
}
SORTS = ("priority", "recent", "oldest")
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_KEY_RE = re.compile(r"^\s*inc-\d+\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Filters:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    owner: str = ""  # "me", "none", a user id, or an email / its local part
    components: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    text: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)
    # Match the text by similarity (typos) rather than as words: set by `with_typo_fallback`
    # when the words match nothing.
    typo_tolerant: bool = False

    def without_status(self) -> Filters:
        return replace(self, statuses=())

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """Filters from request parameters — status, priority, owner, component, env (values
        comma-separated) and the search box `q` — built directly, not re-parsed as qualifier text."""
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
        )
        return parse_query(params.get("q") or "", base=base)


def _split(value: str) -> list[str]:
    return [v for v in (part.strip() for part in value.split(",")) if v]


def parse_query(query: str, base: Filters | None = None) -> Filters:
    """Read qualifiers and free text from the search box, on top of the dropdown filters."""
    base = base or Filters()
    values: dict[str, list[str]] = {
        "statuses": list(base.statuses),
        "priorities": list(base.priorities),
        "components": list(base.components),
        "environments": list(base.environments),
    }
    owner = base.owner
    words: list[str] = []
    problems: list[str] = list(base.problems)
    for token in (query or "").split():
        name, sep, value = token.partition(":")
        target = QUALIFIERS.get(name.lower()) if sep else None
        if target is None:
            words.append(token)
            continue
        if not value:
            problems.append(f"'{name}:' needs a value, e.g. {name}:{_example(target)}.")
            continue
        if target == "owner":
            owner = value.lower()
            continue
        for item in _split(value):
            normalised = _normalise(target, item, problems)
            if normalised and normalised not in values[target]:
                values[target].append(normalised)
    return Filters(
        statuses=tuple(values["statuses"]),
        priorities=tuple(values["priorities"]),
        owner=owner,
        components=tuple(values["components"]),
        environments=tuple(values["environments"]),
        text=" ".join(words + ([base.text] if base.text else [])).strip(),
        problems=tuple(problems),
    )


def _example(target: str) -> str:
    return {
        "statuses": "open",
        "priorities": "p1",
        "owner": "me",
        "components": "rds",
        "environments": "prod",
    }[target]


def _normalise(target: str, item: str, problems: list[str]) -> str | None:
    if target == "statuses":
        try:
            return parse_status(item).value
        except ValueError as error:
            problems.append(str(error).capitalize() + ".")
            return None
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


def _owner_clause(session: Session, owner: str, me_id: int | None):
    if owner == "me":
        return Incident.owner_id == me_id
    if owner in ("none", "nobody", "unassigned"):
        return Incident.owner_id.is_(None)
    if owner.isdigit():
        return Incident.owner_id == int(owner)
    pattern = owner if "@" in owner else f"{owner}@%"
    return Incident.owner_id.in_(select(User.id).where(User.email.like(pattern)))


def _tsquery(words: list[str]) -> str:
    # Prefix-match the last word so results follow the user as they type.
    return " & ".join(words[:-1] + [words[-1] + ":*"])


def _full_text(text: str, vector, key):
    """The words as a prefix full-text query on `vector`, or a key prefix on `key`."""
    words = _WORD_RE.findall(text.lower())
    tsquery = func.to_tsquery(literal_column("'english'::regconfig"), _tsquery(words))
    return or_(vector.op("@@")(tsquery), key.ilike(text.strip() + "%"))


def _text_clause(session: Session, text: str, typo_tolerant: bool = False):
    words = _WORD_RE.findall(text.lower())
    if not words:
        return None
    if _KEY_RE.match(text):
        # A key ("INC-4", "inc-1" while typing "INC-12") is a key lookup on both backends;
        # as words, "inc" and "1" would match nearly every incident on SQLite.
        return Incident.key.ilike(text.strip() + "%")
    if session.get_bind().dialect.name == "postgresql":
        if not typo_tolerant:
            # Full text alone: OR-ing the trigram scan in as well made common phrases
            # ("certificate expired") re-check tens of thousands of titles on every request.
            return _full_text(text, literal_column("incidents.search_vector"), Incident.key)
        # Nothing matched the words as words: probably a typo. Trigram word similarity
        # (text <% title) forgives a typo in one word of a long title, where plain similarity
        # (%) compares against the whole title and misses.
        return or_(Incident.title.op("%>")(text), Incident.key.ilike(text.strip() + "%"))
    clauses = []
    for word in words:
        like = f"%{word}%"
        clauses.append(
            or_(
                Incident.title.ilike(like),
                Incident.description.ilike(like),
                Incident.component.ilike(like),
                Incident.key.ilike(like),
            )
        )
    return and_(*clauses)


def apply_filters(session: Session, statement: Select, filters: Filters, me_id: int | None) -> Select:
    if filters.statuses:
        statement = statement.where(Incident.status.in_(filters.statuses))
    if filters.priorities:
        statement = statement.where(Incident.priority.in_(filters.priorities))
    if filters.owner:
        statement = statement.where(_owner_clause(session, filters.owner, me_id))
    if filters.components:
        statement = statement.where(Incident.component.in_(filters.components))
    if filters.environments:
        statement = statement.where(Incident.environment.in_(filters.environments))
    text_clause = _text_clause(session, filters.text, filters.typo_tolerant)
    if text_clause is not None:
        statement = statement.where(text_clause)
    return statement


def _order(sort: str, columns=Incident):
    """ORDER BY for a sort, on the incidents table or on a subquery's columns of the same names."""
    if sort == "recent":
        return (columns.updated_at.desc(), columns.id.desc())
    if sort == "oldest":
        return (columns.updated_at.asc(), columns.id.asc())
    # Priority: P1 first; within a priority, what moved most recently first.
    return (columns.priority.asc(), columns.updated_at.desc(), columns.id.desc())


# Counts stop here: past it the dashboard says "1,000+" (as GitHub does) instead of counting
# every match, so no request does work that grows with the table.
COUNT_CAP = 1000


class Counts(dict):
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


def _walks(session: Session, filters: Filters) -> bool:
    return (
        bool(_WORD_RE.search(filters.text))
        and not filters.typo_tolerant
        and not _KEY_RE.match(filters.text)
        and session.get_bind().dialect.name == "postgresql"
    )


def _candidates(session: Session, filters: Filters, me_id: int | None, columns: list, budget: int, sort=None):
    """The rows the filters other than the text allow, at most `budget` of them (a subquery)."""
    vector = literal_column("incidents.search_vector").label("search_vector")
    statement = apply_filters(session, select(*columns, Incident.key, vector), replace(filters, text=""), me_id)
    if sort is not None:
        statement = statement.order_by(*_order(sort))
    return statement.limit(budget).subquery()


def _walk_exhausted(session: Session, filters: Filters, me_id: int | None, budget: int) -> bool:
    """Did the walk see every row the other filters allow (fewer than its budget exist)?"""
    allowed = apply_filters(session, select(Incident.id), replace(filters, text=""), me_id).limit(budget).subquery()
    return (session.scalar(select(func.count()).select_from(allowed)) or 0) < budget


def _walk_page(session: Session, filters: Filters, me_id: int | None, sort: str, offset: int, limit: int):
    """Ids of the page, by walking the allowed rows in sort order; None if the budget ran out."""
    columns = [Incident.id, Incident.priority, Incident.updated_at]
    walk = _candidates(session, filters, me_id, columns, PAGE_WALK, sort)
    matched = (
        select(walk.c.id)
        .where(_full_text(filters.text, walk.c.search_vector, walk.c.key))
        .order_by(*_order(sort, walk.c))
        .offset(offset)
        .limit(limit)
    )
    ids = list(session.scalars(matched))
    if len(ids) == limit or _walk_exhausted(session, filters, me_id, PAGE_WALK):
        return ids
    return None


def _walk_counts(session: Session, filters: Filters, me_id: int | None):
    """(status, count) rows of the first COUNT_CAP + 1 matches among a bounded walk, and whether
    they are lower bounds; None if the walk ran out of budget before it could tell."""
    walk = _candidates(session, filters, me_id, [Incident.status], COUNT_WALK)
    sample = (
        select(walk.c.status)
        .where(_full_text(filters.text, walk.c.search_vector, walk.c.key))
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    rows = session.execute(select(sample.c.status, func.count()).group_by(sample.c.status)).all()
    if sum(count for _, count in rows) > COUNT_CAP:
        return rows, True
    if _walk_exhausted(session, filters, me_id, COUNT_WALK):
        return rows, False
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
    wanted = filters.statuses or tuple(counts)
    total = min(sum(counts[s] for s in wanted if s in counts), COUNT_CAP + 1)
    at_least = getattr(counts, "at_least", False)
    offset = (page - 1) * page_size
    ids = _walk_page(session, filters, me_id, sort, offset, page_size + 1) if _walks(session, filters) else None
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
    counts = Counts.fromkeys(statuses, 0)
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
    words on PostgreSQL, the same text matched by similarity instead (typo tolerance). The
    common case evaluates the text once (in the counters); only a miss pays for the trigram scan."""
    counts = count_by_status(session=session, filters=filters, me_id=me_id)
    if (
        filters.text
        and not filters.typo_tolerant
        and not any(counts.values())
        and session.get_bind().dialect.name == "postgresql"
    ):
        filters = replace(filters, typo_tolerant=True)
        counts = count_by_status(session=session, filters=filters, me_id=me_id)
    return filters, counts


def distinct_components(*, session: Session) -> list[str]:
    """Components in use, for the filter dropdown.

    A loose index scan: each step jumps to the next component in ix_incidents_component_sort,
    so the cost is the number of components (~200), not the number of incidents."""
    table = Incident.__table__
    first = select(func.min(table.c.component).label("component")).scalar_subquery()
    walk = select(first.label("component")).cte("components", recursive=True)
    following = select(func.min(table.c.component)).where(table.c.component > walk.c.component).scalar_subquery()
    walk = walk.union_all(select(following.label("component")).where(walk.c.component.is_not(None)))
    return [c for c in session.scalars(select(walk.c.component)) if c]
