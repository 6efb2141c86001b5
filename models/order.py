"""Orders: lines, price adjustments, the timeline, and the per-store counters that number them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow

ORDER_STATUSES = ("PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED", "REFUNDED")


PAYMENT_STATUSES = ("UNPAID", "PAID", "PARTIALLY_REFUNDED", "REFUNDED", "DISPUTED")


PAYMENT_METHODS = ("BALANCE", "STRIPE", "HOODPAY", "MANUAL")


class Counter(TenantScoped, Base):
    """Per-store sequences (order numbers): one upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING)
    hands out each value once (services.orders.next_number)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36), ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class Order(IdMixin, TenantScoped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "order_number"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= total", name="refunded_within_total"),
        CheckConstraint("status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED', 'REFUNDED')",
                        name="status"),
        CheckConstraint("payment_status IN ('UNPAID', 'PAID', 'PARTIALLY_REFUNDED', 'REFUNDED', 'DISPUTED')",
                        name="payment_status"),
        # the dashboard and the reports read a store's sales by payment time, covering every summed
        # column (cost included) and the buyer: the KPIs, the chart, the sales and customers reports
        # read this index alone
        Index("ix_orders_store_paid_at", "store_id", "paid_at", "is_gift", "total", "amount_refunded", "item_count",
              "cost_total", "cost_known_units", "buyer_id"),
        # the overview's breakdown (orders placed by status and method) and the orders export, by creation
        # a buyer's orders, and each customer's lifetime figures (segments, the customers report)
        # from the index alone, already grouped by buyer
        Index("ix_orders_store_buyer_id", "store_id", "buyer_id", "paid_at", "is_gift", "total", "amount_refunded"),
        # orders by status: the pending manual orders of the overview, the admin's filters
        Index("ix_orders_store_status", "store_id", "status", "payment_method", "payment_status"),
        Index("ix_orders_store_created_at", "store_id", "created_at", "status", "payment_method", "paid_at", "total",
              "amount_refunded"),
        # the admin's orders list (services.orders.list_orders): one index per sort, keyed by the sort
        # column and the id (the tie-breaker), so a page's ids and the total come from the index
        # alone, deep pages included; the date one carries the filters too (bench/README.md, "Big stores")
        Index("ix_orders_list_created_at", "store_id", "created_at", "id", "status", "payment_status"),
        Index("ix_orders_list_total", "store_id", "total", "id"),
        Index("ix_orders_list_status", "store_id", "status", "id"),
    )

    order_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    buyer_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    guest_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # the emailed secret link
    status: Mapped[str] = mapped_column(String(16), default="PENDING", nullable=False)
    payment_status: Mapped[str] = mapped_column(String(24), default="UNPAID", nullable=False)
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # list prices x quantities
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # reseller + coupon (positive)
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    shipping_total: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    total: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    item_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # Seed B `amount`
    coupon_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("coupons.id", ondelete="SET NULL"))
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    gifted_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    cart_snapshot: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(String(120), index=True)  # Stripe / Hoodpay id
    # money back (services.refunds): what was refunded so far, never above the total
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    # what the sold units cost, written when the order is paid (services.orders.record_sale): the
    # stock batches' unit costs of the items sold to it (replacements not included), and how many
    # of those units have a known cost. The reports sum these instead of joining the stock items.
    cost_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False)
    cost_known_units: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispute_status: Mapped[str | None] = mapped_column(String(16))  # open | won | lost
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # the buyer's tax number (NIF/VAT) for the invoice (Moloni); none: billed as the final consumer
    customer_tax_number: Mapped[str | None] = mapped_column(String(32))
    # fulfilment of physical items (Seed A): carrier and tracking
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(120))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # where physical items go (services.checkout): the validated address as it was at checkout
    # (name, company, line1, line2, city, region, postal_code, country, phone), and the shipping
    # method chosen (its id and name then; the method may change or go later)
    shipping_address: Mapped[dict | None] = mapped_column(JSON)
    shipping_method_id: Mapped[str | None] = mapped_column(String(36))
    shipping_method_name: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    lines: Mapped[list[OrderLine]] = relationship(lazy="raise", order_by="OrderLine.position",
                                                  cascade="all, delete-orphan")
    adjustments: Mapped[list[OrderAdjustment]] = relationship(lazy="raise", order_by="OrderAdjustment.position",
                                                              cascade="all, delete-orphan")


class OrderLine(IdMixin, TenantScoped, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # the products, categories and Seed B stats read the lines of a period's sales from this
        # index alone (no join to the orders or the stock items)
        Index("ix_order_lines_store_paid_at", "store_id", "paid_at", "is_gift", "product_id", "variant_id", "quantity",
              "line_subtotal", "cost", "cost_known_units", "order_id", "product_title"),
    )

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    product_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("products.id", ondelete="SET NULL"))
    variant_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("variants.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="digital", nullable=False)
    product_title: Mapped[str] = mapped_column(String(200), nullable=False)
    variant_title: Mapped[str] = mapped_column(String(200), nullable=False)
    product_image_url: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[int] = mapped_column(BigInteger, nullable=False)  # list price, minor units
    line_subtotal: Mapped[int] = mapped_column(BigInteger, nullable=False)  # unit_price x quantity
    delivered_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # copied from the order when it is paid (services.orders.record_sale), with the cost of the
    # units sold on this line (as ``Order.cost_total``), so a period's line sales are one index range
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    cost: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False)
    cost_known_units: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)


class OrderAdjustment(IdMixin, TenantScoped, Base):
    """One step of the price: reseller discount, coupon, tax, shipping (discounts are negative).

    ``included``: the amount is already inside the prices (the tax of a store whose prices include
    tax): shown on the order, not added. So ``total = sum(line_subtotal) + sum(amount of the
    adjustments not included)`` always holds (services.checkout.derive_total)."""

    __tablename__ = "order_adjustments"
    __table_args__ = (CheckConstraint("kind IN ('reseller_discount', 'coupon', 'tax', 'shipping', 'gift')", name="kind"),)

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    label: Mapped[str] = mapped_column(String(120), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    included: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)


class OrderEvent(IdMixin, TenantScoped, Base):
    """The order's timeline."""

    __tablename__ = "order_events"

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(String(500), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
