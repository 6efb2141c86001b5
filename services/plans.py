"""Plans and addons (Seed A "Plans"): what a store may use, in ONE place.

* ``features_of(store)``: its plan's features plus its addons' (a store with no plan, which only a
  database older than the plans could hold, has everything: it never meets a gate).
* ``require_feature(store, slug)``: 403 ``feature_not_enabled`` naming the addon. Views use
  ``web.requires_feature(slug)``, which calls it; a page answers with an upgrade hint.
* ``check_product_limit``, ``check_staff_limit``, ``check_custom_domain``: the plan's limits,
  403 ``plan_limit_reached`` (called by services.products, services.users, services.stores). A
  counted limit takes a per-(store, limit) advisory lock before it counts (``_limit``; not the
  store's row), so concurrent requests adding to one store are checked one after the other and
  never pass the limit together.
* ``plan_for``, ``set_addons``, ``plans_offered``, ``addons_offered``: a new store, or a store
  changing plan or adding an addon, takes only what is offered (``is_active``; the default plan
  too); a store keeps a plan or addon withdrawn since it took it.
Plans and addons are platform rows; only a sysadmin changes them (``api/sysadmin.py``).
"""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from sqlalchemy import String, cast, exists, func, or_, select, true

from extensions import db
from models import DEFAULT_PLAN_SLUG, FEATURES, Addon, Plan, Product, Role, Store, User, store_addons
from tenancy import current_store_id

from . import audit
from .cache import cache_for, declare
from .errors import Conflict, Forbidden, Invalid, NotFound
from .money import check_currency, check_price

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
STAFF_ROLES = (Role.STAFF.value, Role.MANAGER.value, Role.ADMIN.value)
FEATURE_LABELS = {"wishlist": "Wishlist", "campaigns": "Email campaigns", "moloni": "Moloni invoicing",
                  "custom_theme": "Custom branding"}


# --- reading -----------------------------------------------------------------------------------

def list_plans(*, active_only: bool = False) -> list[Plan]:
    """The plans by currency, then price, then name: prices are compared only within a currency
    (9 USD is not "cheaper" than 10 EUR), so each currency's plans stand together, cheapest first."""
    stmt = select(Plan).order_by(Plan.currency, Plan.monthly_price, Plan.name)
    if active_only:
        stmt = stmt.where(Plan.is_active.is_(True))
    return list(db.session.scalars(stmt))


def list_addons(*, active_only: bool = False) -> list[Addon]:
    """The addons in ``list_plans``'s order: by currency, then price."""
    stmt = select(Addon).order_by(Addon.currency, Addon.monthly_price, Addon.slug)
    if active_only:
        stmt = stmt.where(Addon.is_active.is_(True))
    return list(db.session.scalars(stmt))


def get_plan(plan_id: str) -> Plan:
    plan = db.session.get(Plan, plan_id) if plan_id else None
    if plan is None:
        raise NotFound("No such plan", code="plan_not_found")
    return plan


def plan_by_slug_or_id(value: str) -> Plan:
    plan = db.session.scalar(select(Plan).where((Plan.slug == value) | (Plan.id == value)))
    if plan is None:
        raise Invalid(f"No plan '{value}'", code="unknown_plan", details={"plan": ["unknown plan"]})
    return plan


def _may_take(plan: Plan, store: Store | None) -> bool:
    """THE rule of what plan a store may be put on: one offered to stores (``is_active``), the
    default plan (what a store created without a choice gets; never on sale, always allowed), or
    the one ``store`` is on already (a store keeps a plan withdrawn since it took it)."""
    return plan.is_active or plan.slug == DEFAULT_PLAN_SLUG or (store is not None and store.plan_id == plan.id)


def plan_for(value: str, store: Store | None = None) -> Plan:
    """The plan ``value`` (slug or id) names, for a new store (``store`` None) or for ``store``
    moving to it: 422 ``unknown_plan``, or 422 ``plan_not_offered`` when ``_may_take`` says no."""
    plan = plan_by_slug_or_id(value)
    if not _may_take(plan, store):
        raise Invalid(f"The {plan.name} plan is not offered to stores any more: choose another plan",
                      code="plan_not_offered", details={"plan": ["not offered"]})
    return plan


def plans_offered(store: Store | None = None) -> list[Plan]:
    """The plans a new store (or ``store``) may be put on: what a form lists (``_may_take``)."""
    return [p for p in list_plans() if _may_take(p, store)]


