"""Stores: creation, settings (Seed B StoreConfig) and request resolution."""
from __future__ import annotations

import re
import time
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import select

from extensions import db
from models import PAYMENT_METHODS, Store
from models.base import utcnow
from tenancy import current_store_id, tenant_scope

from . import pages, plans
from .addresses import is_country
from .cache import cache_for, declare
from .errors import Conflict, Invalid, NotFound
from .money import check_currency, check_locale, display_money
from .text import CONTROL_MESSAGE, has_control_chars
from .themes import DEFAULT_THEME, THEMES

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HEX_RE = r"^#[0-9a-fA-F]{6}$"
RESERVED_SLUGS = {"www", "api", "admin", "static", "mail", "sysadmin", "platform"}
TOPUP_LIMIT = 10**10  # the largest top-up limit a store may set, minor units (100,000,000.00 EUR)
# the settings that are money (minor units here; major units in the configuration document,
# services.store_config), and how a refusal names them
MONEY_SETTINGS = {"topup_min": "top-up minimum", "topup_max": "top-up maximum"}
MANUAL_INSTRUCTIONS_MAX = 2000  # characters of the manual payment instructions (bank details, a PayPal address...)

# Announcement bar presets: template number -> (background, text colour, label)
ANNOUNCEMENT_PRESETS = {
    0: ("var(--brand)", "var(--brand-contrast)", "Brand"),
    1: ("#0f766e", "#ffffff", "Success"),
    2: ("#b45309", "#ffffff", "Warning"),
    3: ("#b91c1c", "#ffffff", "Alert"),
    4: ("#111827", "#f9fafb", "Dark"),
    5: ("linear-gradient(90deg,#7c3aed,#db2777)", "#ffffff", "Sale"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _whole_number(value, info: ValidationInfo):
    """A number setting is a number: pydantic would read ``true`` as 1."""
    if isinstance(value, bool):
        raise ValueError(f"{info.field_name.replace('_', ' ')} must be a whole number, not true or false")
    return value


def _stored(info: ValidationInfo) -> bool:
    """Validating what a store already has saved (``settings_of``), not a change."""
    return bool(info.context and info.context.get("stored"))


class PaymentMethodSetting(_Strict):
    name: Literal[PAYMENT_METHODS]
    enabled: bool = False


class ExternalLink(_Strict):
    name: str = Field(min_length=1, max_length=40)
    href: str = Field(min_length=1, max_length=500)
    in_nav_bar: bool = True
    in_footer: bool = True
    emoji_icon: str = Field(default="", max_length=8)

    @field_validator("href")
    @classmethod
    def _safe_href(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("/") and not value.startswith("//"):
            return value
        if re.match(r"^(https?://|mailto:)", value, re.I):
            return value
        raise ValueError("links must start with https://, http://, mailto: or /")


class AnnouncementBar(_Strict):
    enabled: bool = False
    template: int = Field(default=0, ge=0, le=max(ANNOUNCEMENT_PRESETS))
    text: str = Field(default="", max_length=300)
    scrolling: bool = False
    scroll_direction: Literal["left", "right"] = "left"

    _numbers = field_validator("template", mode="before")(_whole_number)


class Branding(_Strict):
    primary_color: str = Field(default="#4f46e5", pattern=HEX_RE)
    accent_color: str = Field(default="#0ea5e9", pattern=HEX_RE)
    background_color: str = Field(default="#f8fafc", pattern=HEX_RE)
    text_color: str = Field(default="#0f172a", pattern=HEX_RE)
    logo_url: str | None = Field(default=None, max_length=500)
    banner_url: str | None = Field(default=None, max_length=500)
    hero_url: str | None = Field(default=None, max_length=500)
    font_family: str = Field(default="system-ui", max_length=80)
    tagline: str = Field(default="", max_length=160)  # under the store's name in the shop's header

    @field_validator("font_family")
    @classmethod
    def _font_stack(cls, value: str) -> str:
        # it goes into a style attribute: names, commas and quotes only, no other CSS
        if not re.fullmatch(r"[A-Za-z0-9 ,'\"-]+", value):
            raise ValueError("a font stack such as: Georgia, \"Times New Roman\", serif")
        return value

    @field_validator("logo_url", "banner_url", "hero_url")
    @classmethod
    def _image_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not (value.startswith("/uploads/") or value.startswith("https://")) or any(c in value for c in "\"'<> "):
            raise ValueError("an uploaded image (POST /api/branding/upload/{image_type}) or an https:// address")
        return value


def _default_methods() -> list[PaymentMethodSetting]:
    return [PaymentMethodSetting(name=name, enabled=name in ("BALANCE", "MANUAL")) for name in PAYMENT_METHODS]


class StoreSettings(_Strict):
    """Everything a store configures beyond its name, with the defaults a new store gets."""

    payment_methods: list[PaymentMethodSetting] = Field(default_factory=_default_methods)
    external_links: list[ExternalLink] = Field(default_factory=list, max_length=20)
    review_reward: int = Field(default=0, ge=0, le=10)
    enforced_ratings: bool = False
    feedback_window_days: int = Field(default=7, ge=1, le=90)
    reviews_require_approval: bool = False
    announcement_bar_config: AnnouncementBar = Field(default_factory=AnnouncementBar)
    branding: Branding = Field(default_factory=Branding)
    order_expiry_minutes: int = Field(default=30, ge=5, le=7 * 24 * 60)
    allow_free_items: bool = False  # a subcategory priced 0 (a freebie); off, a price of 0 is a mistake
    support_email: str | None = Field(default=None, max_length=254)

    @field_validator("support_email")
    @classmethod
    def _email_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        try:
            return validate_email(value, check_deliverability=False, test_environment=True).normalized
        except EmailNotValidError as exc:
            if _stored(info):  # saved before addresses were checked: read as unset, not as a broken store
                return None
            raise ValueError(f"the support email must be an email address such as help@example.com ({exc})") from exc
    # how a shopper who chose MANUAL pays the store (bank transfer details, a PayPal address...):
    # plain text with its line breaks, shown escaped on the checkout, the order page of a waiting
    # MANUAL order and the 'order received' email; empty: "pay the store directly" alone
    manual_payment_instructions: str = Field(default="", max_length=MANUAL_INSTRUCTIONS_MAX)

    @field_validator("manual_payment_instructions", mode="before")
    @classmethod
    def _instructions(cls, value, info: ValidationInfo) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("the manual payment instructions must be text")
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if has_control_chars(value) or len(value) > MANUAL_INSTRUCTIONS_MAX:
            if _stored(info):
                return ""
            if len(value) > MANUAL_INSTRUCTIONS_MAX:
                raise ValueError(f"the manual payment instructions must be at most {MANUAL_INSTRUCTIONS_MAX} "
                                 f"characters (these are {len(value)})")
            raise ValueError(f"the manual payment instructions {CONTROL_MESSAGE}")
        return value

    # the store's time zone (IANA name): the dashboard's days and months are local ones
    timezone: str = Field(default="UTC", max_length=64)
    # how money and dates read in the shop and emails (Babel): en -> €10.99, pt_PT -> 10,99 €
    locale: str = Field(default="en", max_length=16)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        return check_locale(value)

    # the look (services/themes.py): layout switches and the palette it started the branding with
    theme: str = Field(default=DEFAULT_THEME, max_length=40)
    # the product page says how many units were sold (paid orders): social proof the merchant opts into
    show_sold_count: bool = False

    @field_validator("theme")
    @classmethod
    def _known_theme(cls, value: str) -> str:
        if value not in THEMES:
            raise ValueError(f"one of the store templates: {', '.join(THEMES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone such as Europe/Lisbon") from exc
        return value

    # taxes (services/taxes.py): prices typed with tax in them, or tax added on top; the country
    # whose rules tax a buyer whose country is unknown (a digital-only checkout asks for no address)
    prices_include_tax: bool = False
    tax_country: str | None = Field(default=None, max_length=2)

    @field_validator("tax_country")
    @classmethod
    def _country_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip().upper()
        if value and not is_country(value):
            if _stored(info):
                return None
            raise ValueError("the tax country must be a two-letter ISO code such as PT")
        return value or None

    # balance top-ups, in minor units of the store's currency (major units in the configuration
    # document: services.store_config)
    topup_min: int = Field(default=100, ge=1, le=TOPUP_LIMIT)
    topup_max: int = Field(default=100_000, ge=1, le=TOPUP_LIMIT)

    _numbers = field_validator("review_reward", "feedback_window_days", "order_expiry_minutes", "topup_min",
                               "topup_max", mode="before")(_whole_number)

    @field_validator("topup_max")
    @classmethod
    def _max_above_min(cls, value: int, info) -> int:
        if value < info.data.get("topup_min", 1):
            raise ValueError("the top-up maximum must be at least the minimum")
        return value

    @field_validator("payment_methods")
    @classmethod
    def _all_methods(cls, value: list[PaymentMethodSetting]) -> list[PaymentMethodSetting]:
        seen = {m.name: m for m in value}
        if len(seen) != len(value):
            raise ValueError("each payment method may appear once")
        return [seen.get(name) or PaymentMethodSetting(name=name, enabled=False) for name in PAYMENT_METHODS]

    def enabled_methods(self) -> list[str]:
        return [m.name for m in self.payment_methods if m.enabled]


def settings_of(store: Store) -> StoreSettings:
    """The store's settings with defaults filled in (cached on the instance)."""
    cached = getattr(store, "_settings_cache", None)
    if cached is not None and cached[0] is store.settings:
        return cached[1]
    try:
        parsed = StoreSettings.model_validate(store.settings or {}, context={"stored": True})
    except ValidationError:
        parsed = StoreSettings()
    store._settings_cache = (store.settings, parsed)
    return parsed


def update_settings(store: Store, changes: dict) -> StoreSettings:
    """Merge ``changes`` (a partial StoreConfig) into the store's settings, validated whole."""
    current = settings_of(store).model_dump()
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    try:
        parsed = StoreSettings.model_validate(current)
    except ValidationError as exc:
        details = _errors(exc)
        messages = [m for ms in details.values() for m in ms]
        # one problem: say it (a page shows the sentence next to its field); several: the details do
        message = messages[0][:1].upper() + messages[0][1:] if len(messages) == 1 else "Invalid store settings"
        raise Invalid(message, details=details, amounts=_limit_amounts(store.currency)) from exc
    store.settings = parsed.model_dump(mode="json")
    db.session.flush()
    return parsed


def _limit_amounts(currency: str) -> dict:
    """The amounts ``_errors``' texts name: a money setting's bounds (``DomainError``'s ``amounts``)."""
    return {"topup_low": (1, currency), "topup_high": (TOPUP_LIMIT, currency)}


def _errors(exc: ValidationError) -> dict:
    """pydantic's complaints by dotted field path; a money setting out of range is said in the
    store's currency, as amounts ``{topup_low}`` and ``{topup_high}`` (pydantic would say "less than
    or equal to 10000000000", minor units)."""
    out: dict[str, list[str]] = {}
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "_schema"
        message = err["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        if path in MONEY_SETTINGS and err["type"] in ("greater_than_equal", "less_than_equal"):
            message = f"the {MONEY_SETTINGS[path]} must be from {{topup_low}} to {{topup_high}}"
        out.setdefault(path, []).append(message)
    return out


def normalize_domain(domain: str | None) -> str | None:
    if not domain:
        return None
    domain = domain.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(domain):
        raise Invalid("That is not a valid domain name", details={"custom_domain": ["invalid domain"]})
    return domain


def check_name(name: str | None) -> str:
    """A store's name, trimmed: 1-120 characters on one line (it heads every email of the store,
    in From and subjects, where a line break stops the email from being sent)."""
    name = (name or "").strip()
    if not name or len(name) > 120 or "\n" in name or "\r" in name:
        raise Invalid("Store name must be 1-120 characters on one line", details={"name": ["invalid name"]})
    return name


def create_store(slug: str, name: str, *, domain: str | None = None, currency: str = "EUR",
                 description: str = "", is_default: bool | None = None, plan=None) -> Store:
    """A store and its default CMS pages, on ``plan`` (default: the plan "Everything", every
    feature and no limits, so a single-store install never meets a gate)."""
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise Invalid("Store slug must be 1-63 lowercase letters, digits or dashes, and not reserved",
                      details={"slug": ["invalid slug"]})
    name = check_name(name)
    currency = check_currency(currency or "EUR")
    domain = normalize_domain(domain)
    if db.session.scalar(select(Store.id).where(Store.slug == slug)):
        raise Conflict(f"A store with slug '{slug}' already exists", code="slug_taken")
    if domain and db.session.scalar(select(Store.id).where(Store.custom_domain == domain)):
        raise Conflict(f"The domain '{domain}' is already used by another store", code="domain_taken")
    if is_default is None:
        is_default = db.session.scalar(select(Store.id).where(Store.is_default.is_(True))) is None
    if plan is None:
        plan = plans.default_plan()
    if domain:
        plans.check_custom_domain(None, plan)
    store = Store(slug=slug, name=name, custom_domain=domain, currency=currency, description=description,
                  is_default=is_default, settings=StoreSettings().model_dump(mode="json"),
                  plan_id=plan.id if plan is not None else None)
    db.session.add(store)
    db.session.flush()
    with tenant_scope(store):  # its own rows: the pages the footer links to (Terms, Privacy, Refund policy)
        pages.create_default_pages(store.name)
    return store


def set_custom_domain(store: Store, domain: str | None) -> None:
    """Point a domain at the store (``None`` removes it); one domain belongs to one store (409
    ``domain_taken``). Moving ``updated_at`` retires every process's cached host lookups."""
    domain = normalize_domain(domain)
    if domain and domain != store.custom_domain:
        plans.check_custom_domain(store)
    if domain and db.session.scalar(select(Store.id).where(Store.custom_domain == domain, Store.id != store.id)):
        raise Conflict(f"The domain '{domain}' is already used by another store", code="domain_taken")
    store.custom_domain = domain
    store.updated_at = utcnow()
    db.session.flush()


def get_store_by_slug(slug: str) -> Store:
    store = db.session.scalar(select(Store).where(Store.slug == slug))
    if store is None:
        raise NotFound(f"No store with slug '{slug}'", code="store_not_found")
    return store


def store_for_host(host: str, platform_domain: str | None) -> tuple[Store | None, bool]:
    """The store a host names: custom domain, then subdomain of the platform domain.

    Returns ``(store, named)``: ``named`` is True when the host names a store explicitly
    (so a miss is a 404, not a fall-through to the token's store or the default store).
    """
    host = (host or "").split(":", 1)[0].strip().lower().rstrip(".")
    if platform_domain and host.endswith("." + platform_domain):
        slug = host[: -len(platform_domain) - 1]
        if slug and "." not in slug and slug != "www":
            return db.session.scalar(select(Store).where(Store.slug == slug)), True
    if host and host not in ("localhost", "127.0.0.1", "[::1]", platform_domain):
        store = db.session.scalar(select(Store).where(Store.custom_domain == host))
        if store is not None:
            return store, True
    return None, False


# the read caches of rows of this module (web.resolve_request_store, serves_domain)
for _name in ("store_by_host", "store_by_id", "default_store", "tls_domains"):
    declare(_name, (Store,))
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


def serves_domain(domain: str | None) -> bool:
    """Whether this platform serves ``domain`` (the reverse proxy's on-demand TLS question, before
    it asks a certificate authority for one): the platform's own hosts, a subdomain of
    PLATFORM_DOMAIN naming an existing store, or a store's custom domain. A suspended store still
    gets its certificate (so its visitors see its 503 page, not a TLS error); a deleted one does not.

    Answers are cached per process, yes and no alike (a flood of random names costs one query
    each, then none); a store's flush, here or, with Redis, in any process, clears them."""
    name = (domain or "").strip().lower().rstrip(".")
    if not _DOMAIN.match(name):
        return False
    platform = current_app.config.get("PLATFORM_DOMAIN")
    own = {_hostname(urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc)}
    if platform:
        own |= {platform, "www." + platform}
    if name in own:
        return True
    cache = cache_for("tls_domains", (Store,))
    cached = cache.get(name)
    if cached is not None:
        return cached == "yes"
    if platform and name.endswith("." + platform) and "." not in name[: -len(platform) - 1]:
        where = Store.slug == name[: -len(platform) - 1]
    else:
        where = Store.custom_domain == name
    found = db.session.scalar(select(Store.id).where(where, Store.status != "deleted").limit(1)) is not None
    cache.put(name, "yes" if found else "no")
    return found


def _hostname(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):  # [::1]:5000
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0]


def serves_bare_host(host: str) -> bool:
    """Whether a host that names no store may be served (by the token's store or the default
    store). In development any host may (localhost, an IP, a tunnel). In production only the
    platform's own addresses: the host of PUBLIC_BASE_URL and PLATFORM_DOMAIN. Any other Host
    header is someone else's name for this server: it gets nothing, and above all no email
    links or cookies."""
    if current_app.config.get("APP_ENV") != "production":
        return True
    known = {_hostname(urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc)}
    if current_app.config.get("PLATFORM_DOMAIN"):
        known.add(current_app.config["PLATFORM_DOMAIN"])
    return _hostname(host) in known


def default_store() -> Store | None:
    return db.session.scalar(select(Store).where(Store.is_default.is_(True), Store.status != "deleted").limit(1))


def active_store_ids() -> list[str]:
    return list(db.session.scalars(select(Store.id).where(Store.status == "active")))


def store_version(store_id: str):
    """The store row's ``updated_at`` (what a cached copy of the row is checked against)."""
    return db.session.scalar(select(Store.updated_at).where(Store.id == store_id))


# store id -> (updated_at it was confirmed at, monotonic time until which that stands): PostgreSQL
# without Redis (``still_current``)
_confirmed: dict[str, tuple[object, float]] = {}
_DATA_VERSION = "store_versions_data_version"  # on a SQLite connection's info: (data_version, {id: updated_at})


def still_current(store_id: str, updated_at) -> bool:
    """Whether a cached copy of a store row (its ``updated_at``, the version every change of the row
    moves) is still the row, so a settings change made in another process shows here on the next
    request. A change made in THIS process clears the cache at its flush (``services.cache``); this
    is about the others, at the lowest cost each deployment allows:

    * **With Redis** (several workers, machines, RQ workers): no statement. The store caches'
      hits already compare their Redis generation (``services.cache``), which every process that
      commits a change of a Store row bumps (the caches are declared at import, so a CLI or job
      process bumps them too): that check is exact, and the database is not asked again.
    * **SQLite without Redis**: ``PRAGMA data_version`` on the request's own connection, through the
      DBAPI (no round trip, microseconds): it moves when any other connection (another process, or
      this one's pool) commits to the file. Unmoved since this connection confirmed the row's
      version: nobody else wrote, the row is the same. Moved: ``SELECT stores.updated_at`` as before
      (any write anywhere moves it; the shop's reads do not).
    * **PostgreSQL without Redis** (one worker process: ``gunicorn.conf.py`` refuses more without
      Redis; other writers are CLI commands and a second instance started by hand): the
      ``SELECT stores.updated_at`` at most once every ``STORE_VERSION_SECONDS`` (default 1 s) per
      store and process, so such a change shows within a second instead of on the very next
      request. ``STORE_VERSION_SECONDS=0`` asks on every request (the earlier behaviour)."""
    config = current_app.config
    if config.get("REDIS_URL"):
        return True
    if db.session.get_bind().dialect.name == "sqlite":
        connection = db.session.connection()
        data_version = connection.connection.dbapi_connection.execute("PRAGMA data_version").fetchone()[0]
        seen_version, confirmed = connection.info.get(_DATA_VERSION, (None, {}))
        if seen_version == data_version and confirmed.get(store_id) == updated_at:
            return True
        current = store_version(store_id)
        if seen_version != data_version:
            confirmed = {}
        confirmed[store_id] = current
        connection.info[_DATA_VERSION] = (data_version, confirmed)
        return current == updated_at
    window = float(config.get("STORE_VERSION_SECONDS", 1.0))
    now = time.monotonic()
    seen = _confirmed.get(store_id)
    if window > 0 and seen is not None and seen[0] == updated_at and seen[1] > now:
        return True
    current = store_version(store_id)
    _confirmed[store_id] = (current, now + window)
    return current == updated_at


def get_store(store_id: str) -> Store | None:
    return db.session.get(Store, store_id)


def serves_upload(owner_id: str, bound: Store | None, host: str) -> bool:
    """Whether ``/uploads/<owner_id>/...`` (every key starts with its store's id) is served on this
    request. A store's own files, unless it is deleted; on an address that names a store (its
    custom domain or subdomain) nothing of another store; on the platform's own address (a
    sysadmin acting as a store, an API client of any store by its token) any store's but a
    deleted one's: a deleted store is gone from every address, its images too."""
    if bound is not None and owner_id == bound.id:
        return bound.status != "deleted"
    if store_for_host(host, current_app.config.get("PLATFORM_DOMAIN"))[1]:
        return False
    owner = get_store(owner_id) if owner_id else None
    return owner is not None and owner.status != "deleted"


def current_currency() -> str:
    """The bound store's currency: what a service that is not handed the store states amounts in
    (an error's ``details``)."""
    store = get_store(current_store_id()) if current_store_id() else None
    return store.currency if store is not None else "EUR"


def show_money(minor, currency: str | None = None, store: Store | None = None) -> str:
    """Money as a store shows it to people (its ``locale``, Babel): pages, emails, flash messages.
    ``store`` defaults to the bound one (a job rendering an email)."""
    if store is None and current_store_id():
        store = get_store(current_store_id())
    locale = settings_of(store).locale if store is not None else None
    return display_money(minor or 0, currency or (store.currency if store is not None else "EUR"), locale)


def base_url(store: Store) -> str:
    """The store's public address, for links in emails sent outside a request. A subdomain of
    PLATFORM_DOMAIN is served where the platform is, so it keeps PUBLIC_BASE_URL's port (none in
    production; ``:5000`` for ``scripts/run``, whose emailed links would lead nowhere without it)."""
    scheme = current_app.config.get("PREFERRED_URL_SCHEME", "https")
    if store.custom_domain:
        return f"{scheme}://{store.custom_domain}"
    domain = current_app.config.get("PLATFORM_DOMAIN")
    if domain and not store.is_default:
        port = urlsplit(current_app.config["PUBLIC_BASE_URL"]).port
        return f"{scheme}://{store.slug}.{domain}" + (f":{port}" if port else "")
    return current_app.config["PUBLIC_BASE_URL"]


def _message(details: dict) -> str:
    messages = [m for ms in details.values() for m in ms]
    if len(messages) == 1:
        return messages[0][:1].upper() + messages[0][1:]
    return "Invalid store settings"
