"""Application factory: ``flask --app app run`` / ``gunicorn 'app:create_app()'``."""
from __future__ import annotations

import logging
import re

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Request, g, render_template, request, session
from flask.logging import default_handler
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import tenancy
import transactions
import web
from admin import bp as admin_bp
from admin import sysadmin_bp
from api import errors as api_errors
from api import register_api
from cli import register_cli
from config import BASE_DIR, INSTANCE_DIR, load_config
from extensions import csrf, db, jwt, limiter, login_manager, mail, migrate
from services import account as account_service
from services import observability
from services.errors import DomainError
from services.plans import feature_name
from storefront import bp as storefront_bp

log = logging.getLogger(__name__)


MAX_JSON_DEPTH = 64


def _json_depth_exceeds(data: bytes, limit: int) -> bool:
    """Whether brackets nest deeper than ``limit`` (those inside strings do not count). Only
    bodies with more than ``limit`` brackets are scanned at all: a stock list has one."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for match in re.finditer(rb'[\[\]{}"\\]', data):
        char, at = match.group(), match.start()
        if in_string:
            if escaped and at == escaped:
                continue
            if char == b"\\":
                escaped = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


class ApiRequest(Request):
    """An empty body reads as no JSON; a malformed one, or one nested deeper than 64 levels (a
    recursion bomb), is a clear 400 ``malformed_json`` before anything parses it."""

    def get_json(self, force=False, silent=False, cache=True):
        data = self.get_data(cache=True)
        if not data:
            return None
        if _json_depth_exceeds(data, MAX_JSON_DEPTH):
            error = BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
            error.error_code = "malformed_json"
            raise error
        body = super().get_json(force=force, silent=silent, cache=cache)
        if body is None and not silent:  # the literal `null`: no endpoint takes it for "nothing"
            error = BadRequest("Send a JSON object, not null")
            error.error_code = "malformed_json"
            raise error
        return body

    def on_json_loading_failed(self, e):
        error = BadRequest("The request body is not valid JSON" + (f": {e}" if e else ""))
        error.error_code = "malformed_json"
        raise error


class App(APIFlask):
    """The app: every view runs inside one unit of work (``transactions.request_transaction``):
    it commits once when the view returns normally and rolls back on any exception. A request
    that fails, even at that commit, keeps none of its browser-session changes either."""

    request_class = ApiRequest

    def dispatch_request(self):
        try:
            with transactions.request_transaction():
                return super().dispatch_request()
        except BaseException:
            web.forget_session_changes()
            raise


def _configure_engine(app) -> None:
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _check_write(_conn, _cursor, statement, _parameters, _context, _executemany):
        transactions.check_write(statement)  # a request that reads writes only after write_lock()

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if transactions.sqlite_immediate.get():
            with transactions.waiting_for_write_lock():  # counted: yield_write_lock lets it in
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def create_app(config: dict | None = None) -> APIFlask:
    app = App(
        __name__, title="Virtual Stores API", version="1.0",
        spec_path="/api/openapi.json", docs_path=None,  # /api/docs is api/docs.py (no inline script)
        json_errors=False, instance_path=str(INSTANCE_DIR), instance_relative_config=False,
        static_folder=str(BASE_DIR / "static"), template_folder=str(BASE_DIR / "templates"),
    )
    app.config.update(load_config(config))
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # behind a reverse proxy (docs/deploy.md): the client's address, not the proxy's
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    observability.configure_logging(app.config)
    app.logger.removeHandler(default_handler)  # its lines go through the root handler (structlog)
    observability.init_sentry(app.config)
    web.register_request_context(app)  # first: the request id is on every line after it
    web.register_metrics(app)  # next: its clock starts before the other hooks run

    db.init_app(app)
    _configure_engine(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    jwt.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "storefront.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def _load_user(user_id: str):
        user = account_service.session_user(user_id, tenancy.current_store_id(), session.get(web.SESSION_ID_KEY))
        web.bind_user(user)
        return user

    @app.before_request
    def _transaction_mode():
        view = app.view_functions.get(request.endpoint)
        g._sqlite_token = transactions.begin_request(request.method, view)
        transactions.read_in_autocommit(view)

    @app.teardown_request
    def _transaction_mode_reset(exc=None):
        token = g.pop("_sqlite_token", None)
        if token is not None:
            transactions.end_request(token)

    web.register_security_headers(app)
    web.register_store_binding(app)
    register_api(app)

    @app.before_request
    def _csrf_for_pages():
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.path.startswith("/api/") \
                and not getattr(app.view_functions.get(request.endpoint or ""), "csrf_exempt", False):
            csrf.protect()

    app.register_blueprint(storefront_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(sysadmin_bp)
    web.register_tls_ask(app)  # the reverse proxy's "does a store own this domain?" (docs/deploy.md)
    web.register_web(app)
    _register_errors(app)
    register_cli(app)
    return app


def _register_errors(app) -> None:
    def page(status: int, message: str, code: str | None = None):
        return render_template("errors/error.html", status=status, message=message, code=code), status

    @app.error_processor
    def _apiflask_error(error: HTTPError):
        if api_errors.is_api_request():
            return api_errors.from_apiflask(error)
        return page(error.status_code, error.message or "Request failed")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if api_errors.is_api_request():
            return api_errors.from_http_exception(error)
        if error.code == 400 and getattr(error, "description", "").startswith("The CSRF"):
            return page(400, "Your form expired. Go back, reload the page and try again.", "csrf")
        message = api_errors.MESSAGES.get(error.code or 500) or error.description
        return page(error.code or 500, message)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        if api_errors.is_api_request():
            return api_errors.from_domain(error)
        if error.code == "unknown_host":  # someone else's name for this server: no page, no cookie
            return error.message, error.status, {"Content-Type": "text/plain; charset=utf-8"}
        if error.code == "feature_not_enabled" and request.blueprint == "storefront":  # a shopper's page
            feature = (error.details or {}).get("feature")  # the owner's wording ("add the addon") is not for shoppers
            return render_template("storefront/unavailable.html", feature_label=feature_name(feature)), error.status
        if error.code == "feature_not_enabled":  # an upgrade hint, not a broken page
            return render_template("admin/upgrade.html", message=error.message,
                                   feature=(error.details or {}).get("feature")), error.status
        return (*page(error.status, error.message, error.code), error.response_headers())

    @app.errorhandler(IntegrityError)
    def _integrity_error(error: IntegrityError):
        db.session.rollback()
        if api_errors.is_api_request():
            return api_errors.from_integrity(error)
        return page(409, "That conflicts with existing data.")

    @app.errorhandler(OperationalError)
    def _database_busy(error: OperationalError):
        """SQLite's write lock still taken after the busy timeout: a clear "try again", not a 500."""
        db.session.rollback()
        if "database is locked" not in str(error.orig):
            raise error
        log.warning("database busy: %s", error.orig)
        message = "The store is busy; try again in a moment"
        if api_errors.is_api_request():
            return api_errors.envelope(503, message, code="busy", headers={"Retry-After": "2"})
        body, status = page(503, message, "busy")
        return body, status, {"Retry-After": "2"}

    @app.errorhandler(tenancy.TenantError)
    def _tenant_error(error: tenancy.TenantError):
        db.session.rollback()
        log.warning("cross-store access refused: %s", error)
        if api_errors.is_api_request():
            return api_errors.envelope(404, "Nothing was found at this address", code="not_found")
        return page(404, "Nothing was found at this address")

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        if api_errors.is_api_request():
            return api_errors.envelope(500, api_errors.MESSAGES[500], code="internal_error")
        return page(500, api_errors.MESSAGES[500])
