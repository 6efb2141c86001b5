"""Order, checkout and balance schemas. Amounts out are major units with the order's ``currency``.

An order has four views (``ViewedOutput``): ``summary`` (an item of a list: no deliverables),
``buyer`` and ``guest`` (the buyer's own order, signed in or by the secret link) and ``staff``.
Deliverables (``deliverables``, each line's ``items``) are in the buyer's, the guest's and staff's
views; ``guest_token`` only in the guest's checkout answer."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from models import BalanceTransaction, Order, OrderAdjustment, OrderEvent, OrderLine, User
from models.order import ORDER_STATUSES, PAYMENT_STATUSES
from services.checkout import Delivery
from services.money import to_major

from .addresses import PostalAddressIn
from .common import Amount, DayOrMoment, Id, Input, Output, PageQuery, Positive, ViewedOutput, only_in

ORDER_VIEWS = ("summary", "buyer", "guest", "staff")
DELIVERY_VIEWS = ("buyer", "guest", "staff")


# --- inputs ----------------------------------------------------------------------------

class CheckoutIn(Input):
    """``payment_method``: one the store has enabled (BALANCE needs an account); ``email``: guests only.

    A cart with physical items also needs where they go (``shipping_address``, or ``address_id``:
    one of the signed-in buyer's saved addresses) and how (``shipping_method_id``, from
    ``POST /api/cart/shipping-options``). ``billing_address`` / ``billing_address_id``: where the
    buyer is (digital goods are taxed there). A cart with only digital items needs none of them."""

    payment_method: str = Field(min_length=1, max_length=20,
                                validation_alias=AliasChoices("payment_method", "paymentMethod", "method"))
    email: str | None = Field(default=None, max_length=254)
    note: str | None = Field(default=None, max_length=2000)
    shipping_address: PostalAddressIn | None = None
    address_id: Id | None = Field(default=None, validation_alias=AliasChoices("address_id", "shipping_address_id"),
                                  description="A saved address of the signed-in buyer (instead of shipping_address)")
    shipping_method_id: Id | None = Field(default=None, description="One of the cart's shipping options")
    billing_address: PostalAddressIn | None = None
    billing_address_id: Id | None = None
    customer_tax_number: str | None = Field(default=None, max_length=32, description="For the invoice (NIF/VAT)")

    def delivery(self) -> Delivery:
        def data(address: PostalAddressIn | None) -> dict | None:
            return address.model_dump(exclude_none=True) if address is not None else None

        return Delivery(shipping_address=data(self.shipping_address), address_id=self.address_id,
                        method_id=self.shipping_method_id, billing_address=data(self.billing_address),
                        billing_address_id=self.billing_address_id, tax_number=self.customer_tax_number)


class OrderQuery(PageQuery):
    status: str | None = Field(default=None, max_length=20)
    payment_status: str | None = Field(default=None, max_length=24)
    date_from: DayOrMoment | None = Field(default=None, description="ISO date (from its start) or date-time (UTC if no zone)")
    date_to: DayOrMoment | None = Field(default=None, description="ISO date (the whole day) or date-time")
    search: str | None = Field(default=None, max_length=100, description="email, username, #number, id, product")
    sort_by: Literal["created_at", "total", "order_number", "status"] = "created_at"
    sort_dir: Literal["asc", "desc"] = "desc"

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value and value.upper() not in ORDER_STATUSES:
            raise ValueError(f"one of {', '.join(ORDER_STATUSES)}")
        return value.upper() if value else None

    @field_validator("payment_status")
    @classmethod
    def _payment_status(cls, value: str | None) -> str | None:
        if value and value.upper() not in PAYMENT_STATUSES:
            raise ValueError(f"one of {', '.join(PAYMENT_STATUSES)}")
        return value.upper() if value else None

    def filters(self) -> dict:
        return dict(status=self.status, payment_status=self.payment_status, date_from=self.date_from,
                    date_to=self.date_to,
                    search=self.search or None, sort_by=self.sort_by, sort_dir=self.sort_dir,
                    page=self.page, page_size=self.page_size)


class StatusIn(Input):
    status: str = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=500)


class FulfillIn(Input):
    carrier: str = Field(min_length=1, max_length=60)
    tracking_number: str = Field(min_length=1, max_length=120,
                                 validation_alias=AliasChoices("tracking_number", "trackingNumber"))
    tracking_url: str | None = Field(default=None, max_length=500,
                                     validation_alias=AliasChoices("tracking_url", "trackingUrl"))

    @field_validator("tracking_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.lower().startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value or None


class GiftIn(Input):
    """Seed B ``create-and-approve``: a gift order for a user, paid and delivered at once."""

    user_id: Id = Field(validation_alias=AliasChoices("user_id", "userId", "user"))
    subcategory_id: Id = Field(validation_alias=AliasChoices("subcategory_id", "subcategoryId", "variant_id"))
    quantity: Positive = Field(default=1, validation_alias=AliasChoices("quantity", "amount"))
    note: str | None = Field(default=None, max_length=2000)


class BalanceAdjustIn(Input):
    amount: Amount = Field(description="Major units, signed: 5 credits 5.00, -5 debits it")
    reason: str = Field(min_length=1, max_length=255)


# --- outputs ---------------------------------------------------------------------------

class BuyerRef(Output):
    id: str
    username: str


class DeliveredItemOut(Output):
    id: str
    deliverable: str
    sold_at: datetime | None
    first_revealed_at: datetime | None
    replaced_at: datetime | None = Field(None, description="When this item was replaced (it no longer counts)")
    replacement_for_id: str | None = Field(None, description="The item this one replaced")


class OrderLineOut(ViewedOutput):
    id: str
    product_id: str | None
    subcategory_id: str | None
    variant_id: str | None
    product_title: str
    subcategory_title: str
    product_image_url: str | None
    quantity: int
    unit_price: float
    line_subtotal: float
    kind: str
    delivered_count: int
    items: list[DeliveredItemOut] = Field(default_factory=list, description="The delivered items",
                                          **only_in(*DELIVERY_VIEWS))


class AdjustmentOut(Output):
    kind: str
    label: str
    amount: float
    included: bool = Field(False, description="Already inside the prices (tax of tax-inclusive prices): shown, "
                                              "not added to the total")


class ShippingAddressOut(Output):
    name: str
    company: str = ""
    line1: str
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str
    phone: str = ""


class OrderOut(ViewedOutput):
    """An order. ``amount`` (Seed B) = ``item_count``; ``total_price`` (Seed B) = ``total``.

    ``deliverables`` (Seed B: a flat list of the delivered strings) and each line's ``items`` are
    present for the buyer and staff only, and not in lists."""

    id: str
    order_number: int
    status: str
    payment_status: str
    payment_method: str
    currency: str
    subtotal: float
    discount_total: float
    tax_total: float
    shipping_total: float
    total: float
    total_price: float
    item_count: int
    amount: int
    is_gift: bool
    coupon_code: str | None
    email: str
    note: str
    buyer: BuyerRef | None
    created_at: datetime
    creation_unix: int
    paid_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    expires_at: datetime | None
    lines: list[OrderLineOut]
    adjustments: list[AdjustmentOut]
    cart_snapshot: list
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    fulfilled_at: datetime | None
    shipping_method_id: str | None = None
    shipping_method_name: str | None = None
    shipping_address: ShippingAddressOut | None = Field(None, description="Where the physical items go",
                                                        **only_in(*DELIVERY_VIEWS))
    customer_tax_number: str | None = Field(None, **only_in(*DELIVERY_VIEWS))
    amount_refunded: float = Field(0, description="Refunded so far (major units)")
    refunded_at: datetime | None = None
    dispute_status: str | None = Field(None, description="open, won or lost, when the buyer disputed the payment")
    replacements: list[str] = Field(default_factory=list, description="Items delivered as replacements (Seed B)",
                                    **only_in(*DELIVERY_VIEWS))
    deliverables: list[str] = Field(default_factory=list, description="The delivered items, one string each",
                                    **only_in(*DELIVERY_VIEWS))

    @classmethod
    def fields_of(cls, order: Order, lines: list[OrderLine], adjustments: list[OrderAdjustment],
                  buyer: User | None, items: dict[str, list[dict]] | None = None) -> dict:
        cur = order.currency

        def money(minor: int) -> float:
            return to_major(minor, cur)

        snapshot = [{**row, "unit_price": money(row["unit_price"])} if isinstance(row.get("unit_price"), int) else row
                    for row in (order.cart_snapshot or [])]
        return dict(
            id=order.id, order_number=order.order_number, status=order.status, payment_status=order.payment_status,
            payment_method=order.payment_method, currency=cur, subtotal=money(order.subtotal),
            discount_total=money(order.discount_total), tax_total=money(order.tax_total),
            shipping_total=money(order.shipping_total), total=money(order.total), total_price=money(order.total),
            item_count=order.item_count, amount=order.item_count, is_gift=order.is_gift,
            coupon_code=order.coupon_code, email=order.email, note=order.note,
            buyer=BuyerRef(id=buyer.id, username=buyer.username) if buyer is not None else None,
            created_at=order.created_at, creation_unix=int(order.created_at.timestamp()), paid_at=order.paid_at,
            completed_at=order.completed_at, cancelled_at=order.cancelled_at, expires_at=order.expires_at,
            lines=[OrderLineOut(
                id=ln.id, product_id=ln.product_id, subcategory_id=ln.variant_id, variant_id=ln.variant_id,
                product_title=ln.product_title, subcategory_title=ln.variant_title,
                product_image_url=ln.product_image_url, quantity=ln.quantity, unit_price=money(ln.unit_price),
                line_subtotal=money(ln.line_subtotal), kind=ln.kind, delivered_count=ln.delivered_count,
                items=[DeliveredItemOut(**item) for item in (items or {}).get(ln.id, [])])
                for ln in lines],
            adjustments=[AdjustmentOut(kind=a.kind, label=a.label, amount=money(a.amount), included=a.included)
                         for a in adjustments],
            shipping_method_id=order.shipping_method_id, shipping_method_name=order.shipping_method_name,
            shipping_address=ShippingAddressOut(**order.shipping_address) if order.shipping_address else None,
            customer_tax_number=order.customer_tax_number,
            cart_snapshot=snapshot, carrier=order.carrier, tracking_number=order.tracking_number,
            tracking_url=order.tracking_url, fulfilled_at=order.fulfilled_at,
            amount_refunded=money(order.amount_refunded), refunded_at=order.refunded_at,
            dispute_status=order.dispute_status,
            deliverables=[item["deliverable"] for ln in lines for item in (items or {}).get(ln.id, [])
                          if not item.get("replacement_for_id")],
            replacements=[item["deliverable"] for ln in lines for item in (items or {}).get(ln.id, [])
                          if item.get("replacement_for_id")],
        )


class CheckoutOut(OrderOut):
    """The new order, where to send the shopper next and, for a guest, the secret of the order link
    (shown once; it is also emailed)."""

    redirect_url: str
    guest_token: str | None = Field(default=None, description="The secret of a guest's order link (shown once)",
                                    **only_in("guest"))


class EventOut(Output):
    id: str
    kind: str
    message: str
    actor_id: str | None
    actor: str | None
    data: dict
    created_at: datetime

    @classmethod
    def of(cls, event: OrderEvent, actors: dict[str, str]) -> "EventOut":
        return cls(id=event.id, kind=event.kind, message=event.message, actor_id=event.actor_id,
                   actor=actors.get(event.actor_id) if event.actor_id else None, data=event.data or {},
                   created_at=event.created_at)


class BalanceTransactionOut(Output):
    id: str
    kind: str
    amount: float
    balance_after: float
    currency: str
    reason: str
    order_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: BalanceTransaction, currency: str) -> "BalanceTransactionOut":
        return cls(id=row.id, kind=row.kind, amount=to_major(row.amount, currency),
                   balance_after=to_major(row.balance_after, currency), currency=currency, reason=row.reason,
                   order_id=row.order_id, created_at=row.created_at)


class BalanceAdjustOut(Output):
    user_id: str
    balance: float
    currency: str
    transaction: BalanceTransactionOut
