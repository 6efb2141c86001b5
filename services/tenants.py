"""Tenants (Seed A "SysAdmin" and "Tenant Provisioning"): the platform's view of its stores.

Creating a store with its first admin, listing and reading stores with their numbers, changing,
suspending, soft-deleting, restoring and purging them, the platform dashboard, and "act as store".
Every query across stores says so with ``.execution_options(all_stores=True)`` (tenancy.py's one
visible escape); only the sysadmin's views (``api/sysadmin.py``, ``admin/sysadmin.py``) call them.
Lifecycle changes are plain row changes of ``stores`` made by one function each (``suspend``,
``activate``, ``soft_delete``, ``restore``, ``purge_deleted``, ``act_as``), for the audit log.
"""
from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, case, delete, func, literal, or_, select

from extensions import db
from models import Addon, Order, Plan, Product, Role, Store, User, store_addons
from tenancy import tenant_scope
from transactions import on_commit

from . import audit, auth, plans, stores
from .analytics import Period, bucket_table
from .errors import Conflict, Forbidden, Invalid, NotFound
from .money import check_currency, check_locale
from .pagination import envelope
from .text import holds

ALL = {"all_stores": True}
STATS_DAYS = 30
PURGE_GRACE_DAYS = 30
WELCOME_LINK_TTL = auth.WELCOME_LINK_TTL
SORTS = ("name", "created_at", "revenue", "orders", "products", "customers", "status", "slug")
CUSTOMER_ROLES = (Role.USER.value, Role.RESELLER.value)
ACT_AS_SALT = "sysadmin-act-as"
ACT_AS_SECONDS = 60 * 60


def _now() -> datetime:
    return datetime.now(UTC)


# --- creating ----------------------------------------------------------------------------------

def create_tenant(*, slug: str, name: str, admin_email: str | None, admin_username: str | None = None,
                  custom_domain: str | None = None, plan: str | None = None, addons: list[str] | None = None,
                  currency: str = "EUR", locale: str = "en", timezone: str = "UTC",
                  description: str = "") -> tuple[Store, User | None]:
    """A store and its first ADMIN in one transaction; the admin is emailed a link to set a password
    (the reset flow, valid 7 days). The CLI's ``create-store`` and the sysadmin's form call it."""
    settings = _check_settings(locale=locale, timezone=timezone)
    email = auth.normalize_email(admin_email, field="admin_email") if admin_email else None
    chosen = plans.plan_for(plan) if plan else plans.default_plan()
    store = stores.create_store(slug, name, domain=custom_domain, currency=currency, description=description or "",
                                plan=chosen)
    stores.update_settings(store, settings)
    if addons:
        plans.set_addons(store, addons)
    if email is None:  # (the CLI may create a store alone, and its admin with create-user)
        return store, None
    with tenant_scope(store):
        admin = auth.create_user(username=admin_username or _username_from(email), email=email, password=_unusable_password(), role=Role.ADMIN,
                                 check_strength=False)
        auth.send_password_link(admin, template="welcome_admin", ttl=WELCOME_LINK_TTL,
                                context={"dashboard_link": f"{stores.base_url(store)}/admin/"})
    return store, admin


def _unusable_password() -> str:
    import secrets

    return secrets.token_urlsafe(48)


def _username_from(email: str) -> str:
    base = "".join(c for c in email.split("@", 1)[0] if c.isalnum() or c in "._-")[:32]
    return base if len(base) >= 3 else (base + "admin")[:32]


