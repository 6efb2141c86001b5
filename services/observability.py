"""How the platform reports on itself: structured logs (structlog) and error reports (Sentry).

* **Logs.** One pipeline for every line: structlog's own loggers and the standard library's
  (werkzeug, rq, SQLAlchemy's warnings, our ``logging.getLogger(__name__)``) all end in one root
  handler whose ``ProcessorFormatter`` adds the context bound with ``structlog.contextvars``
  (``request_id``, ``store_id``, ``user_id`` for a request; ``job_id``, ``job``, ``store_id`` for a
  job), the level, the logger's name and a UTC timestamp. ``LOG_FORMAT=json`` (the default in
  production) writes one JSON object a line; ``console`` a readable line.
* **Secrets never reach a line**: values of keys that name a secret are replaced, and paths or
  URLs that carry one (a guest's order link, a password reset link, ``?token=``) are redacted
  (``redact_url``) before they are logged or reported.
* **Sentry** (``SENTRY_DSN``): Flask and RQ integrations, no personal data, no request bodies, no
  local variables, and ``scrub_event`` (``before_send``) strips what could still carry a secret.

The Flask side (binding a request's context, the request line, ``X-Request-ID``) is in ``web.py``.
"""
from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping

import sentry_sdk
import structlog
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.rq import RqIntegration

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|authorization|cookie|deliverable|api[_-]?key|signature|dsn",
                         re.IGNORECASE)
# Paths whose segment is a secret (storefront: /orders/guest/<token>, /reset-password/<token>) and
# query parameters that carry one
_SECRET_PATH = re.compile(r"(/orders/guest/|/reset-password/)[^/?#\s]+")
_SECRET_QUERY = re.compile(r"([?&](?:[a-z_]*token|key|secret|password|code|signature)=)[^&#\s]*", re.IGNORECASE)
# Headers that never leave the process in an error report
SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key", "stripe-signature",
                  "x-hoodpay-signature", "hoodpay-signature", "svix-signature", "webhook-signature", "x-session-id"}

_HANDLER_NAME = "vstores"


def redact_url(text: str) -> str:
    """A path or URL with its secret parts replaced (``/orders/guest/[redacted]/pay``)."""
    text = _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


def _redact(_logger, _method, event: dict) -> dict:
    """structlog processor: a value under a key that names a secret is never written."""
    for key in list(event):
        if key != "event" and _SECRET_KEY.search(key) and event[key] is not None:
            event[key] = REDACTED
    return event


# --- logs -------------------------------------------------------------------------------------

def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]


def log_formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every line: ``json`` (one object a line) or ``console`` (readable)."""
    if fmt == "json":
        renderers = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        # tracebacks without local variables: a password or a deliverable can sit in one
        colors = sys.stderr.isatty()
        tracebacks = (structlog.dev.RichTracebackFormatter(show_locals=False, max_frames=20,
                                                           color_system="truecolor" if colors else None)
                      if structlog.dev.rich is not None else structlog.dev.plain_traceback)
        renderers = [structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=tracebacks)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
    )


class _NoWerkzeugRequestLine(logging.Filter):
    """The development server's own request line comes after the request's context is gone;
    ``web.py`` writes one with it (``http_request``), so the server's is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != '"%s" %s %s'


def configure_logging(config: Mapping) -> None:
    """Send every log line of this process through structlog's formatter. Called by
    ``create_app``; calling it again (another app, another format) replaces the handler."""
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(log_formatter(config.get("LOG_FORMAT", "console")))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.get("LOG_LEVEL", "INFO"))
    logging.captureWarnings(True)  # warnings (SQLAlchemy's among them) become log lines too
    for chatty in ("sqlalchemy.engine", "sqlalchemy.pool"):  # at INFO they would write every statement
        logging.getLogger(chatty).setLevel(logging.WARNING)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoWerkzeugRequestLine) for f in werkzeug.filters):
        werkzeug.addFilter(_NoWerkzeugRequestLine())


def bind(**values) -> None:
    """Add to the context every line of this request or job carries (and, as tags, an error
    report of it: a report and its log lines are found by the same request id)."""
    structlog.contextvars.bind_contextvars(**values)
    for key, value in values.items():
        if value is not None:
            sentry_sdk.set_tag(key, value)


def clear() -> None:
    structlog.contextvars.clear_contextvars()


def bound(**values):
    """A context manager: ``values`` on every line inside it, the previous ones back after."""
    return structlog.contextvars.bound_contextvars(**values)


def get_logger(name: str | None = None):
    return structlog.stdlib.get_logger(name)


# --- error reports ----------------------------------------------------------------------------

def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's ``before_send``: no secret headers, cookies, bodies or secret URLs leave."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
        request.pop("cookies", None)
        request.pop("data", None)  # bodies: passwords, tokens, deliverables, provider keys
        if isinstance(request.get("url"), str):
            request["url"] = redact_url(request["url"])
        if isinstance(request.get("query_string"), str):
            request["query_string"] = redact_url("?" + request["query_string"])[1:]
    breadcrumbs = event.get("breadcrumbs")
    for crumb in breadcrumbs.get("values", []) if isinstance(breadcrumbs, dict) else []:
        if isinstance(crumb.get("message"), str):
            crumb["message"] = redact_url(crumb["message"])
    return event


def init_sentry(config: Mapping) -> bool:
    """Report errors to Sentry when ``SENTRY_DSN`` is set (web requests and RQ jobs alike)."""
    dsn = config.get("SENTRY_DSN")
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        environment=config.get("SENTRY_ENVIRONMENT") or config.get("APP_ENV"),
        traces_sample_rate=float(config.get("SENTRY_TRACES_SAMPLE_RATE") or 0.0),
        # No personal data: what ``send_default_pii=False`` meant, spelled the way sentry-sdk 2.75
        # asks (it deprecates send_default_pii for data_collection, and ignores it when both are set):
        # no user identity, no cookies, no request bodies, no local variables (a deliverable or a
        # password can sit in one), no SQL parameters; secret-looking headers and query parameters
        # are filtered by Sentry's denylist, then by scrub_event.
        data_collection={"user_info": False, "cookies": {"mode": "off"}, "http_bodies": [],
                         "stack_frame_variables": False, "database_query_data": False,
                         "url_query_params": {"mode": "denylist", "terms": ["code", "signature"]}},
        before_send=scrub_event,
    )
    return True
