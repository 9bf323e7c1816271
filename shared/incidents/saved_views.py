"""Saved views: a dashboard query kept under a name, for one person or (lead, admin) the team.

A view stores the search box's canonical text only (`status:open priority:p1 disk`): opening
it is opening `/?q=...`, so a view follows every search rule without a copy of them here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.accounts.models import User
from shared.db import Base, utcnow
from shared.errors import NotFound, PermissionDenied, ValidationFailed
from shared.incidents.search import canonical_query, parse_query
from shared.permissions import Action, can
from shared.text import one_line, unwanted_message

NAME_MAX = 80
QUERY_MAX = 500
VIEWS_PER_PERSON = 50


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


def save_view(
    *, session: Session, actor: User, name: str, query: str, team: bool = False, replace: bool = False
) -> SavedView:
    """Keep `query` (stored in its canonical form) as a named view of `actor`'s; with `replace`,
    a view of theirs with that name now shows this search instead (a view is refined over time)."""
    if not can(actor, Action.VIEW):
        raise PermissionDenied("You cannot save views.")
    if team and not can(actor, Action.SHARE_VIEW):
        raise PermissionDenied("Only leads and admins can save a view for the whole team.")
    name = " ".join(one_line(name or "").split())
    unwanted = unwanted_message(name, "view name")
    errors = {}
    if unwanted:
        errors["name"] = unwanted
    elif not name:
        errors["name"] = "Give the view a name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"A view's name has at most {NAME_MAX} characters."
    text = canonical_query(parse_query(query or ""))
    if len(text) > QUERY_MAX:
        errors["query"] = f"The search is too long to save (at most {QUERY_MAX} characters)."
    mine = list(session.scalars(select(SavedView).where(SavedView.owner_id == actor.id)))
    same_name = next((view for view in mine if view.name.lower() == name.lower()), None)
    if same_name is not None and replace and not errors:
        same_name.query, same_name.team = text, team
        session.flush()
        return same_name
    if same_name is not None:
        errors["name"] = (
            f"You already have a view named “{name}”: choose another name, or tick "
            "“Replace my view of that name” to save this search under it."
        )
    elif len(mine) >= VIEWS_PER_PERSON:
        errors["name"] = f"You have {VIEWS_PER_PERSON} views already: delete one first."
    if errors:
        raise ValidationFailed(errors)
    view = SavedView(owner_id=actor.id, name=name, query=text, team=team)
    session.add(view)
    session.flush()
    return view


def list_views(*, session: Session, actor: User) -> list[SavedView]:
    """`actor`'s own views and the team's, team views first, each group by name."""
    statement = (
        select(SavedView)
        .where(or_(SavedView.owner_id == actor.id, SavedView.team.is_(True)))
        .order_by(SavedView.team.desc(), SavedView.name)
    )
    return list(session.scalars(statement))


def can_delete(actor: User, view: SavedView) -> bool:
    """Your own views; a team view also by an admin (someone must be able to tidy the list)."""
    return view.owner_id == actor.id or (view.team and can(actor, Action.MANAGE_USERS))


def delete_view(*, session: Session, actor: User, view_id: int) -> SavedView:
    """Delete one of `actor`'s views (admins: any team view too)."""
    view = session.get(SavedView, view_id)
    if view is None or not (view.owner_id == actor.id or view.team):
        raise NotFound("No such view.")
    if not can_delete(actor, view):
        raise PermissionDenied("Only its owner can delete this view.")
    session.delete(view)
    session.flush()
    return view
