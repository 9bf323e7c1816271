"""One SQLAlchemy session per request, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from shared.db import make_engine, make_session_factory


def init_app(app: Flask, database_url: str) -> None:
    engine = make_engine(database_url)
    app.extensions["db_engine"] = engine
    app.extensions["db_session_factory"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_session_factory"]()
    return g.db_session


def rollback() -> None:
    """Roll back this request's session, if it has one: after a failed statement or flush it
    refuses every further query (PendingRollbackError) until rolled back, and an error page
    still needs to load the signed-in user to draw its header."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