def addons_offered(store: Store | None = None) -> list[Addon]:
    """The addons a new store (or ``store``) may have: the offered ones and those it has already."""
    kept = {a.id for a in addons_of(store)} if store is not None else set()
    return [a for a in list_addons() if a.is_active or a.id in kept]


def get_addon(addon_id: str) -> Addon:
    addon = db.session.get(Addon, addon_id) if addon_id else None
    if addon is None:
        raise NotFound("No such addon", code="addon_not_found")
    return addon


def default_plan() -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.slug == DEFAULT_PLAN_SLUG))


def plan_of(store: Store) -> Plan | None:
    return db.session.get(Plan, store.plan_id) if store.plan_id else None


def addons_of(store: Store) -> list[Addon]:
    return list(db.session.scalars(
        select(Addon).join(store_addons, store_addons.c.addon_id == Addon.id)
        .where(store_addons.c.store_id == store.id).order_by(Addon.slug)))


def features_of(store: Store) -> set[str]:
    """The features a store may use: its plan's and its addons'. No plan: every feature (the same
    rule as ``feature_clause``, which the gates ask). One query."""
    if store.plan_id is None:
        return set(FEATURES)
    rows = db.session.execute(
        select(Plan.features, Addon.slug).select_from(Plan)
        .outerjoin(store_addons, store_addons.c.store_id == store.id)
        .outerjoin(Addon, Addon.id == store_addons.c.addon_id)
        .where(Plan.id == store.plan_id)).all()
    return {f for features, _ in rows for f in (features or [])} | {slug for _, slug in rows if slug}


FEATURES_MODELS = (Store, Plan, Addon)
FEATURES_CACHE = declare("store_features", FEATURES_MODELS)


def store_features(store: Store | None) -> frozenset[str]:
    """``features_of`` for what a page SHOWS (the dashboard's menu leaves out what the plan lacks):
    kept per store in a read cache (``services.cache``: cleared by any change of a store, plan or
    addon, here and through Redis elsewhere; keyed by the row's ``updated_at`` too, which
    ``set_plan``/``set_addons`` move), so a page asks no query while it holds. The gates ask
    ``require_feature``, uncached."""
    if store is None or store.plan_id is None:
        return frozenset(FEATURES)
    cache = cache_for(FEATURES_CACHE, FEATURES_MODELS)
    key = (store.id, store.plan_id, store.updated_at)
    known = cache.get(key)
    if known is None:
        known = frozenset(features_of(store))
        cache.put(key, known)
    return known


def feature_name(slug: str) -> str:
    addon = db.session.scalar(select(Addon.name).where(Addon.slug == slug))
    return addon or FEATURE_LABELS.get(slug, slug)


def feature_clause(store: Store, feature: str):
    """SQL: ``store`` has ``feature`` (its plan lists it, or it has the addon): the rule of
    ``features_of`` as one expression, so a page may ask it inside a query it runs anyway (the shop's
    product grid and its wishlist hearts). A store with no plan has everything."""
    if store.plan_id is None:
        return true()
    in_plan = exists().where(Plan.id == store.plan_id,
                             cast(Plan.features, String).contains(f'"{feature}"', autoescape=True))
    addon = exists().where(store_addons.c.store_id == store.id, store_addons.c.addon_id == Addon.id,
                           Addon.slug == feature)
    return or_(in_plan, addon)


def has_feature(store: Store | None, feature: str) -> bool:
    """Whether ``store`` may use ``feature`` (one query; none for a store with no plan)."""
    if store is None or store.plan_id is None:
        return True
    return bool(db.session.scalar(select(feature_clause(store, feature))))


def require_feature(store: Store | None, feature: str) -> None:
    """403 ``feature_not_enabled`` unless the store's plan or addons include ``feature``."""
    if has_feature(store, feature):
        return
    name = feature_name(feature)
    raise Forbidden(f"{name} is not part of this store's plan. Add the '{feature}' addon or change "
                    "plan to use it.", code="feature_not_enabled", details={"feature": feature, "addon": feature})


# --- limits ------------------------------------------------------------------------------------

def _limit_reached(message: str, limit: str, value: int) -> Forbidden:
    return Forbidden(message, code="plan_limit_reached", details={"limit": limit, "max": value})


