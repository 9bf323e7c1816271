"""The three-way merge behind a stale edit (shared/incidents/merge.py): pure, no database."""

from __future__ import annotations

import pytest

from shared.incidents.merge import EDITABLE_FIELDS, fingerprint, merge_stale_edit

BASE = {"title": "Disk full", "description": "On db-1.", "component": "rds", "environment": "prod", "due_date": ""}


def _merge(mine: dict, current: dict, base: dict | None = None):
    prints = {name: fingerprint(value) for name, value in (base or BASE).items()}
    return merge_stale_edit(base=prints, mine={**BASE, **mine}, current={**BASE, **current})


@pytest.mark.parametrize(
    ("mine", "current", "shown", "theirs"),
    [
        ({}, {"title": "Theirs"}, {"title": "Theirs"}, {}),  # only they changed it
        ({"title": "Mine"}, {}, {"title": "Mine"}, {}),  # only I did
        ({"title": "Mine"}, {"title": "Theirs"}, {"title": "Mine"}, {"title": "Theirs"}),  # both
        ({"title": "Same"}, {"title": "Same"}, {"title": "Same"}, {}),  # both, alike: nothing to show
        ({"title": "Mine"}, {"description": "Theirs."}, {"title": "Mine", "description": "Theirs."}, {}),
    ],
)
def test_each_field_takes_the_right_side(mine, current, shown, theirs):
    merged = _merge(mine, current)
    assert merged.values == {**BASE, **shown}
    assert merged.theirs == theirs


def test_line_endings_do_not_count_as_a_change():
    merged = _merge(
        {"description": "Line one\r\nline two"},
        {"description": "Theirs."},
        {**BASE, "description": "Line one\nline two"},
    )
    assert merged.values["description"] == "Theirs."
    assert merged.theirs == {}


def test_a_field_without_a_base_is_never_silently_overwritten():
    merged = merge_stale_edit(base={}, mine={**BASE, "title": "Mine"}, current={**BASE, "title": "Theirs"})
    assert merged.values["title"] == "Mine"
    assert merged.theirs == {"title": "Theirs"}
    assert set(merged.values) == set(EDITABLE_FIELDS)
