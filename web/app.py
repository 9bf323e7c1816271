"""The application factory."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from shared import migrate
from shared.accounts import service as accounts
from shared.config import Settings
from shared.errors import DomainError
from shared.models import import_all_models
from web import db, input_guard, logs, outbox_publisher, security
from web.api import problems
from web.auth.current import SignedInUser
from web.errors import page_message, status_for
from web.extensions import csrf, limiter, login_manager
from web.pages import page_to_read


def _fallback_rate_limit() -> str:
    return current_app.config["SETTINGS"].rate_limit_api


class RowId(IntegerConverter):
    """Every <int:...> in our URLs is a row id: one past the integer columns' range (2**31 - 1,
    PostgreSQL's integer) is no such row, a 404, instead of an OverflowError in the database
    driver (a 500; found by a security probe on evidence, tokens, views and webhooks)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (default: the environment)."""
    settings = settings or Settings.from_env()
    import_all_models()
    logs.configure_logging(settings.effective_log_format, settings.log_level)

    app = Flask(__name__)
    # Before any route is added: every <int:...> in a URL is then bounded (see RowId).
    app.url_map.converters["int"] = RowId
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap it
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies, x_host=0
        )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.effective_secret_key,
        SESSION_COOKIE_NAME="it_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_lifetime_hours),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.is_production,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead: a long-open form still submits
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX=settings.redis_key_prefix,
        RATELIMIT_STRATEGY="moving-window",
        # Redis down must not turn every rate-limited request (sign-in, the whole API) into a
        # 500: the limits fall back to this process's memory, at the API's rate per client
        # address, until Redis answers again. A dead Redis is found in one second, not hung on.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        # Read per request: the limiter is one object per process and keeps the first app's
        # fallback, so a plain string would pin whichever app was created first.
        RATELIMIT_IN_MEMORY_FALLBACK=_fallback_rate_limit,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1} if settings.redis_url else {},
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )

    # First: its before_request gives the request its id before any other hook can refuse it
    # (a rate limit answered a 429 with an empty X-Request-ID), and its after_request, run
    # last, logs the response as it leaves.
    logs.init_app(app)
    db.init_app(app, settings.effective_database_url)
    outbox_publisher.init_app(app, settings)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def _sign_in_first():
        """The sign-in page, coming back afterwards to the page the person was on: for a form
        sent after the session ended (a row's move, Mark done on a later page of a list) that is
        the page it was sent from (its same-site Referer), not the form's address (only posted
        to; the sign-in then climbs from it to the nearest page: web/auth/views.py). A form sent
        then was not saved: the sign-in page says so, and to send it again."""
        flash(login_manager.login_message if request.method in ("GET", "HEAD") else SESSION_ENDED_MESSAGE)
        return redirect(url_for("auth.login", next=_page_asking()))

    @app.before_request
    def _sign_in_page_reached_by_htmx():
        """No page for htmx following that redirect: app.js goes to the sign-in page for real
        (its responseURL is all it reads), and a page drawn for htmx would use up the message
        flashed above before the person could see it."""
        if request.endpoint == "auth.login" and request.method == "GET" and _wants_fragment():
            return "", 204
        return None

    security.init_app(app, hsts=settings.is_production)

    @login_manager.user_loader
    def _load_user(token: str):
        user = accounts.user_for_session(session=db.get_session(), token=token)
        return SignedInUser(user, token) if user else None

    from web import api
    from web.admin.views import bp as admin_bp
    from web.admin.webhooks import bp as admin_webhooks_bp
    from web.audit.views import bp as audit_bp
    from web.auth.views import bp as auth_bp
    from web.cli import register_cli
    from web.evidence.views import bp as evidence_bp
    from web.filters import register_filters
    from web.incidents.views import bp as incidents_bp
    from web.insights.views import bp as insights_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(incidents_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_webhooks_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(evidence_bp)
    app.register_blueprint(insights_bp)
    api.init_app(app)
    register_filters(app)
    register_cli(app)
    _register_health(app)
    input_guard.init_app(app)
    _register_errors(app)
    return app


def _page_asking() -> str:
    """Where the request came from, as a same-site path with its query: the request itself for a
    GET or a form that posts to its own page (New incident, which puts the draft back there),
    else the page that sent the form (its Referer, when it is this site's)."""
    if request.method != "GET" and not _also_a_page(request.path):
        sent_from = urlsplit(request.referrer or "")
        if sent_from.netloc == request.host and sent_from.path.startswith("/"):
            return sent_from.path + (f"?{sent_from.query}" if sent_from.query else "")
        return request.path
    return request.full_path.rstrip("?")


def _also_a_page(path: str) -> bool:
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return False
    return True


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        """Process is alive (ALB/ECS liveness)."""
        return jsonify(status="ok")

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico where a page names no icon (a JSON document, a file
        download): the app's icon, rather than a 404 in every such browser console and log."""
        return redirect(url_for("static", filename="favicon.svg"), 301)

    @app.get("/readyz")
    def readyz():
        """Dependencies reachable (readiness): the database, the broker, the evidence storage."""
        from web.evidence.views import storage

        checks = {}
        try:
            # Reachable, and migrated for this release: a deploy that skipped the migration (or
            # a database never migrated) must not pass as ready while every page is a 500.
            problem = migrate.schema_problem(db.get_session().connection())
            checks["database"] = "ok"
            checks["schema"] = problem or "ok"
        except Exception as error:  # any failure means "not ready"
            checks["database"] = type(error).__name__
        for name, probe in (
            ("broker", app.extensions["outbox_publisher"].check),
            ("storage", lambda: storage().check()),
        ):
            try:
                probe()
                checks[name] = "ok"
            except Exception as error:  # any failure means "not ready"
                checks[name] = type(error).__name__
        ready = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if ready else "unavailable", **checks), 200 if ready else 503

    csrf.exempt(healthz)
    csrf.exempt(readyz)