def _limit_key(store_id: str, name: str) -> int:
    """The advisory lock's key for the limit ``name`` of one store: a stable signed 64-bit hash (the
    same in every process and every release, unlike ``hash``)."""
    digest = hashlib.blake2b(f"plan-limit:{store_id}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _limit(name: str, *, lock: bool = True) -> Plan | None:
    """The bound store's plan when it sets the limit ``name`` (``max_products``, ``max_staff``); None
    when there is no limit to check. Every limit check calls it before it counts.

    A limit is counted and then the caller writes: two requests adding staff or products to one
    store at once would both count the same rows and both write, one past the limit. So a check
    serialises on (store, limit) until its transaction ends, and the second request counts only
    once the first has committed (or rolled back). PostgreSQL: a transaction-scoped advisory lock
    (``pg_advisory_xact_lock``) keyed by the store and the limit, taken in the same statement that
    asks whether the store's plan sets the limit (a plan without it takes no lock). It locks no
    row: settings saves, page edits and anything else writing the store's row never wait for an
    import holding the check for a whole batch. SQLite: a writing request holds the database's
    write lock from its ``BEGIN IMMEDIATE`` (app.py), so its checks are serialised already.
    ``lock=False`` (a dry run, which writes nothing) only reads the plan. Two queries: the lock,
    then the plan (read after the lock, ``populate_existing``: a plan changed meanwhile is seen)."""
    store_id = current_store_id()
    if not store_id:
        return None
    lock = lock and db.session.get_bind().dialect.name == "postgresql"
    key = _limit_key(store_id, name)
    locked = lock and db.session.execute(
        select(func.pg_advisory_xact_lock(key)).select_from(Store).join(Plan, Plan.id == Store.plan_id)
        .where(Store.id == store_id, getattr(Plan, name).is_not(None))).first() is not None
    plan = db.session.scalar(select(Plan).join(Store, Store.plan_id == Plan.id).where(Store.id == store_id)
                             .execution_options(populate_existing=True))
    if plan is None or getattr(plan, name) is None:
        return None
    if lock and not locked:  # the store's plan gained the limit between the two queries: lock now
        db.session.execute(select(func.pg_advisory_xact_lock(key)))
    return plan


def check_product_limit(adding: int = 1, *, lock: bool = True) -> None:
    """Before a product is created in the bound store: its plan's ``max_products`` (deleted products
    do not count). Serialised per store and limit (``_limit``); ``lock=False`` for a dry run, which
    only reports what it would create."""
    plan = _limit("max_products", lock=lock)
    if plan is None:
        return
    count = db.session.scalar(select(func.count()).select_from(Product).where(Product.deleted_at.is_(None))) or 0
    if count + adding > plan.max_products:
        raise _limit_reached(f"The {plan.name} plan allows {plan.max_products} products; this store has {count}. "
                             "Delete products or change plan to add more.", "max_products", plan.max_products)


def staff_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.role.in_(STAFF_ROLES), User.is_active.is_(True), User.erased_at.is_(None))) or 0


def check_staff_limit() -> None:
    """Before someone of the bound store gets a staff seat (STAFF, MANAGER or ADMIN): its plan's
    ``max_staff``. Serialised per store and limit (``_limit``): call it before the seat is written."""
    plan = _limit("max_staff")
    if plan is None:
        return
    count = staff_count()
    if count + 1 > plan.max_staff:
        raise _limit_reached(f"The {plan.name} plan allows {plan.max_staff} staff seats and all are taken. "
                             "Change plan to add staff.", "max_staff", plan.max_staff)


def check_custom_domain(store: Store | None, plan: Plan | None = None) -> None:
    plan = plan or (plan_of(store) if store is not None else None)
    if plan is not None and not plan.custom_domain_allowed:
        raise _limit_reached(f"The {plan.name} plan does not include a custom domain.", "custom_domain", 0)


# --- a store's plan and addons (sysadmin) ------------------------------------------------------

def set_plan(store: Store, plan: Plan) -> None:
    """Put ``store`` on ``plan`` (from ``plan_for(value, store)``, which says whether it may). A
    store with a custom domain cannot move to a plan without one: ``tenants.update_tenant`` removes
    a domain the same change removes first."""
    if store.custom_domain and not plan.custom_domain_allowed:
        raise Invalid(f"The {plan.name} plan has no custom domain: remove the store's domain first",
                      code="plan_limit_reached", details={"plan": ["custom domain not allowed"]})
    if store.plan_id != plan.id:
        store.plan_id = plan.id
        store.updated_at = datetime.now(UTC)  # (retires cached copies: the row, its features)
    db.session.flush()


