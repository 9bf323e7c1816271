"""A reopen is called a reopen: the sentence for a status move back from Resolved or Closed says
"reopened" and what it was, as the form's "Reopen" button does, on the incident page and in the
audit log; any other move still reads "changed status from … to …"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.audit import sentences
from shared.events import EventType
from shared.incidents.lifecycle import is_reopen

STATUS_CHANGED = sentences.PRESENTERS[EventType.INCIDENT_STATUS_CHANGED]
ON_THE_PAGE = sentences.Names()  # the incident's own timeline: "the incident"
IN_THE_AUDIT_LOG = sentences.Names(entity="INC-7")


@pytest.mark.parametrize("was", ["resolved", "closed"])
def test_a_move_back_to_work_from_resolved_or_closed_reads_as_a_reopen(was):
    data = {"from": was, "to": "in_progress", "reason": "CI uploads failing again"}
    label = was.capitalize()
    assert STATUS_CHANGED(data, ON_THE_PAGE) == (
        f"reopened the incident (was {label})",
        "CI uploads failing again",
    )
    assert STATUS_CHANGED(data, IN_THE_AUDIT_LOG) == (f"reopened INC-7 (was {label})", "CI uploads failing again")


@pytest.mark.parametrize(
    ("was", "to", "words"),
    [
        ("in_progress", "resolved", "changed status from In Progress to Resolved"),
        ("resolved", "closed", "changed status from Resolved to Closed"),
        ("blocked", "in_progress", "changed status from Blocked to In Progress"),
        ("open", "closed", "changed status from Open to Closed"),
        ("retired", "in_progress", "changed status from retired to In Progress"),  # an old event's unknown status
    ],
)
def test_other_moves_still_say_from_and_to(was, to, words):
    assert STATUS_CHANGED({"from": was, "to": to}, ON_THE_PAGE) == (words, None)


def test_the_audit_log_sentence_names_who_reopened_what_and_why():
    event = SimpleNamespace(
        action=EventType.INCIDENT_STATUS_CHANGED.value,
        data={"from": "resolved", "to": "in_progress", "reason": "CI uploads failing again"},
        entity_type="incident",
        entity_id=7,
        incident_key="INC-7",
        actor_id=2,
        actor=SimpleNamespace(name="Lee Lead"),
    )
    described = sentences.describe(event, sentences.People())
    assert described.sentence == "Lee Lead reopened INC-7 (was Resolved): “CI uploads failing again”"


@pytest.mark.parametrize(
    ("was", "to", "reopens"),
    [
        ("resolved", "in_progress", True),
        ("closed", "in_progress", True),
        ("blocked", "in_progress", False),  # unblocked, not reopened
        ("resolved", "closed", False),
        ("resolved", "open", False),  # no such move
        (None, "in_progress", False),
    ],
)
def test_the_lifecycle_knows_which_moves_are_reopens(was, to, reopens):
    assert is_reopen(was, to) is reopens
