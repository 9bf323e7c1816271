"""Two people changing the same incident: one wins, the other gets a conflict, never a silent overwrite."""

from __future__ import annotations

import threading

import pytest

from shared.errors import Conflict
from shared.incidents import service as incidents
from shared.incidents.models import Incident

# Each change a person can make from the incident page, as (name, call(session, incident, users)).
CHANGES = {
    "transition": lambda s, i, u, **kw: incidents.transition(
        session=s, incident_id=i.id, actor=u["lead"], to="in_progress", **kw
    ),
    "assign": lambda s, i, u, **kw: incidents.assign(
        session=s, incident_id=i.id, actor=u["lead"], owner_id=u["other"].id, **kw
    ),
    "change_priority": lambda s, i, u, **kw: incidents.change_priority(
        session=s, incident_id=i.id, actor=u["lead"], priority="P1", **kw
    ),
    "update_details": lambda s, i, u, **kw: incidents.update_details(
        session=s,
        incident_id=i.id,
        actor=u["lead"],
        title="Writer CPU pinned",
        description="Edited",
        component="rds",
        environment="prod",
        **kw,
    ),
}


def state(session, incident_id: int) -> tuple:
    session.expire_all()
    row = session.get(Incident, incident_id)
    return (row.status, row.owner_id, row.priority, row.title, row.version)


@pytest.mark.parametrize("change", CHANGES)
def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(db, users, make_incident, counts, change):
    incident = make_incident("open")
    before, rows_before = state(db, incident.id), counts()
    with pytest.raises(Conflict) as refused:
        CHANGES[change](db, incident, users, expected_version=incident.version - 1)
    assert "changed by someone else" in str(refused.value)
    assert incident.key in str(refused.value)
    db.rollback()
    assert state(db, incident.id) == before
    assert counts() == rows_before


@pytest.mark.parametrize("change", CHANGES)
def test_the_current_expected_version_goes_through(db, users, make_incident, session_factory, change):
    incident = make_incident("open")
    before = state(db, incident.id)
    CHANGES[change](db, incident, users, expected_version=before[-1])
    db.commit()
    # Read back through another session: what a second person opening the incident would see.
    with session_factory() as reader:
        after = state(reader, incident.id)
    assert after[-1] == before[-1] + 1, "a saved change moves the version on"
    assert after[:-1] != before[:-1], f"{change} with the current version changed nothing"


@pytest.mark.parametrize(
    ("first", "second"), [("transition", "transition"), ("assign", "assign"), ("assign", "transition")]
)
def test_two_sessions_that_read_the_same_version_one_wins(
    db, users, make_incident, session_factory, counts, first, second
):
    incident = make_incident("open")
    with session_factory() as alice, session_factory() as bob:
        # Both open the incident page before either saves.
        alice_view = incidents.get_incident(session=alice, ref=incident.id)
        bob_view = incidents.get_incident(session=bob, ref=incident.id)
        assert alice_view.version == bob_view.version

        CHANGES[first](alice, alice_view, users)
        alice.commit()
        after_alice, rows_after_alice = state(db, incident.id), counts()

        def bob_saves_what_he_read():
            CHANGES[second](bob, bob_view, users)
            bob.commit()

        with pytest.raises(Conflict, match="changed by someone else"):
            bob_saves_what_he_read()
        bob.rollback()

    assert state(db, incident.id) == after_alice
    assert counts() == rows_after_alice


@pytest.mark.postgres_only
def test_simultaneous_writers_on_postgresql_one_waits_then_gets_a_conflict(db, users, make_incident, session_factory):
    """Bob's UPDATE blocks on Alice's row lock; when she commits it matches no row: Conflict, not overwrite."""
    incident = make_incident("open")
    version_read = incident.version
    outcome: dict[str, object] = {}
    bob_loaded = threading.Event()

    def bob_works() -> None:
        with session_factory() as bob:
            view = incidents.get_incident(session=bob, ref=incident.id)
            bob_loaded.set()
            try:
                incidents.assign(session=bob, incident_id=view.id, actor=users["lead"], owner_id=users["admin"].id)
                bob.commit()
                outcome["bob"] = "committed"
            except Conflict as error:
                bob.rollback()
                outcome["bob"] = error

    with session_factory() as alice:
        view = incidents.get_incident(session=alice, ref=incident.id)
        incidents.assign(session=alice, incident_id=view.id, actor=users["lead"], owner_id=users["other"].id)
        # Alice's UPDATE holds the row; Bob, who read the same version, now tries to write.
        bob = threading.Thread(target=bob_works)
        bob.start()
        assert bob_loaded.wait(10)
        bob.join(0.5)
        assert bob.is_alive(), "Bob's write should wait for Alice's transaction"
        alice.commit()
        bob.join(10)
    assert not bob.is_alive()
    assert isinstance(outcome["bob"], Conflict)
    db.expire_all()
    saved = db.get(Incident, incident.id)
    assert saved.owner_id == users["other"].id
    assert saved.version == version_read + 1


def test_a_comment_in_between_does_not_make_a_conflict(db, users, make_incident, session_factory):
    incident = make_incident("open")
    with session_factory() as other:
        incidents.add_comment(session=other, incident_id=incident.id, actor=users["other"], body="Seeing it too")
        other.commit()
    moved = incidents.transition(
        session=db, incident_id=incident.id, actor=users["member"], to="in_progress", expected_version=incident.version
    )
    db.commit()
    assert moved.status == "in_progress"
