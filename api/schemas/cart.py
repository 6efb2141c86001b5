"""Cart schemas. Quantities are strict whole numbers (no fractions, strings or booleans, at most
2^31-1); amounts out are major units with the store's ``currency``."""
from __future__ import annotations

from pydantic import AliasChoices, Field

from models import Store
from services.cart import Priced
from services.checkout import Delivery
from services.money import to_major

from .addresses import PostalAddressIn
from .common import Count, Id, Input, Output, Positive
from .shipping import OptionOut

SUBCATEGORY = AliasChoices("subcategory_id", "variant_id", "subcategoryId", "variantId")


class CartItemIn(Input):
    """Add to a line (quantities add up)."""

    subcategory_id: Id = Field(validation_alias=SUBCATEGORY)
    quantity: Positive = 1


class CartItemUpdateIn(Input):
    """Set a line's quantity (0 removes it)."""

    quantity: Count


class CartUpdateIn(Input):
    """Seed B ``POST /api/user/cart/update``: set a line's quantity (``amount``); 0 removes it."""

    subcategory_id: Id = Field(validation_alias=SUBCATEGORY)
    amount: Count = Field(validation_alias=AliasChoices("amount", "quantity"))


class CouponCodeIn(Input):
    code: str = Field(min_length=1, max_length=40, validation_alias=AliasChoices("code", "coupon", "coupon_code"))


class MergeIn(Input):
    """The guest cart to merge: a guest token of ``/api/public/guest/token`` or a session id (the
    ``X-Session-ID`` header works too)."""

    guest_token: str | None = Field(default=None, max_length=4096, validation_alias=AliasChoices("guest_token",
                                                                                               "guestToken"))
    session_id: str | None = Field(default=None, max_length=200, validation_alias=AliasChoices("session_id",
                                                                                             "sessionId"))


class CartLineOut(Output):
    id: str
    subcategory_id: str
    variant_id: str
    product_id: str | None
    product_title: str
    subcategory_title: str
    image_url: str | None
    quantity: int
    unit_price: float
    line_total: float
    min_quantity: int
    max_quantity: int
    stock_count: int
    available: bool
    problems: list[str]
    price_changed: bool
    seen_price: float


class CartOut(Output):
    id: str | None
    items: list[CartLineOut]
    subtotal: float
    reseller_discount: float
    coupon_code: str | None
    coupon_discount: float
    coupon_error: str | None
    coupon_notice: str | None = None  # the store deleted the cart's coupon: it was taken off
    total: float
    currency: str
    item_count: int

    @classmethod
    def of(cls, cart_id: str | None, priced: Priced | None, store: Store) -> "CartOut":
        cur = store.currency
        if priced is None:
            return cls(id=cart_id, items=[], subtotal=0, reseller_discount=0, coupon_code=None, coupon_discount=0,
                       coupon_error=None, total=0, currency=cur, item_count=0)
        items = []
        for line in priced.lines:
            variant = line.variant
            product = variant.product if variant is not None else None
            items.append(CartLineOut(
                id=line.item.id, subcategory_id=line.item.variant_id, variant_id=line.item.variant_id,
                product_id=product.id if product else None, product_title=product.title if product else "",
                subcategory_title=variant.title if variant else "",
                image_url=product.primary_image_url if product else None, quantity=line.quantity,
                unit_price=to_major(line.unit_price, cur), line_total=to_major(line.subtotal, cur),
                min_quantity=variant.min_quantity if variant else 1, max_quantity=variant.max_quantity if variant else 0,
                stock_count=variant.stock_count if variant else 0, available=line.available, problems=line.problems,
                price_changed=line.price_changed, seen_price=to_major(line.item.seen_price, cur)))
        return cls(id=cart_id, items=items, subtotal=to_major(priced.subtotal, cur),
                   reseller_discount=to_major(priced.reseller_discount, cur), coupon_code=priced.coupon_code,
                   coupon_discount=to_major(priced.coupon_discount, cur), coupon_error=priced.coupon_error,
                   coupon_notice=priced.coupon_notice, total=to_major(priced.total, cur), currency=cur, item_count=priced.item_count)


# --- the cart's shipping options and totals (POST /api/cart/shipping-options) ------------------

class ShippingOptionsIn(Input):
    """Where the cart would go: a typed ``shipping_address``, a saved ``address_id``, or just
    ``country`` (and ``postal_code``). ``shipping_method_id``: price the totals with that option."""

    shipping_address: PostalAddressIn | None = None
    address_id: Id | None = Field(default=None, validation_alias=AliasChoices("address_id", "shipping_address_id"))
    country: str | None = Field(default=None, max_length=2, validation_alias=AliasChoices("country", "country_code"))
    postal_code: str | None = Field(default=None, max_length=20,
                                    validation_alias=AliasChoices("postal_code", "postcode", "zip"))
    shipping_method_id: Id | None = None
    billing_address: PostalAddressIn | None = None
    billing_address_id: Id | None = None

    def delivery(self) -> Delivery:
        def data(address):
            return address.model_dump(exclude_none=True) if address is not None else None

        return Delivery(shipping_address=data(self.shipping_address), address_id=self.address_id,
                        method_id=self.shipping_method_id, billing_address=data(self.billing_address),
                        billing_address_id=self.billing_address_id, country=self.country,
                        postal_code=self.postal_code)


class TaxLineOut(Output):
    label: str
    amount: float
    included: bool = Field(description="Inside the prices (tax-inclusive store): shown, not added")


class ShippingQuoteOut(Output):
    """The cart's shipping options for the destination, and its totals with the chosen option."""

    needs_shipping: bool = Field(description="The cart has physical items (checkout needs an address and a method)")
    country: str | None
    postal_code: str | None
    weight: int = Field(description="The parcel's weight in grams")
    currency: str
    options: list[OptionOut]
    shipping_method_id: str | None
    subtotal: float = Field(description="After the reseller discount and the coupon")
    tax_lines: list[TaxLineOut]
    tax_total: float
    shipping_total: float
    total: float
    tax_known: bool = Field(description="False: physical items but no destination yet (their tax is left out)")

    @classmethod
    def of(cls, options, totals, store: Store) -> "ShippingQuoteOut":
        cur = store.currency
        dest = totals.destination if totals is not None else None
        return cls(
            needs_shipping=bool(totals and totals.physical), country=dest["country"] if dest else None,
            postal_code=(dest["postal_code"] or None) if dest else None,
            weight=totals.weight_grams if totals else 0, currency=cur,
            options=[OptionOut.of(o, cur) for o in options],
            shipping_method_id=totals.option.method_id if totals and totals.option else None,
            subtotal=to_major(totals.goods if totals else 0, cur),
            tax_lines=[TaxLineOut(label=t.label, amount=to_major(t.amount, cur), included=totals.tax.inclusive)
                       for t in (totals.tax.lines if totals else [])],
            tax_total=to_major(totals.tax.total if totals else 0, cur),
            shipping_total=to_major(totals.shipping_total if totals else 0, cur),
            total=to_major(totals.total if totals else 0, cur), tax_known=bool(totals is None or totals.tax_known))
