"""Three-way merge of a stale edit: what the form was drawn from (base), what the person
submitted (mine) and what is stored now (current). Pure: no session, no Flask."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

EDITABLE_FIELDS = ("title", "description", "component", "environment", "due_date")


def form_value(value: object) -> str:
    """A stored field as the edit form shows it: a date as YYYY-MM-DD (what a date input
    submits), nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fingerprint(value: str | None) -> str:
    """A short digest of a field's value. The edit form carries one per field instead of a
    second copy of a description that may run to 50,000 characters. Line endings are
    normalised: a browser submits a textarea's newlines as CRLF whatever was stored."""
    normalised = (value or "").replace("\r\n", "\n")
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


@dataclass
class Merged:
    values: dict[str, str]  # what the form should show now
    theirs: dict[str, str] = field(default_factory=dict)  # both changed: the stored value, to show beside


def merge_stale_edit(*, base: dict[str, str], mine: dict[str, str], current: dict[str, str]) -> Merged:
    """Fields this person left alone take the current value; fields they changed keep theirs,
    and where someone else changed the same field differently, that value is returned too.
    A field without a base fingerprint counts as changed by both (nothing is silently lost)."""
    merged = Merged(values={})
    for name in EDITABLE_FIELDS:
        was, typed, now = base.get(name), mine.get(name, ""), current.get(name, "")
        i_changed = was is None or fingerprint(typed) != was
        they_changed = was is None or fingerprint(now) != was
        if not i_changed:
            merged.values[name] = now
            continue
        merged.values[name] = typed
        if they_changed and fingerprint(typed) != fingerprint(now):
            merged.theirs[name] = now
    return merged
