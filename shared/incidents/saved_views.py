"""Saved views: a dashboard query kept under a name, for one person or (lead, admin) the team.

A view stores the search box's canonical text only (`status:open priority:p1 disk`): opening
it is opening `/?q=...`, so a view follows every search rule without a copy of them here.

Names: unique among one person's views (the table's constraint, and case-insensitively here),
and unique among team views (everyone's dashboard lists them side by side: two team views
"Mo's P1/P2" could not be told apart). That second rule has no constraint in the table (a
partial unique index on lower(name) would need a migration): it is kept here, under a lock,
after the write (see `_refuse_a_second_team_name`). Your own view may share a team view's name:
the dashboard marks each as yours or the team's, and names the team view's owner.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from shared.accounts.models import User
from shared.db import Base, utcnow
from shared.errors import NotFound, PermissionDenied, ValidationFailed
from shared.incidents.search import canonical_query, parse_query
from shared.permissions import Action, can
from shared.text import one_line, unwanted_message

NAME_MAX = 80
QUERY_MAX = 500
VIEWS_PER_PERSON = 50
# pg_advisory_xact_lock's key for "a team view's name is being checked and written" (beside the
# audit chain's 7_310_042 and the migrations' 7_303_042).
TEAM_NAME_LOCK_ID = 7_310_043


class SavedView(Base):
    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    query: Mapped[str] = mapped_column(String(QUERY_MAX), default="")
    # Seen by everyone on their dashboard; only leads and admins make one.
    team: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A team view says whose it is (found in a lead's review: three "Mo's P1/P2" looked the same).
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])


def save_view(
    *, session: Session, actor: User, name: str, query: str, team: bool = False, replace: bool = False
) -> SavedView:
    """Keep `query` (stored in its canonical form) as a named view of `actor`'s; with `replace`,
    a view of theirs with that name now shows this search instead (a view is refined over time).
    A refusal found after the write (another team view's name) leaves the caller to roll back."""
    if not can(actor, Action.VIEW):
        raise PermissionDenied("You cannot save views.")
    if team and not can(actor, Action.SHARE_VIEW):
        raise PermissionDenied("Only leads and admins can save a view for the whole team.")
    name, problem = _clean_name(name)
    errors = {"name": problem} if problem else {}
    text = canonical_query(parse_query(query or ""))
    if len(text) > QUERY_MAX:
        errors["query"] = f"The search is too long to save (at most {QUERY_MAX} characters)."
    mine = list(session.scalars(select(SavedView).where(SavedView.owner_id == actor.id)))
    same_name = next((view for view in mine if view.name.lower() == name.lower()), None)
    if same_name is not None and replace and same_name.team and not team and not errors:
        # Replacing with "Team view" unticked would take the view from everyone's dashboard
        # without a word (found in QA): un-sharing is a choice of its own (Delete asks first).
        raise ValidationFailed(
            {
                "name": f"“{same_name.name}” is your team view, on everyone's dashboard: tick “Team view” to "
                "replace it for everyone, or choose another name for a view of your own."
            }
        )
    if same_name is not None and replace and not errors:
        newly_shared = team and not same_name.team
        same_name.query, same_name.team = text, team
        session.flush()
        if newly_shared:
            _refuse_a_second_team_name(session, same_name, actor)
        return same_name
    if same_name is not None and "name" not in errors:
        errors["name"] = _name_taken(name, team=same_name.team)
    elif len(mine) >= VIEWS_PER_PERSON and "name" not in errors:
        errors["name"] = f"You have {VIEWS_PER_PERSON} views already: delete one first."
    if errors:
        raise ValidationFailed(errors)
    view = SavedView(owner_id=actor.id, name=name, query=text, team=team)
    try:
        # Two tabs (or a script) saving the same name at once: the unique (owner, name) index
        # decides, and the second is told as if it had come second (it was a 500, found by QA).
        with session.begin_nested():
            session.add(view)
            session.flush()
    except IntegrityError:
        raise ValidationFailed({"name": _name_taken(name)}) from None
    if team:
        _refuse_a_second_team_name(session, view, actor)
    return view


def _name_taken(name: str, *, team: bool = False) -> str:
    what = "a team view" if team else "a view"
    return (
        f"You already have {what} named “{name}”: choose another name, or tick "
        "“Replace my view of that name” to save this search under it."
    )


def _clean_name(name: str) -> tuple[str, str | None]:
    """The name as kept (one line, single spaces) and what is wrong with it, if anything."""
    name = " ".join(one_line(name or "").split())
    unwanted = unwanted_message(name, "view name")
    if unwanted:
        return name, unwanted
    if not name:
        return name, "Give the view a name."
    if len(name) > NAME_MAX:
        return name, f"A view's name has at most {NAME_MAX} characters."
    return name, None


def _refuse_a_second_team_name(session: Session, view: SavedView, actor: User) -> None:
    """Raise if another team view has `view`'s name (in any case), naming whose it is.

    Called after `view` is written (flushed), within the same transaction, so that two people
    saving "P1s" for the team at once cannot both pass: on PostgreSQL the advisory lock makes
    the second wait for the first to commit, and its check (READ COMMITTED reads anew each
    statement) then sees the first's view; on SQLite the write already holds the database's one
    write lock until COMMIT, so the other's write waits and its check runs after."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:id)"), {"id": TEAM_NAME_LOCK_ID})
    others = session.scalars(
        select(SavedView).where(SavedView.team.is_(True), SavedView.id != view.id).options(joinedload(SavedView.owner))
    )
    taken = next((other for other in others if other.name.lower() == view.name.lower()), None)
    if taken is None:
        return
    whose = "yours" if taken.owner_id == actor.id else f"made by {taken.owner.name}"
    raise ValidationFailed(
        {
            "name": f"There is a team view named “{taken.name}” already ({whose}): "
            "choose another name, so that everyone can tell the two apart."
        }
    )


def list_views(*, session: Session, actor: User) -> list[SavedView]:
    """`actor`'s own views and the team's, team views first, each group by name (with owners)."""
    statement = (
        select(SavedView)
        .where(or_(SavedView.owner_id == actor.id, SavedView.team.is_(True)))
        .options(joinedload(SavedView.owner))
        .order_by(SavedView.team.desc(), SavedView.name)
    )
    return list(session.scalars(statement))


def can_delete(actor: User, view: SavedView) -> bool:
    """Delete or rename: your own views; a team view also by an admin (someone must be able to
    tidy the list)."""
    return view.owner_id == actor.id or (view.team and can(actor, Action.MANAGE_USERS))


def changeable(*, session: Session, actor: User, view_id: int) -> SavedView:
    """The view `actor` may delete or rename (what Delete asks about first), else NotFound
    (another person's own view is not even there for them) or PermissionDenied."""
    view = session.get(SavedView, view_id)
    if view is None or not (view.owner_id == actor.id or view.team):
        raise NotFound("No such view.")
    if not can_delete(actor, view):
        # Only a team view gets here (another person's own view is not found): its maker and admins.
        raise PermissionDenied(
            f"Only {view.owner.name}, who made the team view “{view.name}”, or an admin can change it."
        )
    return view


def delete_view(*, session: Session, actor: User, view_id: int) -> SavedView:
    """Delete one of `actor`'s views (admins: any team view too)."""
    view = changeable(session=session, actor=actor, view_id=view_id)
    session.delete(view)
    session.flush()
    return view


def rename_view(*, session: Session, actor: User, view_id: int, name: str) -> tuple[SavedView, str]:
    """Give a view a new name (its owner; an admin for a team view), under the rules of saving
    one; returns the view and the name it had. A refusal found after the write (another team
    view's name) leaves the caller to roll back."""
    view = changeable(session=session, actor=actor, view_id=view_id)
    name, problem = _clean_name(name)
    if problem:
        raise ValidationFailed({"name": problem})
    old_name = view.name
    owners = session.scalars(select(SavedView).where(SavedView.owner_id == view.owner_id, SavedView.id != view.id))
    clash = next((other for other in owners if other.name.lower() == name.lower()), None)
    if clash is not None:
        whose = "You already have" if view.owner_id == actor.id else f"{view.owner.name} already has"
        raise ValidationFailed({"name": f"{whose} a view named “{clash.name}”: choose another name."})
    view.name = name
    session.flush()
    if view.team and name.lower() != old_name.lower():
        _refuse_a_second_team_name(session, view, actor)
    return view, old_name