def _wants_fragment() -> bool:
    return request.headers.get("HX-Request") == "true"


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        db.rollback()
        if problems.is_api_request():
            return problems.from_domain(error)
        template = "partials/flash_error.html" if _wants_fragment() else "error.html"
        status = status_for(error)
        return render_template(template, message=page_message(error), status=status), status

    for status, message in (
        (400, BAD_REQUEST_MESSAGE),
        (403, "You don't have permission to do that."),
        (404, "That page doesn't exist."),
        (413, "That upload is too large."),
        (429, "Too many attempts. Wait a minute and try again."),
        (500, SERVER_ERROR_MESSAGE),
    ):
        app.register_error_handler(status, _http_error(status, message))

    internal_error = _http_error(500, SERVER_ERROR_MESSAGE)
    bad_request = _http_error(400, BAD_REQUEST_MESSAGE)
    not_here = _http_error(405, "That action isn't available here.")

    @app.errorhandler(405)
    def _form_address_opened(error):
        # A refused form is drawn again at the address it was sent to (/profile/tokens,
        # /incidents/INC-7/due-date, /admin/users/3/role): opened again from the address bar, a
        # bookmark or the history, that address answered "Something went wrong" (found in QA).
        # A browser opening it goes to the page the form belongs to instead.
        if request.method in ("GET", "HEAD") and not problems.is_api_request():
            page = page_to_read(request.path)
            if page != request.path:
                return redirect(request.script_root + page, 303)
        return not_here(error)

    @app.errorhandler(CSRFError)
    def _form_of_an_ended_session(error: CSRFError):
        # Signing out (in another tab) renews the CSRF token, and CSRFProtect checks it before
        # login_required looks at the session: a comment, a move or a New incident sent from a
        # page drawn before was answered "The CSRF tokens do not match" (two of them in silence)
        # instead of going to sign in and back, as after any ended session. With nobody signed
        # in the token guards nothing: a forged cross-site post lands on the sign-in page too,
        # having done nothing. A signed-in person's bad token is still refused; so is one on a
        # form anyone may send (sign-in, a reset link), where signing in again is no answer.
        if current_user.is_authenticated or request.endpoint in _OPEN_FORMS or problems.is_api_request():
            return bad_request(error)
        return login_manager.unauthorized()

    @app.errorhandler(OperationalError)
    def _database_unreachable(error: OperationalError):
        # PostgreSQL restarting or failing over: a 503 that says to retry, not a 500. The pool
        # replaces the dead connections (pool_pre_ping), so the next request usually succeeds.
        # Other operational errors (SQLite's "no such table", a deadlock) stay 500s.
        if not _connection_lost(error):
            app.log_exception((type(error), error, error.__traceback__))  # type: ignore[arg-type]  # stub: traceback not None
            return internal_error(error)
        logging.getLogger(__name__).error("database unreachable: %s", str(error.orig or error).strip()[:300])
        with contextlib.suppress(Exception):
            db.rollback()
        if problems.is_api_request():
            response = problems.from_http(ServiceUnavailable(description=DATABASE_DOWN_MESSAGE), limiter)
        else:
            response = make_response(_plain_error_page(DATABASE_DOWN_MESSAGE), 503)
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(HTTPException)
    def _other_http_error(error: HTTPException):
        # Statuses without a page of their own (401, 409, 412, 415, 422, 428...): problem
        # details under /api, werkzeug's plain answer elsewhere.
        if problems.is_api_request():
            db.rollback()
            return problems.from_http(error, limiter)
        return error