def _check_settings(**given) -> dict:
    out = {}
    if given.get("locale") is not None:
        try:
            out["locale"] = check_locale(given["locale"])
        except ValueError as exc:
            raise Invalid(str(exc), details={"locale": [str(exc)]}) from exc
    if given.get("timezone") is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(given["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise Invalid("An IANA time zone such as Europe/Lisbon",
                          details={"timezone": ["unknown time zone"]}) from exc
        out["timezone"] = given["timezone"]
    return out


# --- reading -----------------------------------------------------------------------------------

def get_tenant(tenant_id: str) -> Store:
    """Any store, whatever its status (the sysadmin sees deleted ones to restore them)."""
    store = db.session.get(Store, tenant_id) if tenant_id else None
    if store is None:
        raise NotFound("No such store", code="tenant_not_found")
    return store


def _stats_subqueries(since: datetime):
    """Per store: paid orders and revenue since ``since``, live products, customers. One GROUP BY each."""
    sales = (select(Order.store_id.label("store_id"), func.count().label("orders"),
                    func.coalesce(func.sum(Order.total - Order.amount_refunded), 0).label("revenue"))
             .where(Order.paid_at.isnot(None), Order.paid_at >= since, Order.is_gift.is_(False))
             .group_by(Order.store_id).subquery("sales"))
    products = (select(Product.store_id.label("store_id"), func.count().label("products"))
                .where(Product.deleted_at.is_(None)).group_by(Product.store_id).subquery("product_counts"))
    customers = (select(User.store_id.label("store_id"), func.count().label("customers"))
                 .where(User.role.in_(CUSTOMER_ROLES), User.erased_at.is_(None))
                 .group_by(User.store_id).subquery("customer_counts"))
    return sales, products, customers


def _stats_columns(sales, products, customers):
    return (func.coalesce(sales.c.orders, 0).label("orders"), func.coalesce(sales.c.revenue, 0).label("revenue"),
            func.coalesce(products.c.products, 0).label("products"),
            func.coalesce(customers.c.customers, 0).label("customers"))


def _with_stats(stmt, sales, products, customers):
    return (stmt.outerjoin(sales, sales.c.store_id == Store.id)
            .outerjoin(products, products.c.store_id == Store.id)
            .outerjoin(customers, customers.c.store_id == Store.id))


def _row(store, plan_name, orders, revenue, products, customers) -> dict:
    return {"store": store, "plan_name": plan_name,
            "stats": {"days": STATS_DAYS, "orders": int(orders), "revenue": int(revenue), "currency": store.currency,
                      "products": int(products), "customers": int(customers)}}


def list_tenants(*, search: str | None = None, plan: str | None = None, status: str | None = None,
                 sort_by: str = "created_at", sort_order: str = "desc", page: int = 1, page_size: int = 20,
                 now: datetime | None = None) -> dict:
    """Stores with their plan and their numbers over 30 days, filtered, sorted and paginated: ONE
    query (the stats are three GROUP BY subqueries joined to the page), whatever the page size.
    Deleted stores are listed only when ``status="deleted"`` is asked for."""
    if sort_by not in SORTS:
        raise Invalid(f"sort_by is one of: {', '.join(SORTS)}", details={"sort_by": [f"one of {', '.join(SORTS)}"]})
    if sort_order not in ("asc", "desc"):
        raise Invalid("sort_order is asc or desc", details={"sort_order": ["asc or desc"]})
    since = (now or _now()) - timedelta(days=STATS_DAYS)
    sales, products, customers = _stats_subqueries(since)
    stats = _stats_columns(sales, products, customers)
    stmt = _with_stats(select(Store, Plan.name, *stats).outerjoin(Plan, Plan.id == Store.plan_id),
                       sales, products, customers)
    if search:
        term = search.strip()[:100]
        stmt = stmt.where(or_(holds(Store.name, term), holds(Store.slug, term),
                              holds(func.coalesce(Store.custom_domain, ""), term)))
    if plan:
        stmt = stmt.where(or_(Plan.slug == plan, Plan.id == plan))
    stmt = stmt.where(Store.status == status) if status else stmt.where(Store.status != "deleted")
    key = {"name": func.lower(Store.name), "created_at": Store.created_at, "slug": Store.slug, "status": Store.status,
           "revenue": stats[1], "orders": stats[0], "products": stats[2], "customers": stats[3]}[sort_by]
    stmt = stmt.order_by(key.asc() if sort_order == "asc" else key.desc(), Store.id)
    page = max(1, page)
    counted = stmt.add_columns(func.count().over().label("_total"))
    rows = db.session.execute(counted.limit(page_size).offset((page - 1) * page_size)
                              .execution_options(**ALL)).all()
    if rows:
        total = rows[0][-1]
    else:
        total = 0 if page == 1 else db.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery()).execution_options(**ALL)) or 0
    return envelope([_row(*row[:-1]) for row in rows], page=page, page_size=page_size, total=total)


def tenant_detail(store: Store, now: datetime | None = None) -> dict:
    """One store with its plan, addons, features, numbers over 30 days and its user counts by role."""
    since = (now or _now()) - timedelta(days=STATS_DAYS)
    sales, products, customers = _stats_subqueries(since)
    row = db.session.execute(_with_stats(select(Store, Plan.name, *_stats_columns(sales, products, customers))
                                         .outerjoin(Plan, Plan.id == Store.plan_id), sales, products, customers)
                             .where(Store.id == store.id).execution_options(**ALL)).one()
    roles = dict(db.session.execute(select(User.role, func.count()).where(User.store_id == store.id)
                                    .group_by(User.role).execution_options(**ALL)).all())
    detail = _row(*row)
    detail.update(plan=plans.plan_of(store), addons=plans.addons_of(store), features=sorted(plans.features_of(store)),
                  users_by_role={r: int(n) for r, n in roles.items()}, settings=stores.settings_of(store))
    return detail


