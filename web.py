"""What the storefront, admin and API blueprints share about HTTP, and nothing else:

* which store a request is for (``register_store_binding``), for pages and API alike;
* page plumbing: template context, filters, role guards, HTMX helpers, and ``form_errors``,
  the one place where a service's ``DomainError`` becomes a page form's messages;
* the security headers of every response (``register_security_headers``, Flask-Talisman);
* what operators see of a request: its id and log context (``register_request_context``) and
  ``/metrics`` (``register_metrics``, prometheus-flask-exporter).
Business rules stay in services/.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import wraps
from urllib.parse import urlencode, urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask.globals import request_ctx
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_login import current_user, user_loaded_from_cookie, user_logged_in, user_logged_out
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from jwt.exceptions import PyJWTError
from markupsafe import Markup
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics

import tenancy
import transactions
from extensions import csrf, db, security_headers
from models import Role, Store, User
from services import addresses, audit, observability, orders, pages, payments, plans, stores, tenants
from services import auth as auth_service
from services import cart as cart_service
from services import metrics as business_metrics
from services.cache import cache_for, revive, snapshot
from services.errors import DomainError, Invalid, NotFound, Unavailable
from services.money import exponent, to_minor
from services.stores import ANNOUNCEMENT_PRESETS, settings_of
from services.text import CONTROL_MESSAGE, has_control_chars
from services.themes import contrast_text, theme_or_default
from services.variants import stock_state
from services.wishlist import Hearts

SESSION_ID_KEY = "sid"  # a page session's own id: signing out revokes it (services.auth.revoke_session)
CART_KEY = "cart_key"  # an anonymous page session's guest cart key (``w:<random>``, storefront/cart.py)

# --- which store a request is for ------------------------------------------------------------

# Paths that work with no store (or a suspended one): the platform's own endpoints.
STORELESS_PREFIXES = ("/static/", "/uploads/", "/api/health", "/api/openapi.json", "/api/docs", "/api/sysadmin",
                      "/api/plans", "/api/migration")
# What a suspended store still answers: signing in and out, and its dashboard (which says why)
SUSPENDED_OPEN = ("/login", "/logout", "/admin", "/sysadmin")
# Answered without looking up a store at all: the probes (they answer whatever the database's state,
# whatever Host they are sent to; liveness reads no database at all) and the Prometheus scrape
NO_STORE_PATHS = ("/api/health", "/api/health/live", "/api/health/ready", "/metrics", "/internal/tls-ask")


# What flask-jwt-extended raises for a bad token: its own errors, and PyJWT's (bad signature,
# expired, malformed) that it lets through. The API's loaders (api.access) answer them.
TOKEN_ERRORS = (JWTExtendedException, PyJWTError)


_TENANT_OF_TOKEN: dict[tuple, tuple[str | None, float]] = {}  # (key, token) -> (tenant claim, exp): verified
_TENANT_CACHE_SIZE = 4096


def _token_tenant() -> str | None:
    """The ``tenant`` claim of a valid Bearer token, if any (signature and expiry checked, by
    flask-jwt-extended; whether it is revoked is the API's business, api.access). A token verified
    once is remembered until its expiry (a bounded map), so the store is found without decoding the
    same token on every request; the API's own check (api.access) verifies it each time anyway."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    cache_key = (current_app.config.get("JWT_SECRET_KEY"), token)  # verified under this app's key
    known = _TENANT_OF_TOKEN.get(cache_key)
    if known is not None and known[1] > time.time():
        return known[0]
    try:
        claims = decode_token(token)
    except TOKEN_ERRORS:
        return None
    if len(_TENANT_OF_TOKEN) >= _TENANT_CACHE_SIZE:
        _TENANT_OF_TOKEN.clear()
    _TENANT_OF_TOKEN[cache_key] = (claims.get("tenant"), float(claims.get("exp") or 0))
    return claims.get("tenant")


def _current(cache, key) -> Store | None:
    """A cached store, if its row has not changed since (``stores.still_current``: with Redis the
    cache's generation, on SQLite the connection's data version, on PostgreSQL without Redis its
    ``updated_at`` at most once a second), so a settings change made in another worker process
    shows here at once, not when the TTL runs out."""
    cached = cache.get(key)
    if cached is None:
        return None
    if not stores.still_current(cached[1]["id"], cached[1]["updated_at"]):
        cache.entries.pop(key, None)
        return None
    return db.session.merge(revive(cached), load=False)


def resolve_request_store() -> Store | None:
    """RECONCILE.md's order, the same answer every time: a custom domain, then a subdomain of
    PLATFORM_DOMAIN, then the verified token's ``tenant`` claim, then the default store.

    Only what a host names is cached by host, and the default store on its own: the token is
    read on every request, so an earlier anonymous request never decides a later one's store.
    The caches hold snapshots; each request gets its own rows (``services.cache.revive``)."""
    by_host = cache_for("store_by_host", (Store,))
    host = request.host.lower()
    cached = _current(by_host, host)
    if cached is not None:
        return cached
    store, named = stores.store_for_host(host, current_app.config.get("PLATFORM_DOMAIN"))
    if named:
        if store is None:
            raise NotFound("No store lives at this address", code="store_not_found")
        by_host.put(host, snapshot(store))
        return store
    if not stores.serves_bare_host(host):
        raise NotFound("No store lives at this address", code="unknown_host")
    acting = acting_store_id()
    if acting:
        store = stores.get_store(acting)
        if store is not None and store.status != "deleted":
            return store
    tenant = _token_tenant()
    if tenant:  # the token's store, cached by id like a host's (a checkout or an app polls by token)
        by_id = cache_for("store_by_id", (Store,))
        cached = _current(by_id, tenant)
        if cached is not None:
            return cached
        store = stores.get_store(tenant)
        if store is not None:
            by_id.put(tenant, snapshot(store))
        return store
    default = cache_for("default_store", (Store,))
    cached = _current(default, "default")
    if cached is not None:
        return cached
    store = stores.default_store()
    if store is not None:
        default.put("default", snapshot(store))
    return store


ACT_AS_KEY = "act_as"
ACT_AS_PATHS = ("/admin", "/logout")


def acting_store_id() -> str | None:
    """The store a sysadmin is acting as ("act as store", ``services.tenants.act_as``): a signed,
    one-hour marker in their session, honoured only on the dashboard's paths (/admin) and only when
    it names the session's own sysadmin. Nobody else's session can carry one."""
    if not request.path.startswith(ACT_AS_PATHS) or request.path.startswith("/api/"):
        return None
    marker = session.get(ACT_AS_KEY)
    if not marker:
        return None
    store_id = tenants.acting_store(marker, (session.get("_user_id") or "").partition(":")[0])
    if store_id is None:
        session.pop(ACT_AS_KEY, None)
    return store_id


def refuse_control_characters() -> None:
    """Before anything reads them: a path segment with a control character names nothing (404);
    a query parameter with one is a bad request (400). Bodies are checked by their schema
    (API) or their form (pages)."""
    if any(isinstance(v, str) and has_control_chars(v) for v in (request.view_args or {}).values()):
        raise NotFound("Nothing was found at this address", code="not_found")
    for name, value in request.args.items(multi=True):
        if has_control_chars(value) or has_control_chars(name):
            raise Invalid(f"The query parameter {name!r} {CONTROL_MESSAGE}", code="control_character",
                          details={name: [CONTROL_MESSAGE]}, status=400)


class PageForm(FlaskForm):
    """The pages' forms: a text field with a control character (such as NUL) is refused next to
    the field. ``raw_fields`` are checked by their service instead (a stock list, line by line)."""

    raw_fields: tuple[str, ...] = ()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if field.name not in self.raw_fields and isinstance(field.data, str) and has_control_chars(field.data):
                field.errors = [*field.errors, f"This field {CONTROL_MESSAGE}"]
                valid = False
        return valid


def bearer_scheme_any_case() -> None:
    """An authorization scheme is case-insensitive (RFC 9110 11.1): ``bearer x`` is ``Bearer x``,
    which is the only spelling flask-jwt-extended reads."""
    value = request.environ.get("HTTP_AUTHORIZATION", "")
    if value[:7].lower() == "bearer " and not value.startswith("Bearer "):
        request.environ["HTTP_AUTHORIZATION"] = "Bearer " + value[7:].lstrip()  # request.headers reads the environ


def register_store_binding(app: Flask) -> None:
    app.before_request(refuse_control_characters)
    app.before_request(bearer_scheme_any_case)

    @app.before_request
    def bind_request_store():
        if request.path in NO_STORE_PATHS:
            g.store = None
            return None
        storeless = request.path.startswith(STORELESS_PREFIXES)
        try:
            store = resolve_request_store()
        except NotFound:
            if storeless:
                store = None
            else:
                raise
        g.store = store
        if store is None:
            if storeless:
                return None
            raise Unavailable("This platform has no store yet. Create one with "
                              "'flask --app app create-store' or 'flask --app app seed-demo'.", code="no_store")
        if store.status == "deleted":
            if storeless:
                return None
            raise NotFound("This store no longer exists", code="store_not_found")
        g._tenant_token = tenancy.bind(store.id)
        g.acting = acting_store_id() == store.id  # (None off the dashboard's paths: no session read)
        observability.bind(store_id=store.id)
        # a suspended store's admins may still sign in: its dashboard says why (admin/__init__.py)
        if store.status == "suspended" and not storeless and not request.path.startswith(SUSPENDED_OPEN):
            raise Unavailable("This store is temporarily unavailable", code="store_suspended")
        return None

    @app.teardown_request
    def unbind_request_store(exc=None):
        token = g.pop("_tenant_token", None)
        if token is not None:
            tenancy.unbind(token)


# --- pages --------------------------------------------------------------------------------------


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page. Boosted navigation and history restores
    (a cache miss on Back) need the full page even though they carry ``HX-Request``."""
    return (is_htmx() and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def major_text(minor: int | None, currency: str) -> str:
    """Minor units as the text a form field shows ("4999" -> "49.99")."""
    if minor is None:
        return ""
    exp = exponent(currency)
    return f"{Decimal(int(minor)).scaleb(-exp):.{exp}f}"


def typed_money(text: str | None, currency: str, field: str) -> int:
    """An amount typed into a page's form in major units ("49.99") as minor units
    (``services.money.to_minor``). A refusal says what to type, not the field's inner name
    ("unit_cost must be a number"); ``details`` still name the field, so it shows next to it."""
    text = (text or "").strip().replace(" ", "")
    try:
        return to_minor(text, currency, field=field)
    except Invalid as error:
        problem = (error.details.get(field) or ["not a number"])[0]
        dotted = text.replace(",", ".")
        hint = (f"use a dot before the decimals ({dotted}, not {text})"
                if text.count(",") == 1 and "." not in text and dotted.replace(".", "", 1).lstrip("-").isdigit()
                else f"enter an amount such as {major_text(500, currency)}")
        raise Invalid(f"{problem[:1].upper()}{problem[1:]}: {hint}", details=error.details) from error


def page_arg(name: str = "page") -> int:
    try:
        return max(1, min(int(request.args.get(name, 1)), 100_000))
    except (TypeError, ValueError):
        return 1


def page_url(page: int, endpoint: str | None = None, **values) -> str:
    """The current URL with another page number (or ``endpoint``'s URL with ``page``)."""
    if endpoint:
        return url_for(endpoint, page=page, **values)
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return request.path + "?" + urlencode(args, doseq=True)


def csrf_exempt(view):
    """A page view that takes unsafe requests without a CSRF token: only the one-click
    unsubscribe (RFC 8058: the mail provider POSTs to it; its signed token is the authority)."""
    view.csrf_exempt = True
    return view


def role_required(minimum: Role):
    """Pages: anonymous users go to the login page; weaker roles get 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                flash("Sign in to see that page.", "info")
                return redirect(url_for("storefront.login", next=request.full_path.rstrip("?")))
            if not Role(current_user.role).at_least(minimum):
                abort(403)
            if minimum.at_least(Role.STAFF):  # staff work is audited; a shopper's own pages are not
                audit_as(current_user)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def requires_feature(feature: str):
    """Pages and API views of a feature a plan may leave out (``services.plans.require_feature``):
    a store without it gets a 403 ``feature_not_enabled`` naming the addon (the API's envelope; a
    page's upgrade hint, app.py). Put it under ``role_required`` / ``access``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            plans.require_feature(g.get("store"), feature)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def apply_form_errors(form, error: DomainError, *, field: str | None = None,
                      codes: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form, once. An error about one of the form's fields puts its
    sentence (``error.message``) next to that field; one about several puts each field's detail
    next to it and the sentence on the form. An error that names none of the form's fields goes
    next to the field ``codes`` gives for its code, else ``field``, else on the form itself."""
    message, details = error.said(shown_money)  # amounts as the page shows money ("€54.89", not "54.89 EUR")
    named = [name for name in details if hasattr(getattr(form, name, None), "errors")]
    if not named and (target := (codes or {}).get(error.code, field)):
        named = [target]
    if len(named) == 1:
        target = getattr(form, named[0])
        target.errors = list(target.errors) + [message]
        return
    for name in named:
        messages = details[name]
        target = getattr(form, name)
        target.errors = list(target.errors) + list(messages if isinstance(messages, list) else [messages])
    form.form_errors.append(message)


@contextmanager
def form_errors(form, *, field: str | None = None, codes: dict[str, str] | None = None) -> Iterator[None]:
    """Run a form's service call: a ``DomainError`` undoes what the call wrote (a savepoint; what
    the request did before stays), becomes the form's messages (``apply_form_errors``), and the
    view goes on to re-render the form with ``form_status`` 422. The request still commits once,
    at its boundary. This is the one place where pages turn a domain error into form messages."""
    try:
        with db.session.begin_nested():
            yield
    except DomainError as error:
        form.domain_error = error  # a view that answers with the error's own status reads it here
        apply_form_errors(form, error, field=field, codes=codes)


@contextmanager
def db_savepoint() -> Iterator[None]:
    """A service call whose refusal must undo only what it wrote (the page then says why and goes
    on; the request still commits once, at its boundary)."""
    with db.session.begin_nested():
        yield


def private(response: Response, *, secret_url: bool = False) -> Response:
    """A page with the buyer's own data: never cached; a secret link never leaks as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    if secret_url:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def items_download(order, viewer, *, secret_url: bool = False) -> Response:
    """An order's delivered items as a .txt download (storefront and admin order pages)."""
    text = orders.items_text(order, orders.deliverables(order, viewer=viewer, ip=request.remote_addr))
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="order-{order.order_number}-items.txt"'
    return private(response, secret_url=secret_url)


def _streamed(store_id: str, chunks: Iterator[str]) -> Iterator[str]:
    # The request's own teardown has run by now (its store unbound, its session committed and
    # closed; stream_with_context only pushes the contexts back): read in the store's scope, in a
    # transaction that on SQLite begins deferred (a long export never holds the write lock).
    token = transactions.begin_request("GET")
    try:
        with tenancy.tenant_scope(store_id):
            yield from chunks
    finally:
        db.session.rollback()
        transactions.end_request(token)


def csv_download(chunks: Iterator[str], filename: str) -> Response:
    """A CSV attachment of the request's store, streamed chunk by chunk as ``chunks`` reads the
    database (``stream_with_context`` keeps the app and request contexts); never cached."""
    response = Response(stream_with_context(_streamed(g.store.id, chunks)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return private(response)


def forget_session_changes() -> None:
    """The request failed: what it put in the browser session (a flash, a sign-in, a cart key) goes
    with its database work. The session is read again from the cookie the request came with."""
    session = request_ctx.session
    if getattr(session, "modified", False):
        original = current_app.session_interface.open_session(current_app, request) or {}
        session.clear()
        session.update(original)
        session.modified = False  # nothing new to send: the browser keeps the cookie it has
        g.pop("_login_user", None)  # Flask-Login's cached user of this request


def reread() -> None:
    """Before rendering a fragment after a change: send what this request changed to the database
    and forget loaded rows, so the fragment reads the rows as they are now."""
    db.session.flush()
    db.session.expire_all()


def form_status(form) -> int:
    """422 for a form with errors (htmx swaps it in; static/js/app.js), else 200."""
    return 422 if (form.errors or form.form_errors) else 200


def error_status(form) -> int:
    """The status of a refused form: the service's own (403, 409) when it refused, else
    ``form_status`` (422 for a field's error)."""
    error = getattr(form, "domain_error", None)
    return error.status if error is not None and error.status >= 400 else form_status(form)


def shown_money(minor, currency: str | None = None) -> str:
    """Money as this request's store shows it (``stores.show_money``): the ``money`` filter of
    pages and emails, and the dashboard's flash messages."""
    return stores.show_money(minor, currency, g.get("store"))


def said(error: DomainError | None) -> str:
    """A domain error's message as a page says it: its amounts as ``shown_money`` ("€54.89"), not
    as the API does ("54.89 EUR"). The ``said`` filter of pages."""
    return error.said(shown_money)[0] if error is not None else ""


# --- the page session's cart (RECONCILE.md "Carts": the browser's session cookie) --------------

def page_cart_owner() -> tuple[User | None, str | None]:
    """Whose cart the browser's page session names: its signed-in user (user, None), else the guest
    key its first add to cart kept in the session (None, key), else (None, None). The shop's pages
    use it, and the API when no token and no ``X-Session-ID`` names a cart (api/cart_owner.py)."""
    if current_user.is_authenticated:
        return current_user._get_current_object(), None
    return None, session.get(CART_KEY)


def require_page_csrf() -> None:
    """An unsafe API request that only the page session's cookie authorises (no token, no
    ``X-Session-ID``) must carry the page's CSRF token in the ``X-CSRFToken`` header, as every page
    form and htmx request does (``<body hx-headers>``): the browser would send the cookie along with
    another site's request too. The API is otherwise exempt (tokens and headers are not sent by a
    browser on its own), so this is the one place its cookie writes are checked. 400 ``csrf_failed``."""
    try:
        csrf.protect()
    except CSRFError as error:
        raise DomainError("This request is identified by the shop's session cookie only: send the page's CSRF "
                          "token in the X-CSRFToken header (or use a token or X-Session-ID)",
                          code="csrf_failed", status=400, details={"X-CSRFToken": [error.description]}) from error


# --- product cards: their markup cached per process ------------------------------------------

CARD_CACHE_SIZE = 4096  # entries per process (a card is ~1.5 kB): full, the cache starts over
HEART_SLOT = "<!--heart-slot-->"


def _reseller_bps() -> int:
    """The signed-in reseller's discount in basis points (0 for everyone else), read once a request
    (a grid asks it for every card)."""
    bps = g.get("_card_reseller_bps")
    if bps is None:
        user = current_user if current_user and current_user.is_authenticated else None
        bps = g._card_reseller_bps = cart_service.reseller_bps(user)
    return bps


def card_key(product) -> tuple:
    """Everything a product card's markup depends on (``storefront/_product_card.html``): the store
    and its version (its currency and locale for the price), the product's fields the card shows
    and its category's, and the viewer's reseller discount (the card shows their own price, as the
    product page and the cart do). The wishlist heart is left out of the markup and rendered per
    request. A new field read by the card must be added here."""
    store, category = g.store, product.category
    return (store.id, store.updated_at, _reseller_bps(), product.id, product.slug, product.title, product.kind,
            product.is_featured,
            product.primary_image_url, product.starting_at, product.review_count, product.average_rating,
            product.stock_total, product.low_stock_limit,
            None if category is None else (category.slug, category.title, category.hex_code, category.image_url))


def card_parts(product, guest_heart: bool = False) -> tuple[Markup, Markup]:
    """A product card's markup before and after its wishlist heart, rendered once per ``card_key``
    and then served from a bounded per-process dict: 24 cards cost a dict lookup each, not a
    template include (~0.2 ms each). Whatever changes a field the card shows changes the key, so
    a stale card is never served; an old key simply ages out.

    ``guest_heart``: a guest's heart (the same for every guest: a link to sign in that comes back
    to this page) is kept inside the card, keyed by the page's path too; a signed-in shopper's
    heart (their CSRF token, whether they saved it) is never cached: the grid draws it between the
    two parts."""
    cache = current_app.extensions.setdefault("card_cache", {})
    key = card_key(product)
    if guest_heart:
        key = (*key, "guest", request.full_path)
    parts = cache.get(key)
    if parts is None:
        if guest_heart:
            html = render_template("storefront/_product_card.html", p=product, hearts=Hearts(on=True))
            parts = (Markup(html), Markup(""))
        else:
            html = render_template("storefront/_product_card.html", p=product, heart_slot=Markup(HEART_SLOT))
            head, _, tail = html.partition(HEART_SLOT)
            parts = (Markup(head), Markup(tail))
        if len(cache) >= CARD_CACHE_SIZE:
            cache.clear()
        cache[key] = parts
    return parts


def path_for(endpoint: str, **values) -> str:
    """``url_for`` for the layouts' constant links (the static files, the shop's menu), worked out once
    per app and script root: there is no subdomain or host routing and no URL default, so a path
    depends on nothing else. ~15 ``url_for`` calls were ~3 % of a catalog page."""
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    paths = current_app.extensions.setdefault("layout_paths", {})
    path = paths.get(key)
    if path is None:
        if len(paths) >= 1024:
            paths.clear()
        path = paths[key] = url_for(endpoint, **values)
    return path


def register_web(app: Flask) -> None:
    app.add_template_global(card_parts, "card_parts")
    app.add_template_global(path_for, "path_for")

    @app.context_processor
    def _store_context():
        store = g.get("store")
        if store is None:
            return {"store": None, "store_settings": None}
        settings = settings_of(store)
        return {
            "store": store,
            "store_settings": settings,
            "theme": theme_or_default(settings.theme),
            "announcement_presets": ANNOUNCEMENT_PRESETS,
            "Role": Role,
        }

    # Slugs are made by services.text.slugify ([a-z0-9-] only), so these paths need no quoting.
    # They replace url_for in product grids, where 48 url_for calls cost a third of a page render.
    @app.template_global("product_path")
    def _product_path(slug: str) -> str:
        return "/p/" + slug

    @app.template_global("category_path")
    def _category_path(slug: str) -> str:
        return "/c/" + slug

    app.add_template_filter(shown_money, "money")
    app.add_template_filter(said, "said")

    app.add_template_global(page_url, "page_url")
    app.add_template_filter(contrast_text, "contrast_text")
    app.add_template_global(stock_state, "stock_state")

    @app.template_global("reseller_price")
    def _reseller_price(amount: int) -> int | None:
        """The signed-in reseller's own price for ``amount`` (``services.cart.reseller_discount``,
        the rule the cart applies), or None when nothing comes off."""
        user = current_user if current_user and current_user.is_authenticated else None
        off = cart_service.reseller_discount(amount, user) if user is not None else 0
        return amount - off if off else None

    @app.template_global("feature_on")
    def _feature_on(feature: str) -> bool:
        """Whether this request's store has ``feature``: a page (the shop's account menu, the
        dashboard's sidebar) shows a gated feature's links only when it does. ``plans.store_features``:
        every feature at once, asked once a request and kept in a read cache, so the links cost no
        query while it holds (the gate behind each link asks ``plans.require_feature`` itself)."""
        if "_features_on" not in g:
            g._features_on = plans.store_features(g.get("store"))
        return feature in g._features_on

    @app.template_global("site_pages")
    def _site_pages():
        """The CMS pages the shop links to (services.pages.site_links: cached, no query)."""
        store = g.get("store")
        return pages.site_links(store) if store is not None else []

    @app.template_filter("duration")
    def _duration(seconds) -> str:
        """``3 d 4 h``, ``5 h 10 min``, ``12 min``: how long is left, to the minute."""
        seconds = max(int(seconds or 0), 0)
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        if days:
            return f"{days} d {hours} h" if hours else f"{days} d"
        if hours:
            return f"{hours} h {minutes} min" if minutes else f"{hours} h"
        return f"{max(minutes, 1)} min"

    @app.template_filter("country_name")
    def _country_name(code: str | None) -> str:
        """``PT`` -> ``Portugal`` (Babel's English names, as the address forms list them)."""
        return dict(addresses.country_choices()).get((code or "").upper(), code or "")

    @app.template_filter("method_label")
    def _method_label(method: str) -> str:
        return payments.LABELS.get(method, method)

    @app.template_filter("has_role")
    def _has_role(user, role_name: str) -> bool:
        return bool(user and getattr(user, "is_authenticated", False) and Role(user.role).at_least(Role(role_name)))

    @app.after_request
    def _vary_on_htmx(response):
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response


# --- security headers ---------------------------------------------------------------------------

# Every response (pages, fragments, error pages, JSON) carries this policy. Scripts and styles come
# from our own origin only (htmx, Chart.js and Swagger UI are vendored under static/vendor): no
# inline <script>, no inline event handler, no hx-on, no eval, no <style> element. The one
# exception is style="" attributes (style-src-attr), which carry data-driven colours (a category's
# hex code, the store's brand colours on <html>, an announcement preset): an attribute can set
# properties of its own element only, and the url()s it could name are held to img-src.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
}


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def form_action(config) -> str:
    """Checkout forms answer with a redirect to the payment provider's hosted page, and browsers
    hold that redirect to form-action: allow our origin and the providers' pages (those of the
    configured API bases too, so a local fake's pages work). The Integrations page's "Connect
    Moloni" form answers with a redirect to Moloni's authorize page: its origin too."""
    apis = [config.get("STRIPE_API_BASE"), config.get("HOODPAY_API_BASE")]
    origins = [*config.get("PAYMENT_PAGE_ORIGINS", []),
               *(_origin(api) for api in apis if api and not api.startswith("https://api.hoodpay.io")),
               _origin(config.get("MOLONI_AUTH_URL"))]
    return " ".join(["'self'", *dict.fromkeys(o for o in origins if o)])


def register_security_headers(app: Flask) -> None:
    """Flask-Talisman sets the headers: the CSP above, X-Frame-Options SAMEORIGIN,
    X-Content-Type-Options nosniff, Referrer-Policy strict-origin-when-cross-origin, and in
    production Strict-Transport-Security on HTTPS requests (``X-Forwarded-Proto: https`` from the
    proxy counts). A header a response set itself stays (``extensions.SecurityHeaders``).

    TLS ends at the proxy, so Talisman redirects nothing to https, and the session cookie flags are
    the ones config.py chose (Talisman would otherwise force ``Secure`` outside production too).
    HSTS leaves out ``includeSubDomains``: a custom domain's subdomains belong to the store owner."""
    config = app.config
    hsts_max_age = int(config.get("HSTS_MAX_AGE") or 0)
    security_headers.init_app(
        app,
        force_https=False,
        strict_transport_security=config.get("APP_ENV") == "production" and hsts_max_age > 0,
        strict_transport_security_max_age=hsts_max_age,
        strict_transport_security_include_subdomains=False,
        content_security_policy={**CONTENT_SECURITY_POLICY, "form-action": form_action(config)},
        frame_options="SAMEORIGIN",
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )


# --- operations: request ids, the log context, /metrics ------------------------------------------

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
QUIET_PREFIXES = ("/static/", "/uploads/")  # their request lines are DEBUG
_log = observability.get_logger("web")


def register_request_context(app: Flask) -> None:
    """Every request gets an id (a sane incoming ``X-Request-ID``: at most 64 of ``[A-Za-z0-9._-]``,
    else a new one), echoed in the ``X-Request-ID`` answer header. It, the store (bound in
    ``bind_request_store``) and the signed-in user (``bind_user``: the page session's user loader,
    a page sign-in, the API's ``current_principal``) are on every log line of the request, which
    ends with one ``http_request`` line. Register it before any other request hook."""

    @app.before_request
    def bind_request_context():
        observability.clear()  # a thread serves many requests: nothing of the last one stays
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g._request_started = time.perf_counter()
        observability.bind(request_id=g.request_id)

    @user_logged_in.connect_via(app)
    def _signed_in(_sender, user, **_extra):
        bind_user(user)
        session[SESSION_ID_KEY] = auth_service.new_session_id()

    @user_loaded_from_cookie.connect_via(app)
    def _remembered(_sender, user, **_extra):
        session[SESSION_ID_KEY] = auth_service.new_session_id()

    @user_logged_out.connect_via(app)
    def _signed_out(_sender, user, **_extra):
        session_id = session.pop(SESSION_ID_KEY, None)
        if session_id:  # refused from now on by every instance (services.auth.revoke_session)
            auth_service.revoke_session(session_id)

    @app.after_request
    def request_line(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("_request_started")
        level = "debug" if request.path.startswith(QUIET_PREFIXES) else "info"
        getattr(_log, level)("http_request", method=request.method, path=observability.redact_url(request.path),
                             endpoint=request.endpoint, status=response.status_code,
                             duration_ms=round((time.perf_counter() - started) * 1000, 2) if started else None)
        return response

    @app.teardown_request
    def clear_request_context(_exc=None):
        observability.clear()
        audit.clear_actor()


def audit_as(user) -> None:
    """A staff+ caller of a staff+ page or endpoint: what this request changes is audited as theirs
    (``services.audit``; cleared when the request ends)."""
    audit.set_actor(user, request.remote_addr)


def bind_user(user) -> None:
    """The request's user is known: its id goes on every following log line."""
    if user is not None and getattr(user, "id", None):
        observability.bind(user_id=user.id)


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def metrics_guard(view):
    """``/metrics``: with ``METRICS_TOKEN`` set, only ``Authorization: Bearer <METRICS_TOKEN>``
    (else 401); without it, nothing in production (404) and loopback callers only in development."""

    @wraps(view)
    def guarded(*args, **kwargs):
        token = current_app.config.get("METRICS_TOKEN")
        if token:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
                return Response("Send Authorization: Bearer <METRICS_TOKEN>\n", 401, mimetype="text/plain",
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        elif current_app.config.get("APP_ENV") == "production" or not _is_loopback(request.remote_addr):
            return Response("Not found\n", 404, mimetype="text/plain")
        return view(*args, **kwargs)

    guarded._spec = {"hide": True}  # not part of the API document (APIFlask lists app routes otherwise)
    return guarded


def register_tls_ask(app: Flask) -> None:
    """``GET /internal/tls-ask?domain=<name>``: the reverse proxy's on-demand TLS question (Caddy's
    ``on_demand_tls { ask ... }``, docs/deploy.md): 200 when this platform serves the domain
    (``services.stores.serves_domain``), else 404. Only for the proxy: loopback callers, or any
    caller that sends ``TLS_ASK_TOKEN`` (``?token=`` or ``Authorization: Bearer``) when it is set."""

    def tls_ask():
        token = current_app.config.get("TLS_ASK_TOKEN")
        given = request.args.get("token") or ""
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = given or bearer.strip()
        allowed = (bool(token) and hmac.compare_digest(given.encode(), token.encode())) or (
            not given and _is_loopback(request.remote_addr))
        if not allowed:
            return Response("Forbidden\n", 403, mimetype="text/plain")
        if stores.serves_domain(request.args.get("domain")):
            return Response("OK\n", 200, mimetype="text/plain")
        return Response("Unknown domain\n", 404, mimetype="text/plain")

    tls_ask._spec = {"hide": True}  # an operator's endpoint, not part of the API document
    app.add_url_rule("/internal/tls-ask", "tls_ask", tls_ask, methods=["GET"])


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class AppMetrics(PrometheusMetrics):
    """prometheus-flask-exporter, one per app with its own registry (the business counters and
    the queue gauges added: ``services.metrics.register``). With ``PROMETHEUS_MULTIPROC_DIR`` (several
    gunicorn workers) a scrape adds up every worker's files, plus the business metrics read now."""

    def generate_metrics(self, accept_header=None, names=None):
        if not _multiprocess():
            return super().generate_metrics(accept_header, names)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        business_metrics.register(registry, self.app_of_registry, local=False)
        if names:
            registry = registry.restricted_registry(names)
        encode, content_type = choose_encoder(accept_header)
        return encode(registry).decode("utf-8"), content_type


def _endpoint() -> str:
    return request.endpoint or "unmatched"


def url_rule(req) -> str:
    """The latency histogram's group: the URL rule (``/api/orders/<order_id>``), never the raw path,
    so ids do not multiply the series."""
    return req.url_rule.rule if req.url_rule is not None else "unmatched"


def register_metrics(app: Flask) -> None:
    """``flask_http_request_total{method,status,endpoint}``, ``flask_http_request_duration_seconds``
    (by ``url_rule`` and endpoint), ``flask_http_request_exceptions_total`` and the business metrics
    of ``services.metrics``, at ``/metrics`` (``metrics_guard``). Static files and uploads are not
    counted, nor the scrape itself. ``METRICS_ENABLED=0`` turns it all off."""
    if not app.config.get("METRICS_ENABLED", True):
        return
    registry = CollectorRegistry()
    business_metrics.register(registry, app)
    exporter = AppMetrics.for_app_factory(
        registry=registry, group_by=url_rule, default_labels={"endpoint": _endpoint},
        excluded_paths=["^/static/", "^/uploads/", "^/metrics$"], metrics_decorator=metrics_guard,
    )
    exporter.app_of_registry = app
    exporter.init_app(app)
    app.extensions["prometheus_metrics"] = exporter