def _http_error(status: int, message: str):
    def handler(error):
        db.rollback()
        if problems.is_api_request():
            return problems.from_http(error if isinstance(error, HTTPException) else _as_500(), limiter)
        description = getattr(error, "description", None)
        # A 400 raised with its own explanation (CSRF, invalid text) says it; a bare abort(400)
        # gets the generic sentence.
        explained = status == 400 and description and description != BadRequest.description
        text_ = str(description) if explained else message
        if isinstance(error, CSRFError):  # "The CSRF token is invalid." alone says what, not what to do
            text_ = f"{text_} The page was open too long or you signed in again elsewhere: reload it and try again."
        template = "partials/flash_error.html" if _wants_fragment() else "error.html"
        try:
            response = make_response(render_template(template, message=text_, status=status), status)
        except Exception:  # the page needs the database (the signed-in user) and it is gone
            logging.getLogger(__name__).exception("the %s page could not be drawn", status)
            response = make_response(_plain_error_page(text_), status)
        if status == 429:  # when to try again, as the API says (found by QA: the page had none)
            response.headers["Retry-After"] = problems.retry_after(limiter)
        return response

    return handler


SESSION_ENDED_MESSAGE = "Your session has ended, so that was not saved. Sign in again, then send it again."
BAD_REQUEST_MESSAGE = "The request could not be understood. If you submitted a form, reload the page and try again."
SERVER_ERROR_MESSAGE = "Something went wrong on our side. It has been logged; try again in a moment."
DATABASE_DOWN_MESSAGE = "The database is not reachable right now. Try again in a few seconds."
DATABASE_RETRY_AFTER_SECONDS = 5
# The forms sent without a session (web/auth/views.py): their CSRF refusals stay refusals.
_OPEN_FORMS = frozenset({"auth.login", "auth.forgot_password", "auth.reset_password"})


def _connection_lost(error: OperationalError) -> bool:
    """The database could not be reached or dropped the connection (not a failed statement).

    SQLAlchemy marks a dropped pooled connection; a refused or broken connect is a psycopg2
    error without a server-side SQLSTATE (pgcode), unlike a deadlock or a serialization failure."""
    return bool(error.connection_invalidated) or getattr(error.orig, "pgcode", "") is None


def _as_500() -> HTTPException:
    from werkzeug.exceptions import InternalServerError

    return InternalServerError()


def _plain_error_page(message: str) -> str:
    """An error page that needs nothing but this string (no user, no database)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error · Incident Tracker</title>'
        f'<link rel="stylesheet" href="/static/app.css"></head><body><main id="main"><h1>Something went wrong</h1>'
        f'<p class="error" role="alert">{escape(message)}</p><p><a href="/">Back to incidents</a></p>'
        "</main></body></html>"
    )