def tenant_users(store: Store, *, role: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    stmt = select(User).where(User.store_id == store.id)
    if role:
        stmt = stmt.where(User.role == role.upper())
    rank = case({r: i for i, r in enumerate(("ADMIN", "MANAGER", "STAFF", "RESELLER", "USER"))}, value=User.role,
                else_=9)
    stmt = stmt.order_by(rank, User.created_at, User.id).execution_options(**ALL)
    from .pagination import paginate

    return paginate(stmt, page=page, page_size=page_size)


# --- changing ----------------------------------------------------------------------------------

STATUSES = ("active", "suspended")


def update_tenant(store: Store, changes: dict) -> Store:
    """Change a store: ``name``, ``slug``, ``description``, ``custom_domain`` (``None`` or "" removes
    it), ``plan``, ``addons``, ``currency`` (only while it has no orders), ``locale``, ``timezone``,
    ``status`` (active or suspended). Only the fields given change."""
    _not_deleted(store)
    if changes.get("name") is not None:
        store.name = stores.check_name(changes["name"])
    if changes.get("slug") is not None and changes["slug"].strip().lower() != store.slug:
        slug = changes["slug"].strip().lower()
        if not stores.SLUG_RE.match(slug) or slug in stores.RESERVED_SLUGS:
            raise Invalid("Store slug must be 1-63 lowercase letters, digits or dashes, and not reserved",
                          details={"slug": ["invalid slug"]})
        if db.session.scalar(select(Store.id).where(Store.slug == slug, Store.id != store.id)):
            raise Conflict(f"A store with slug '{slug}' already exists", code="slug_taken")
        store.slug = slug
    if changes.get("description") is not None:
        store.description = changes["description"]
    # The change is checked as a whole: a domain it removes goes first (so a move to a plan without
    # custom domains may come with it), a domain it adds last (checked against the new plan).
    removing_domain = "custom_domain" in changes and not changes["custom_domain"]
    if removing_domain:
        stores.set_custom_domain(store, None)
    if changes.get("plan") is not None:
        plans.set_plan(store, plans.plan_for(changes["plan"], store))
    if changes.get("addons") is not None:
        plans.set_addons(store, changes["addons"])
    if "custom_domain" in changes and not removing_domain:
        stores.set_custom_domain(store, changes["custom_domain"])
    if changes.get("currency") is not None and changes["currency"].strip().upper() != store.currency:
        currency = check_currency(changes["currency"])
        has_orders = db.session.scalar(select(Order.id).where(Order.store_id == store.id).limit(1)
                                       .execution_options(**ALL))
        if has_orders:
            raise Conflict("The currency of a store with orders cannot change", code="currency_locked",
                           details={"currency": ["the store has orders"]})
        store.currency = currency
    settings = _check_settings(locale=changes.get("locale"), timezone=changes.get("timezone"))
    if settings:
        stores.update_settings(store, settings)
    if changes.get("status") is not None:
        if changes["status"] not in STATUSES:
            raise Invalid("status is active or suspended (DELETE removes a store)",
                          details={"status": ["active or suspended"]})
        (suspend if changes["status"] == "suspended" else activate)(store)
    store.updated_at = _now()
    db.session.flush()
    return store


def _not_deleted(store: Store) -> None:
    if store.status == "deleted":
        raise Conflict("This store is deleted; restore it first", code="tenant_deleted")


def suspend(store: Store) -> Store:
    """The shop and its API answer 503; its admins see why when they sign in."""
    _not_deleted(store)
    store.status = "suspended"
    store.updated_at = _now()  # retires every process's cached copy of the row
    db.session.flush()
    return store


def activate(store: Store) -> Store:
    _not_deleted(store)
    store.status = "active"
    store.updated_at = _now()
    db.session.flush()
    return store


def soft_delete(store: Store) -> Store:
    """The store disappears everywhere (404 at its addresses, not the default store any more); its
    data stays until ``purge_deleted`` runs after the grace period; ``restore`` brings it back."""
    if store.status == "deleted":
        return store
    store.status = "deleted"
    store.deleted_at = _now()
    store.updated_at = _now()
    if store.is_default:
        store.is_default = False
        successor = db.session.scalar(select(Store).where(Store.status != "deleted", Store.id != store.id)
                                      .order_by(Store.created_at).limit(1))
        if successor is not None:
            successor.is_default = True
    db.session.flush()
    return store


def restore(store: Store) -> Store:
    """A soft-deleted store comes back, suspended: the sysadmin activates it when ready. (Its
    domain and slug were kept, so nothing else can have taken them.)"""
    if store.status != "deleted":
        raise Conflict("This store is not deleted", code="tenant_not_deleted")
    store.status = "suspended"
    store.deleted_at = None
    store.updated_at = _now()
    if db.session.scalar(select(Store.id).where(Store.is_default.is_(True))) is None:
        store.is_default = True
    db.session.flush()
    return store


def purge_deleted(older_than_days: int = PURGE_GRACE_DAYS, now: datetime | None = None) -> list[str]:
    """Hard-delete stores soft-deleted more than ``older_than_days`` ago: the row goes and every
    store-owned row with it (``ON DELETE CASCADE`` on each ``store_id``), and its uploads folder.
    Returns their slugs."""
    cutoff = (now or _now()) - timedelta(days=older_than_days)
    doomed = list(db.session.execute(select(Store.id, Store.slug).where(
        Store.status == "deleted", Store.deleted_at.isnot(None), Store.deleted_at <= cutoff)).all())
    if not doomed:
        return []
    ids = [store_id for store_id, _ in doomed]
    db.session.expunge_all()  # the rows below vanish under the session's feet
    db.session.execute(delete(Store).where(Store.id.in_(ids)).execution_options(synchronize_session=False))
    folder = Path(current_app.config.get("UPLOAD_FOLDER") or "")
    for store_id in ids:
        target = folder / store_id
        if folder.name and target.is_dir():
            on_commit(lambda path=target: shutil.rmtree(path, ignore_errors=True))
    return [slug for _, slug in doomed]


# --- act as store ------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ACT_AS_SALT)


def act_as(store: Store, actor: User) -> str:
    """A sysadmin opens ``store``'s admin: a signed marker (store, sysadmin), valid one hour, that
    the sysadmin's session carries (``acting_store``). The one place the audit log hooks."""
    if actor is None or actor.store_id is not None or actor.role != Role.SYSADMIN.value:
        raise Forbidden("Only a sysadmin can act as a store", code="insufficient_role")
    _not_deleted(store)
    audit.record("act_as_store", "store", store.id, {"store": store.slug}, store_id=store.id, platform=True)
    return _serializer().dumps({"store": store.id, "actor": actor.id})


def acting_store(marker: str | None, actor_id: str | None) -> str | None:
    """The store id a session's marker binds, if it is genuine, fresh and the sysadmin's own."""
    if not marker or not actor_id:
        return None
    try:
        data = _serializer().loads(marker, max_age=ACT_AS_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or data.get("actor") != actor_id:
        return None
    actor = db.session.scalar(select(User).where(User.id == actor_id).execution_options(**ALL))
    if actor is None or actor.store_id is not None or actor.role != Role.SYSADMIN.value or not actor.is_active:
        return None
    return data.get("store")


# --- the platform dashboard --------------------------------------------------------------------

def _months(now: datetime, count: int = 12) -> Period:
    month = date(now.year, now.month, 1)
    months = [month]
    for _ in range(count - 1):
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
        months.insert(0, month)

    def start(d: date) -> datetime:
        return datetime(d.year, d.month, 1, tzinfo=UTC)

    def following(d: date) -> date:
        return date(d.year + (d.month == 12), d.month % 12 + 1, 1)

    return Period("12m", "month", [(m.strftime("%Y-%m"), start(m), start(following(m))) for m in months])


def _change(current: int, previous: int) -> float | None:
    return round((current - previous) * 100 / previous, 1) if previous else None


def mrr() -> dict:
    """Monthly recurring revenue: the monthly price of every active store's plan plus its addons,
    per currency (minor units). Two GROUP BY queries."""
    plan_rows = db.session.execute(
        select(Plan.currency, func.coalesce(func.sum(Plan.monthly_price), 0))
        .join(Store, Store.plan_id == Plan.id).where(Store.status == "active").group_by(Plan.currency)).all()
    addon_rows = db.session.execute(
        select(Addon.currency, func.coalesce(func.sum(Addon.monthly_price), 0))
        .join(store_addons, store_addons.c.addon_id == Addon.id).join(Store, Store.id == store_addons.c.store_id)
        .where(Store.status == "active").group_by(Addon.currency)).all()
    out: dict[str, dict] = {}
    for currency, amount in plan_rows:
        out.setdefault(currency, {"currency": currency, "plans": 0, "addons": 0})["plans"] += int(amount)
    for currency, amount in addon_rows:
        out.setdefault(currency, {"currency": currency, "plans": 0, "addons": 0})["addons"] += int(amount)
    for row in out.values():
        row["total"] = row["plans"] + row["addons"]
    return {"by_currency": sorted(out.values(), key=lambda r: -r["total"])}


def gmv_by_month(now: datetime | None = None) -> dict:
    """GMV (paid, non-gift orders, less refunds) and orders across every store per UTC month, 12
    months to this one, per currency, with each month's change over the previous one: ONE GROUP BY.
    ``growth``: the last complete month over the one before (a month in progress would read as a fall)."""
    p = _months(now or _now())
    buckets = bucket_table(p)
    rows = db.session.execute(
        select(buckets.c.label, Store.currency, func.count(Order.id),
               func.coalesce(func.sum(Order.total - Order.amount_refunded), 0))
        .select_from(buckets)
        .join(Order, and_(Order.paid_at >= buckets.c.starts, Order.paid_at < buckets.c.ends,
                          Order.is_gift.is_(False)))
        .join(Store, Store.id == Order.store_id)
        .group_by(buckets.c.label, Store.currency).execution_options(**ALL)).all()
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for label, currency, orders, gmv in rows:
        found.setdefault(currency, {})[label] = (int(orders), int(gmv))
    series = []
    for currency, months in sorted(found.items(), key=lambda kv: -sum(v[1] for v in kv[1].values())):
        points, previous = [], None
        for label, _, _ in p.buckets:
            orders, gmv = months.get(label, (0, 0))
            points.append({"month": label, "orders": orders, "gmv": gmv,
                           "change_pct": _change(gmv, previous) if previous is not None else None})
            previous = gmv
        last, before = points[-2]["gmv"], points[-3]["gmv"]
        series.append({"currency": currency, "points": points, "growth_pct": _change(last, before),
                       "last_month": points[-2]["month"], "this_month_gmv": points[-1]["gmv"],
                       "this_month_orders": points[-1]["orders"]})
    return {"months": [label for label, _, _ in p.buckets], "series": series}


def dashboard(now: datetime | None = None, newest: int = 5) -> dict:
    """The platform dashboard: MRR, GMV growth, store counts by status and by plan, orders and GMV
    over 30 days, the newest stores. A constant number of GROUP BY queries."""
    now = now or _now()
    by_status = dict(db.session.execute(select(Store.status, func.count()).group_by(Store.status)).all())
    by_plan = db.session.execute(
        select(func.coalesce(Plan.name, literal("No plan")), Plan.slug, func.count(Store.id))
        .select_from(Store).outerjoin(Plan, Plan.id == Store.plan_id).where(Store.status != "deleted")
        .group_by(Plan.name, Plan.slug).order_by(func.count(Store.id).desc())).all()
    since = now - timedelta(days=STATS_DAYS)
    recent = db.session.execute(
        select(Store.currency, func.count(Order.id), func.coalesce(func.sum(Order.total - Order.amount_refunded), 0))
        .join(Store, Store.id == Order.store_id)
        .where(Order.paid_at.isnot(None), Order.paid_at >= since, Order.is_gift.is_(False))
        .group_by(Store.currency).execution_options(**ALL)).all()
    newest_rows = db.session.execute(select(Store, Plan.name).outerjoin(Plan, Plan.id == Store.plan_id)
                                     .where(Store.status != "deleted")
                                     .order_by(Store.created_at.desc(), Store.id).limit(newest)).all()
    return {
        "mrr": mrr(),
        "revenue": gmv_by_month(now),
        "stores": {"total": sum(int(n) for s, n in by_status.items() if s != "deleted"),
                   "by_status": {s: int(by_status.get(s, 0)) for s in ("active", "suspended", "deleted")},
                   "by_plan": [{"plan": name, "slug": slug, "stores": int(n)} for name, slug, n in by_plan]},
        "last_30_days": {"days": STATS_DAYS, "by_currency": [
            {"currency": c, "orders": int(n), "gmv": int(g)} for c, n, g in recent]},
        "newest_stores": [store for store, _ in newest_rows],
        "newest_plans": {store.id: plan_name for store, plan_name in newest_rows},
    }
