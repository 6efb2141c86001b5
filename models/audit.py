"""The audit log: one append-only row per change made by staff, admins or sysadmins.

Written by ``services/audit.py`` (an ORM ``after_flush`` listener for the audited models below,
and ``record()`` for actions that are not row changes); never updated or deleted by the app.

**Which models are audited.** Every mapped model makes a choice, checked by
``tests/unit/test_audit_coverage.py`` (a model with neither fails it):

* audited: a class attribute ``__audit__ = AuditSpec("resource", ...)`` on the model, or an entry
  in ``AUDITED`` below (keyed by class name, for the models that predate the log);
* not audited: an entry in ``NOT_AUDITED`` with the reason.

A model of another package (e.g. plans) opts in the same way: ``__audit__ = AuditSpec("plan")``.

**Never stored**: a column named in the spec's ``exclude``, or whose name contains one of
``DENIED_FRAGMENTS`` (password hashes, tokens, encrypted deliverables, API keys, webhook secrets,
payment account credentials), nor a key of a JSON column with such a name.

**Units.** Entries keep the database's values (money in minor units, percentages in basis
points). A spec's ``units`` says which fields are which, so the log is shown in a reader's units
(``services.audit.with_units``) without changing what is stored.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, TenantScoped

if TYPE_CHECKING:
    from .store import Store

# Any column (or JSON key) whose name contains one of these is never written to the log.
DENIED_FRAGMENTS = ("password", "secret", "token", "api_key", "apikey", "encrypted", "deliverable", "hash",
                    "private_key", "credential", "signing_key")
# Bookkeeping columns that say nothing a reader needs (the entry has its own time and resource id).
IGNORED_COLUMNS = frozenset({"id", "store_id", "created_at", "updated_at"})


def is_denied(name: str) -> bool:
    lowered = name.lower()
    return any(fragment in lowered for fragment in DENIED_FRAGMENTS)


MONEY = "money"  # an amount in minor units (cents) of the row's currency
BPS = "bps"  # basis points: 1500 is 15 %


@dataclass(frozen=True)
class UnitBy:
    """A field whose unit depends on another field of the same row: a coupon's ``value`` is basis
    points when its ``kind`` is percent and minor units when it is fixed."""

    field: str
    units: Mapping[str, str]


@dataclass(frozen=True)
class AuditSpec:
    """How a model is audited. ``resource`` names it in the log; ``exclude`` lists more columns
    never logged (on top of the global deny-list); ``ops`` the row changes that are logged;
    ``name(obj, op, changes)`` may return a named action (``"order.gift"``) instead of the op;
    ``forget`` lists personal fields whose old values a deletion (an erased account) must not keep.
    An update that sets ``deleted_at`` (a soft delete) is logged as ``delete``.

    ``units``: the fields (columns, keys of a named action's details, dotted paths into a JSON
    column with ``*`` for each element of a list) whose stored value is ``MONEY`` or ``BPS`` (or a
    ``UnitBy``); ``currency_field``: the row's column naming its money's currency (an order, a
    refund, a plan); without one, the money is in the currency of the store the entry is about.
    ``fixed``: fields a row never changes once written (an order's currency): an entry's value of
    one is read from the row, not looked for in the log's later entries."""

    resource: str
    exclude: frozenset[str] = frozenset()
    forget: frozenset[str] = frozenset()
    ops: frozenset[str] = frozenset({"create", "update", "delete"})
    name: Callable | None = field(default=None, compare=False)
    units: Mapping[str, str | UnitBy] = field(default_factory=dict, compare=False)
    currency_field: str | None = None
    fixed: frozenset[str] = frozenset()


def _changed(changes: dict, key: str) -> bool:
    return key in changes.get("after", {}) or key in changes.get("before", {})


def _order_action(obj, op, changes):
    if op == "create" and getattr(obj, "is_gift", False):
        return "order.gift"
    if op == "update" and _changed(changes, "status"):
        return "order.status"
    return None


def _balance_action(obj, op, changes):
    return "balance.adjust" if getattr(obj, "kind", None) == "adjustment" else f"balance.{obj.kind}"


def _user_action(obj, op, changes):
    if op == "update" and changes.get("after", {}).get("erased_at"):
        return "user.delete"
    if op == "update" and _changed(changes, "role"):
        return "user.role"
    return None


def _store_action(obj, op, changes):
    if op in ("create", "delete"):
        return f"tenant.{op}"
    if _changed(changes, "status") or _changed(changes, "deleted_at"):
        return "tenant.status"
    settings = changes.get("after", {}).get("settings") or {}
    if "theme" in settings:
        return "theme.apply"
    return "settings.update"


def _review_action(obj, op, changes):
    if op == "update" and changes.get("after", {}).get("is_approved") is True:
        return "review.approve"
    return None


USER_PRIVATE = frozenset({"last_login_at", "last_login_ip", "balance"})  # sign-ins and the ledger's cache

ORDER_MONEY = ("subtotal", "discount_total", "tax_total", "shipping_total", "total", "amount_refunded")

AUDITED: dict[str, AuditSpec] = {
    "Store": AuditSpec("store", name=_store_action,
                       units={"settings.topup_min": MONEY, "settings.topup_max": MONEY}),
    "User": AuditSpec("user", exclude=USER_PRIVATE, forget=frozenset({"username", "email", "note", "full_name", "phone"}),
                      name=_user_action),
    "Blacklist": AuditSpec("blacklist"),
    "Category": AuditSpec("category"),
    "Product": AuditSpec("product", exclude=frozenset({"view_count", "average_rating", "review_count",
                                                       "starting_at", "stock_total", "primary_image_url"})),
    "ProductImage": AuditSpec("product_image"),
    "Variant": AuditSpec("variant", units={"price": MONEY, "unit_cost": MONEY}),  # unit_cost: stock.import
    "Tag": AuditSpec("tag"),
    "Attribute": AuditSpec("attribute"),
    "AttributeValue": AuditSpec("attribute_value"),
    "Coupon": AuditSpec("coupon", exclude=frozenset({"uses_count"}),
                        units={"value": UnitBy("kind", {"fixed": MONEY, "percent": BPS}), "min_subtotal": MONEY}),
    "Order": AuditSpec("order", exclude=frozenset({"cart_snapshot", "cost_total", "cost_known_units"}),
                       name=_order_action, units=dict.fromkeys(ORDER_MONEY, MONEY), currency_field="currency",
                       fixed=frozenset({"currency"})),
    "Refund": AuditSpec("refund", units={"amount": MONEY}, currency_field="currency",
                        fixed=frozenset({"currency"})),
    "BalanceTransaction": AuditSpec("balance", ops=frozenset({"create"}), name=_balance_action,
                                    units={"amount": MONEY, "balance_after": MONEY}),
    "Page": AuditSpec("page", exclude=frozenset({"body_html"})),
    "PaymentAccount": AuditSpec("payment_account", exclude=frozenset({"requirements"})),
    "ReplacementRequest": AuditSpec("replacement"),
    "Review": AuditSpec("review", ops=frozenset({"update", "delete"}), name=_review_action),
    "Plan": AuditSpec("plan", units={"monthly_price": MONEY}, currency_field="currency"),
    "Addon": AuditSpec("addon", units={"monthly_price": MONEY}, currency_field="currency"),
    "ShippingZone": AuditSpec("shipping_zone"),
    "ShippingMethod": AuditSpec("shipping_method", units={"price": MONEY, "free_threshold": MONEY,
                                                          "weight_bands.*.price": MONEY}),
    "TaxRule": AuditSpec("tax_rule"),
    "Campaign": AuditSpec("campaign", exclude=frozenset({"recipients_total", "sent", "skipped", "failed"})),
    # tokens and the client secret are denied by name; the expiries move on every refresh
    "MoloniConnection": AuditSpec("moloni_connection", exclude=frozenset({
        "access_expires_at", "refresh_expires_at", "oauth_started_by_id", "category_id", "unit_id", "last_error"})),
    "ImportJob": AuditSpec("import", exclude=frozenset({"payload", "credentials_encrypted", "report", "phase", "cursor",
                                                        "total", "done", "created", "updated", "skipped", "failed"})),
}

NOT_AUDITED: dict[str, str] = {
    "AuditEntry": "the log itself",
    "RevokedToken": "sign-out bookkeeping of tokens (and a secret's id)",
    "PasswordResetToken": "a secret link; the user's own action",
    "Cart": "a shopper's own cart",
    "CartItem": "a shopper's own cart",
    "WishlistItem": "a shopper's own saved products (shopper data, not a staff change)",
    "WishlistShare": "a shopper's own share link (a secret's hash; shopper data)",
    "Counter": "order number sequence",
    "OrderLine": "written with its order (the order's entry names the gift or status)",
    "OrderAdjustment": "written with its order",
    "OrderEvent": "the order's own timeline (already names its actor)",
    "CouponRedemption": "a shopper's use of a coupon at checkout",
    "BalanceTopUp": "a shopper's own top-up (payments apply it)",
    "Payment": "a provider attempt, written by checkout and webhooks",
    "WebhookEvent": "provider events, kept raw in the inspector",
    "StockBatch": "covered by the explicit stock.import entry",
    "StockItem": "deliverables (secret); covered by stock.import, stock.clear, stock.remove entries",
    "SlugRedirect": "a product's or category's old slug, written with the audited slug change",
    "ProductTag": "link rows of products and tags",
    "VariantAttributeValue": "link rows of variants and attribute values",
    "CampaignRecipient": "sending bookkeeping of a campaign",
    "NotificationPreference": "a customer's own email choices",
    "Address": "a shopper's own address book (the audit log covers staff changes)",
    "MoloniInvoice": "invoicing bookkeeping written by jobs; the order's timeline names each invoice and failure",
    "ExternalRef": "an import's bookkeeping (outside id -> local row); its job is audited",
}


class AuditEntry(IdMixin, TenantScoped, Base):
    """One change. ``store_id`` NULL: the platform-level log (tenant lifecycle, plans, sysadmin
    users, "act as store"), readable by SYSADMIN only; ``target_store_id`` then says which store
    it touched (no foreign key: the entry outlives a purged store)."""

    __tablename__ = "audit_log"
    __tenant_nullable__ = True
    __tenant_index__ = False  # the composite index below leads with store_id
    __table_args__ = (
        Index("ix_audit_log_store_id_created_at", "store_id", "created_at"),
        Index("ix_audit_log_store_id_resource_type_created_at", "store_id", "resource_type", "created_at"),
    )

    actor_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_name: Mapped[str] = mapped_column(String(64), nullable=False)  # the username then ("system" for jobs)
    actor_role: Mapped[str] = mapped_column(String(16), nullable=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    target_store_id: Mapped[str | None] = mapped_column(String(36))
    resource_type: Mapped[str] = mapped_column(String(40), nullable=False)
    resource_id: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    changes: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)  # {"before": {...}, "after": {...}}
    # The store the entry is about, for the platform's view of every store's log: read only, loaded
    # with the entries (``services.audit.list_platform_entries`` loads it for the page at once), never one query per row;
    # None once the store is purged.
    target_store: Mapped[Store | None] = relationship(
        "Store", primaryjoin="foreign(AuditEntry.target_store_id) == Store.id", viewonly=True, lazy="raise")


def spec_for(cls) -> AuditSpec | None:
    """The audit spec of a mapped class, or None (not audited)."""
    spec = cls.__dict__.get("__audit__")
    if spec is not None:
        return spec
    return AUDITED.get(cls.__name__)