def set_addons(store: Store, slugs: list[str]) -> list[Addon]:
    """Replace the store's addons with ``slugs``: unknown ones are a 422 ``unknown_addon``; one the
    store does not have yet must be offered (``is_active``), else 422 ``addon_not_offered`` (a
    store keeps an addon withdrawn since it took it)."""
    wanted = sorted(set(slugs))
    found = list(db.session.scalars(select(Addon).where(Addon.slug.in_(wanted)))) if wanted else []
    missing = set(wanted) - {a.slug for a in found}
    if missing:
        raise Invalid(f"Unknown addon: {', '.join(sorted(missing))}", code="unknown_addon",
                      details={"addons": [f"unknown: {', '.join(sorted(missing))}"]})
    had = set(db.session.scalars(select(store_addons.c.addon_id).where(store_addons.c.store_id == store.id)))
    withdrawn = sorted(a.name for a in found if not a.is_active and a.id not in had)
    if withdrawn:
        raise Invalid(f"The {', '.join(withdrawn)} addon{'s are' if len(withdrawn) > 1 else ' is'} not offered to "
                      "stores any more", code="addon_not_offered",
                      details={"addons": [f"not offered: {', '.join(withdrawn)}"]})
    if had != {a.id for a in found}:
        before = sorted(db.session.scalars(select(Addon.slug).where(Addon.id.in_(had)))) if had else []
        db.session.execute(store_addons.delete().where(store_addons.c.store_id == store.id))
        if found:
            db.session.execute(store_addons.insert(), [{"store_id": store.id, "addon_id": a.id} for a in found])
        store.updated_at = datetime.now(UTC)  # (retires cached copies: the row, its features)
        # link rows the audit listener does not see: what the store is sold goes in the platform's log
        audit.record("tenant.addons", "store", store.id,
                     {"before": {"addons": before}, "after": {"addons": sorted(a.slug for a in found)}},
                     store_id=store.id, platform=True)
    db.session.flush()
    return found


# --- plans and addons (sysadmin) ---------------------------------------------------------------

PLAN_FIELDS = ("name", "description", "monthly_price", "currency", "max_products", "max_staff",
               "custom_domain_allowed", "features", "is_active")


def _check_slug(model, slug: str, exclude_id: str | None = None) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise Invalid("Slug: 1-40 lowercase letters, digits, - or _", details={"slug": ["invalid slug"]})
    stmt = select(model.id).where(model.slug == slug)
    if exclude_id:
        stmt = stmt.where(model.id != exclude_id)
    if db.session.scalar(stmt):
        raise Conflict(f"The slug '{slug}' is taken", code="slug_taken", details={"slug": ["taken"]})
    return slug


def _check_features(features) -> list[str]:
    features = sorted(set(features or []))
    known = set(db.session.scalars(select(Addon.slug))) | set(FEATURES)
    unknown = [f for f in features if f not in known]
    if unknown:
        raise Invalid(f"Unknown feature: {', '.join(unknown)}", code="unknown_addon",
                      details={"features": [f"unknown: {', '.join(unknown)}"]})
    return features


def _apply(row, data: dict, fields) -> None:
    for key in fields:
        if key not in data:
            continue
        value = data[key]
        if key == "name":
            value = (value or "").strip()
            if not value or len(value) > 80:
                raise Invalid("Name: 1-80 characters", details={"name": ["1-80 characters"]})
        if key == "features":
            value = _check_features(value)
        if key == "currency":
            value = check_currency(value or "EUR")
        if key == "monthly_price":
            if value is None:
                raise Invalid("monthly_price is required", details={key: ["required"]})
            value = check_price(value, key)
        if key in ("max_products", "max_staff") and value is not None and value < 0:
            raise Invalid(f"{key} cannot be negative", details={key: ["negative"]})
        if key == "description" and value is None:
            value = ""
        setattr(row, key, value)


def create_plan(data: dict) -> Plan:
    plan = Plan(slug=_check_slug(Plan, data.get("slug")), name="", features=[])
    _apply(plan, {"name": data.get("name"), **data}, PLAN_FIELDS)
    db.session.add(plan)
    db.session.flush()
    return plan


def update_plan(plan: Plan, data: dict) -> Plan:
    if "slug" in data and data["slug"] is not None:
        plan.slug = _check_slug(Plan, data["slug"], exclude_id=plan.id)
    _apply(plan, data, PLAN_FIELDS)
    db.session.flush()
    return plan


ADDON_FIELDS = ("name", "description", "monthly_price", "currency", "is_active")


def create_addon(data: dict) -> Addon:
    addon = Addon(slug=_check_slug(Addon, data.get("slug")), name="")
    _apply(addon, {"name": data.get("name"), **data}, ADDON_FIELDS)
    db.session.add(addon)
    db.session.flush()
    return addon


def update_addon(addon: Addon, data: dict) -> Addon:
    _apply(addon, data, ADDON_FIELDS)
    db.session.flush()
    return addon
