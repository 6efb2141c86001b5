"""Settings read from the environment, with safe defaults for local use.

Every setting is an environment variable of the same name. In production
(``APP_ENV=production``) a missing secret is a startup error; in development the
secrets are generated once and kept in ``instance/dev-secrets.json`` (never committed).
"""
from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))

SECRET_NAMES = ("SECRET_KEY", "JWT_SECRET_KEY", "DELIVERABLE_KEYS", "DELIVERABLE_HASH_KEY")


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the app refuses to start."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _image_workers(value: str) -> int:
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if not 1 <= workers <= 16:
        raise ConfigError("IMAGE_WORKERS must be a whole number from 1 to 16 (images decoded at once per process)")
    return workers


def _log_format(value: str) -> str:
    value = value.strip().lower()
    if value not in ("json", "console"):
        raise ConfigError("LOG_FORMAT must be json (one JSON object a line) or console (readable)")
    return value


def _log_level(value: str) -> str:
    value = value.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return value


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ConfigError("SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1 (the share of requests traced)")
    return rate


def _dev_secrets(instance: Path) -> dict[str, str]:
    """Secrets for local use: made once, kept in the instance folder."""
    path = instance / "dev-secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    fresh = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "DELIVERABLE_KEYS": lambda: Fernet.generate_key().decode(),
        "DELIVERABLE_HASH_KEY": lambda: secrets.token_urlsafe(48),
    }
    missing = [name for name in fresh if name not in values]
    if not missing:
        return values
    for name in missing:
        values[name] = fresh[name]()
    instance.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def _served_at(env) -> str:
    """Where a local server runs when PUBLIC_BASE_URL is not set: HOST and PORT of ``scripts/run``
    (``0.0.0.0`` listens everywhere; links then name this machine's loopback)."""
    host = env.get("HOST") or "127.0.0.1"
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{env.get('PORT') or '5000'}"


def load_config(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Build the Flask config mapping. ``overrides`` win over the environment."""
    env = dict(os.environ if environ is None else environ)
    env.update({k: str(v) for k, v in (overrides or {}).items() if isinstance(v, (str, int, float)) and k.isupper()})
    app_env = env.get("APP_ENV", "development").lower()
    production = app_env == "production"
    instance = Path(env.get("INSTANCE_PATH", INSTANCE_DIR))

    missing = [name for name in SECRET_NAMES if not env.get(name)]
    if missing:
        if production:
            raise ConfigError(
                "Missing required setting(s) in production: " + ", ".join(missing)
                + ". Set them in the environment (see README, Configuration)."
            )
        generated = _dev_secrets(instance)
        for name in missing:
            env[name] = generated[name]

    keys = [k.strip() for k in env["DELIVERABLE_KEYS"].split(",") if k.strip()]
    try:
        for key in keys:
            Fernet(key.encode())
    except Exception as exc:  # noqa: BLE001 - any malformed key is a config error
        raise ConfigError("DELIVERABLE_KEYS must be comma-separated Fernet keys, newest first") from exc

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'store.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    redis_url = env.get("REDIS_URL") or None
    mail_server = env.get("MAIL_SERVER") or None

    config = {
        "APP_ENV": app_env,
        "DEBUG": _bool(env.get("FLASK_DEBUG"), False),
        "SECRET_KEY": env["SECRET_KEY"],
        "JWT_SECRET_KEY": env["JWT_SECRET_KEY"],
        "DELIVERABLE_KEYS": keys,
        # HMAC key for deduplicating deliverables; keep it stable (rotating it re-admits old codes)
        "DELIVERABLE_HASH_KEY": env["DELIVERABLE_HASH_KEY"],
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or str(instance / "uploads"),
        "MAX_IMAGE_BYTES": int(env.get("MAX_IMAGE_BYTES", str(10 * 1024 * 1024))),
        "MAX_BRANDING_BYTES": int(env.get("MAX_BRANDING_BYTES", str(5 * 1024 * 1024))),
        "MAX_IMPORT_BYTES": int(env.get("MAX_IMPORT_BYTES", str(32 * 1024 * 1024))),
        # product imports (README, Moving a store in): the largest CSV, and whether image downloads
        # may reach private or loopback addresses (a local WooCommerce; off: an admin's CSV must not
        # make the server fetch internal addresses)
        "IMPORT_MAX_CSV_BYTES": int(env.get("IMPORT_MAX_CSV_BYTES", str(20 * 1024 * 1024))),
        "IMPORT_ALLOW_PRIVATE_URLS": _bool(env.get("IMPORT_ALLOW_PRIVATE_URLS"), False),
        # images decoded at once per process (services.storage): each takes up to ~200 MB while it runs
        "IMAGE_WORKERS": _image_workers(env.get("IMAGE_WORKERS") or "1"),
        "PLATFORM_DOMAIN": (env.get("PLATFORM_DOMAIN") or "").lower().strip(".") or None,
        "PLATFORM_NAME": env.get("PLATFORM_NAME", "Virtual Stores"),
        # the default store's address, for links in emails sent by jobs (no request to read it from)
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or _served_at(env)).rstrip("/"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # PostgreSQL: no ping per checkout (a round trip on every request); after a database
        # restart SQLAlchemy invalidates the whole pool on the first disconnect error instead.
        "SQLALCHEMY_ENGINE_OPTIONS": (
            {"pool_pre_ping": _bool(env.get("DB_POOL_PRE_PING")), "pool_recycle": 1800,
             "pool_size": int(env.get("DB_POOL_SIZE", "10")), "max_overflow": int(env.get("DB_MAX_OVERFLOW", "10"))}
            if database_url.startswith("postgresql") else {}
        ),
        "REDIS_URL": redis_url,
        # Seconds a process remembers which store a host serves (0 = look it up every request)
        "STORE_CACHE_SECONDS": float(env.get("STORE_CACHE_SECONDS", "5")),
        # PostgreSQL without Redis: how long a cached store row's version stands before it is read
        # again (services.stores.still_current; 0 = every request)
        "STORE_VERSION_SECONDS": float(env.get("STORE_VERSION_SECONDS", "1")),
        "JOBS_INLINE": redis_url is None,
        # RQ workers (docs/deploy.md): a running job's heartbeat period; how long after the last
        # heartbeat a dead worker's job is requeued (jobs.schedule.requeue_abandoned); registry cleanup
        "RQ_JOB_MONITORING_SECONDS": int(env.get("RQ_JOB_MONITORING_SECONDS", "30")),
        "RQ_ABANDONED_GRACE_SECONDS": int(env.get("RQ_ABANDONED_GRACE_SECONDS", "60")),
        "RQ_MAINTENANCE_SECONDS": int(env.get("RQ_MAINTENANCE_SECONDS", "600")),
        "RQ_CRON_TICK_SECONDS": float(env.get("RQ_CRON_TICK_SECONDS", "5")),
        # No Redis: after-commit jobs run on one in-process worker thread (transactions.JobThread),
        # after the request has answered; JOBS_THREAD=0 runs them at the end of the request instead.
        "JOBS_THREAD": _bool(env.get("JOBS_THREAD"), True),
        # Tokens (flask-jwt-extended): HS256 only, so `alg=none` and others are refused; the Bearer
        # header only; the user id in `sub`. Our own claims: tenant, role, typ, ver (services.auth).
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_HEADER_NAME": "Authorization",
        "JWT_HEADER_TYPE": "Bearer",
        "JWT_IDENTITY_CLAIM": "sub",
        "JWT_REFRESH_JSON_KEY": "refresh_token",  # POST /api/auth/refresh also takes it in the body
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=int(env.get("JWT_ACCESS_MINUTES", "15"))),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=int(env.get("JWT_REFRESH_DAYS", "30"))),
        "JWT_GUEST_TOKEN_EXPIRES": timedelta(days=int(env.get("JWT_GUEST_DAYS", "7"))),
        "PASSWORD_RESET_TTL": timedelta(minutes=int(env.get("PASSWORD_RESET_MINUTES", "60"))),
        # Rate limits (Flask-Limiter syntax)
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down: keep limiting, per process, instead of failing the request
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "RESET_RATE_LIMIT": env.get("RESET_RATE_LIMIT", "5 per 15 minutes"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Mail: console unless an SMTP server is configured
        "MAIL_BACKEND": env.get("MAIL_BACKEND") or ("smtp" if mail_server else "console"),
        "MAIL_SERVER": mail_server or "localhost",
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT", "10")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "Virtual Stores <no-reply@localhost>"),
        # Payments (README, "Payments"). Stripe: the platform's keys; each store connects its own
        # account (Connect). The default store may take payments on the platform account itself.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,  # the platform endpoint's
        "STRIPE_CONNECT_WEBHOOK_SECRET": env.get("STRIPE_CONNECT_WEBHOOK_SECRET") or None,  # the Connect endpoint's
        "STRIPE_API_BASE": (env.get("STRIPE_API_BASE") or "").rstrip("/") or None,  # a fake in tests
        "STRIPE_DEFAULT_STORE_DIRECT": _bool(env.get("STRIPE_DEFAULT_STORE_DIRECT"), True),
        # below SQLite's 15 s busy timeout: a checkout holds the write lock while it asks the provider
        "STRIPE_TIMEOUT": float(env.get("STRIPE_TIMEOUT", "10")),
        # Hoodpay: each store saves its own keys; these apply to the default store until it does.
        "HOODPAY_API_KEY": env.get("HOODPAY_API_KEY") or None,
        "HOODPAY_BUSINESS_ID": env.get("HOODPAY_BUSINESS_ID") or None,
        "HOODPAY_WEBHOOK_SECRET": env.get("HOODPAY_WEBHOOK_SECRET") or None,
        "HOODPAY_API_BASE": env.get("HOODPAY_API_BASE") or "https://api.hoodpay.io/v1/",
        "HOODPAY_TIMEOUT": float(env.get("HOODPAY_TIMEOUT", "10")),
        # Moloni (invoicing, the ``moloni`` addon): the platform's Moloni app; a store may save its own
        "MOLONI_CLIENT_ID": env.get("MOLONI_CLIENT_ID") or None,
        "MOLONI_CLIENT_SECRET": env.get("MOLONI_CLIENT_SECRET") or None,
        "MOLONI_REDIRECT_URI": env.get("MOLONI_REDIRECT_URI") or None,  # default: PUBLIC_BASE_URL + the callback path
        "MOLONI_API_URL": env.get("MOLONI_API_URL") or "https://api.moloni.pt/v1/",
        "MOLONI_AUTH_URL": env.get("MOLONI_AUTH_URL") or "https://api.moloni.pt/v1/authorize/",
        "MOLONI_TIMEOUT": float(env.get("MOLONI_TIMEOUT", "15")),
        # Where checkout forms may send the shopper (CSP form-action): the providers' hosted pages
        "PAYMENT_PAGE_ORIGINS": [o.strip() for o in (env.get("PAYMENT_PAGE_ORIGINS") or
                                 "https://checkout.stripe.com,https://connect.stripe.com,https://checkout.hoodpay.io"
                                 ).split(",") if o.strip()],
        # Web
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(40 * 1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Strict-Transport-Security, sent in production on HTTPS requests (web.register_security_headers);
        # 0 sends none
        "HSTS_MAX_AGE": int(env.get("HSTS_MAX_AGE", str(365 * 24 * 3600))),
        # API document
        "OPENAPI_VERSION": "3.1.0",
        "SECURITY_SCHEMES": {"BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "INFO": {"description": "Virtual Stores JSON API. Errors: {error: {code, message, details}}. "
                 "Lists: page/page_size in, {items, page, page_size, total, pages} out."},
        "SWAGGER_UI_CSS": "/static/vendor/swagger-ui/swagger-ui.css",
        "SWAGGER_UI_BUNDLE_JS": "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "SWAGGER_UI_STANDALONE_PRESET_JS": "/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        "DOCS_FAVICON": "/static/favicon.svg",
        "VALIDATION_ERROR_STATUS_CODE": 422,
        "AUTO_404_RESPONSE": False,
        # Operations (README, Operations): logs, metrics, error reports
        "LOG_FORMAT": _log_format(env.get("LOG_FORMAT") or ("json" if production else "console")),
        "LOG_LEVEL": _log_level(env.get("LOG_LEVEL") or "INFO"),
        "METRICS_ENABLED": _bool(env.get("METRICS_ENABLED"), True),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto are trusted (0: none; the
        # client's address is then the proxy's, and every client shares its rate limits)
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # GET /internal/tls-ask (docs/deploy.md): loopback callers, or callers sending this token
        "TLS_ASK_TOKEN": env.get("TLS_ASK_TOKEN") or None,  # /metrics wants "Authorization: Bearer <it>"
        "SENTRY_DSN": env.get("SENTRY_DSN") or None,
        "SENTRY_ENVIRONMENT": env.get("SENTRY_ENVIRONMENT") or app_env,
        "SENTRY_TRACES_SAMPLE_RATE": _rate(env.get("SENTRY_TRACES_SAMPLE_RATE") or "0"),
    }
    for key, value in (overrides or {}).items():
        # plain values were read through the environment above; others (and new keys) apply as given
        if key not in config or not isinstance(value, (str, int, float)):
            config[key] = value
    return config
