"""Checkout: turn a cart into an order that holds its stock, in ONE transaction.

Price steps (RECONCILE.md "Money"), each its own order line so the total can be re-derived:
line subtotals -> reseller discount -> coupon -> tax (one ``tax`` adjustment per rule) ->
shipping (one ``shipping`` adjustment, the method's name). A cart with physical lines needs a
shipping address and a shipping method (``shipping_address_required``,
``shipping_method_required``); the method is priced again when the order is placed
(``shipping.option_for``). Tax (``taxes.cart_tax``): physical lines and shipping where the
parcel goes; digital lines where the buyer is (the billing address given, else the buyer's
default billing address, else the shipping address, else the store's ``tax_country``). When
the store's prices include tax, the tax adjustments are ``included`` (shown, not added) and
``Order.tax_total`` is the tax inside the total; otherwise they add to it. Either way
``derive_total`` gives back ``Order.total`` from the lines and adjustments.

Allocation claims rows nobody else can claim: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` inside
the transaction; on SQLite the request's write transaction took the lock up front
(``BEGIN IMMEDIATE``). Either every line gets its units or the whole checkout rolls back with
``out_of_stock`` (409): two shoppers can never hold or receive the same item.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from extensions import db
from models import Order, OrderAdjustment, OrderEvent, OrderLine, Payment, Store, User
from models.base import new_id

from . import addresses, balance, coupons, metrics, payments, shipping, stock, taxes
from . import cart as cart_service
from . import orders as order_service
from .auth import check_blacklist, normalize_email
from .crypto import token_hash
from .errors import Conflict, Invalid
from .money import major_amounts
from .stores import base_url, settings_of
from .variants import shift_stock_total

DEFAULT_RESERVATION_CAP = 200  # units one buyer may hold in unpaid orders at once


def _now() -> datetime:
    return datetime.now(UTC)


def _cap_check(buyer: User | None, email: str, quantity: int, cap: int) -> None:
    """One buyer cannot lock a product by holding its stock in unpaid orders."""
    held = db.session.scalar(
        select(func.coalesce(func.sum(Order.item_count), 0)).where(
            Order.status == "PENDING", Order.payment_status == "UNPAID",
            (Order.buyer_id == buyer.id) if buyer is not None else (Order.email == email))) or 0
    if held + quantity > cap:
        raise Conflict("You already hold many items in unpaid orders: pay or cancel them first",
                       code="reservation_limit", details={"held": held, "limit": cap})


# --- shipping and tax: the price steps after the cart's ----------------------------------

ADDRESS_KEYS = addresses.FIELDS


@dataclass
class Delivery:
    """What the buyer says about delivery and billing at checkout (all optional for a digital
    cart): a typed ``shipping_address`` (our address fields) or ``address_id`` (one of the signed-in
    buyer's saved addresses), the chosen ``method_id``, the same two ways for a billing address
    (only its country matters: where digital goods are taxed), and a tax number for the invoice."""

    shipping_address: dict | None = None
    address_id: str | None = None
    method_id: str | None = None
    billing_address: dict | None = None
    billing_address_id: str | None = None
    tax_number: str | None = None
    # a destination without a full address (the shipping options before the address is typed)
    country: str | None = None
    postal_code: str | None = None

    def destination(self, address: dict | None) -> dict | None:
        """Where the parcel goes, for pricing: the address, else the bare country/postal code."""
        if address is not None:
            return address
        if self.country:
            return {"country": taxes.normalize_country(self.country), "postal_code": (self.postal_code or "").strip(),
                    "region": ""}
        return None


def resolve_address(buyer: User | None, data: dict | None, address_id: str | None, *,
                    field: str = "shipping_address") -> dict | None:
    """The address as the order keeps it (validated, our field names), from the buyer's book
    (``address_id``: a signed-in buyer's own, else 404 ``address_not_found``) or typed (``data``)."""
    if address_id:
        if buyer is None:
            raise Invalid("Sign in to use a saved address, or type the address", code="address_not_found",
                          details={"address_id": ["sign in"]})
        saved = addresses.get_address(buyer, address_id)
        return {name: getattr(saved, name) for name in ADDRESS_KEYS}
    if data:
        try:
            return addresses.validate_address(data)
        except Invalid as error:  # name the fields inside the address the caller sent
            raise Invalid(error.message, code=error.code,
                          details={f"{field}.{k}": v for k, v in (error.details or {}).items()}) from None
    return None


def is_physical(priced) -> bool:
    return any(ln.variant is not None and ln.variant.product.kind == "physical" for ln in _buyable(priced))


def _buyable(priced) -> list:
    return [ln for ln in priced.lines if ln.variant is not None and "unavailable" not in ln.problems]


def cart_weight(priced) -> int:
    """The parcel's weight in grams: the physical lines' variant weights times quantities
    (a variant with no weight weighs nothing)."""
    return sum((ln.variant.weight_grams or 0) * ln.quantity for ln in _buyable(priced)
               if ln.variant.product.kind == "physical")


def taxable_lines(priced) -> list[taxes.TaxableLine]:
    """Each line's amount after the reseller discount and its share of the coupon (spread over
    the lines the coupon applies to, in whole minor units that add up: ``allocate_discount``)."""
    lines = _buyable(priced)
    amounts = [ln.subtotal - ln.reseller_discount for ln in lines]
    if priced.coupon_discount:
        coupon = coupons.find_by_code(priced.coupon_code)
        eligible = [i for i, ln in enumerate(lines)
                    if coupons.applies_to(coupon, ln.variant.product_id, ln.variant.product.category_id)]
        shares = taxes.allocate_discount([amounts[i] for i in eligible], priced.coupon_discount)
        for i, share in zip(eligible, shares, strict=True):
            amounts[i] -= share
    return [taxes.TaxableLine(amount=amount, kind=ln.variant.product.kind, tax_class=ln.variant.product.tax_class,
                              ref=ln.item.id) for ln, amount in zip(lines, amounts, strict=True)]


@dataclass
class Totals:
    """The cart's price after every step: ``goods`` (subtotal less the discounts), the tax lines,
    the shipping option (None: nothing to ship) and the ``total`` the buyer pays."""

    goods: int
    physical: bool
    weight_grams: int
    address: dict | None
    option: shipping.Option | None
    tax: taxes.CartTax
    tax_known: bool  # False: physical lines but no address yet (their tax is not known)
    destination: dict | None = None  # the address, or the bare country/postal code priced for

    @property
    def shipping_total(self) -> int:
        return self.option.price if self.option is not None else 0

    @property
    def total(self) -> int:
        return self.goods + self.tax.added + self.shipping_total


def buyer_country(buyer: User | None, billing: dict | None) -> str | None:
    """Where the buyer is, for digital goods: the billing address given, else the signed-in
    buyer's default billing address (None: unknown, the shipping country or the store's then)."""
    if billing:
        return billing["country"]
    if buyer is not None:
        saved = addresses.default_address(buyer, "billing")
        if saved is not None:
            return saved.country
    return None


def totals(store: Store, priced, *, buyer: User | None, delivery: Delivery | None = None,
           require: bool = False) -> Totals:
    """Price the cart's tax and shipping. ``require`` (placing the order): a physical cart without
    an address or method is refused (422 ``shipping_address_required`` / ``shipping_method_required``),
    and the method is priced now (``shipping_method_unavailable`` when it no longer applies).
    Without ``require`` (pages and the options endpoint showing the totals) what is missing is
    left out, and a bare ``country``/``postal_code`` may stand for the address."""
    delivery = delivery or Delivery()
    physical = is_physical(priced)
    weight = cart_weight(priced)
    address = resolve_address(buyer, delivery.shipping_address, delivery.address_id) if physical else None
    billing = resolve_address(buyer, delivery.billing_address, delivery.billing_address_id,
                              field="billing_address")
    destination = (address if require else delivery.destination(address)) if physical else None
    option = None
    if physical:
        if destination is None:
            if require:
                raise Invalid("This order has items to ship: give a shipping address", code="shipping_address_required",
                              details={"shipping_address": ["required"]})
        elif delivery.method_id:
            option = shipping.option_for(delivery.method_id, destination["country"], destination["postal_code"],
                                         weight, priced.total)
        elif require:
            raise Invalid("Choose how the items are shipped", code="shipping_method_required",
                          details={"shipping_method_id": ["required"]})
    lines = taxable_lines(priced)
    tax_known = not physical or destination is not None
    if not tax_known:  # the digital lines' tax only, until the destination is known
        lines = [ln for ln in lines if ln.kind != "physical"]
    # where the buyer is matters only to a store with tax rules (a saved address is one more read)
    tax = taxes.cart_tax(lines, buyer_country=buyer_country(buyer, billing) if taxes.any_rules() else None,
                         shipping_country=destination["country"] if destination else None,
                         buyer_region=billing["region"] if billing else None,
                         shipping_region=destination["region"] if destination else None,
                         shipping_amount=option.price if option else 0, store=store)
    return Totals(goods=priced.total, physical=physical, weight_grams=weight, address=address, option=option,
                  tax=tax, tax_known=tax_known, destination=destination)


def shipping_options(priced, destination: dict | None) -> list[shipping.Option]:
    """The ways to ship this cart to a destination, priced for its weight and subtotal (after
    discounts): what the checkout offers (none for a cart with nothing to ship)."""
    if destination is None or not is_physical(priced):
        return []
    return shipping.options_for(destination["country"], destination["postal_code"], cart_weight(priced),
                                priced.total)


def quote(store: Store, cart, *, buyer: User | None, delivery: Delivery) -> tuple[list[shipping.Option], Totals]:
    """The cart's shipping options for a destination and its totals with the chosen method (if
    any): ``POST /api/cart/shipping-options`` and the checkout page. Reads only."""
    priced = cart_service.price(cart, buyer=buyer, customer_key=buyer.id if buyer else None)
    priced_totals = totals(store, priced, buyer=buyer, delivery=delivery)
    return shipping_options(priced, priced_totals.destination), priced_totals


def derive_total(lines: list[OrderLine], adjustments: list[OrderAdjustment]) -> int:
    """An order's total from its rows: line subtotals plus every adjustment not ``included``."""
    return sum(ln.line_subtotal for ln in lines) + sum(a.amount for a in adjustments if not a.included)


def _tax_number(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > 32:
        raise Invalid("A tax number is at most 32 characters", details={"customer_tax_number": ["too long"]})
    return value or None


@dataclass
class Placed:
    order: Order
    guest_token: str | None  # the secret of a guest's order link (only known now; emailed)
    payment: Payment | None = None  # the provider payment started for it (STRIPE, HOODPAY)
    # the rows just written, so the answer needs no second read of them
    lines: list[OrderLine] | None = None
    adjustments: list[OrderAdjustment] | None = None
    # a checkout by balance whose answer shows the items: the deliverables per line, decrypted
    delivered: dict[str, list[dict]] | None = None

    @property
    def redirect_url(self) -> str:
        """Where the shopper goes next: the provider's page, or the order page (paid or waiting)."""
        if self.payment is not None and self.payment.redirect_url:
            return self.payment.redirect_url
        return order_service.order_path(self.order, self.guest_token)


def place_order(store: Store, cart, *, buyer: User | None, method: str, email: str | None = None,
                note: str = "", site_url: str | None = None, ip: str | None = None,
                delivery: Delivery | None = None, answer_shows_items: bool = False) -> Placed:
    """Create the order from the cart, reserve its stock, count its coupon; pay at once with
    BALANCE; with STRIPE or HOODPAY start the provider's payment (its page is ``redirect_url``).
    Everything or nothing: a provider that cannot be reached undoes the order too, and the cart
    stays. A ``price_changed`` refusal re-prices the cart first. ``site_url`` is the address the
    shopper uses (the provider sends them back there); ``ip`` the shopper's address (the
    blacklist). ``answer_shows_items``: the caller's answer shows a paid order's deliverables to the
    buyer (the API's; ``Placed.delivered``): their first reveal is logged with the sale."""
    settings = settings_of(store)
    method = payments.check_method(store, method, buyer=buyer)
    if buyer is None:
        if not email:
            raise Invalid("Enter the email address that receives your order", details={"email": ["required"]})
        email = normalize_email(email)
    else:
        email = buyer.email
    # the blacklist (the same check as registration and sign-in): the buyer's email, username
    # and address; a blocked guest cannot order under another name from a blocked network either
    check_blacklist(ip=ip, email=email, username=buyer.username if buyer else None)
    customer_key = buyer.id if buyer else email
    # One checkout of a cart at a time (a double click, two tabs): the second waits, then finds
    # the cart emptied.
    cart_service.lock(cart)
    priced = cart_service.price(cart, buyer=buyer, customer_key=customer_key)
    short = [ln.variant for ln in priced.lines if "out_of_stock" in ln.problems and ln.variant is not None]
    if short and order_service.expire_due(limit=50):
        # stock held by lapsed unpaid orders is free again (the cron job frees it too, on its own
        # schedule): price once more with the counts their release wrote
        for variant in short:
            db.session.expire(variant, ["stock_count"])
        priced = cart_service.price(cart, buyer=buyer, customer_key=customer_key)
    if not priced.lines:
        raise Invalid("Your cart is empty", code="cart_empty")
    if priced.coupon_dropped:
        # the store deleted it since the shopper last saw the cart: it is taken off (the caller keeps
        # that write), and the shopper sees the total without it before the order is placed
        raise Conflict(f"{priced.coupon_notice} Check the new total, then place the order again.",
                       code="coupon_removed", details={"coupon_code": priced.coupon_dropped})
    if priced.price_changes:
        details = {"currency": store.currency,
                   "lines": [{"subcategory_id": ln.item.variant_id,
                              **major_amounts(store.currency, seen_price=ln.item.seen_price, price=ln.unit_price)}
                             for ln in priced.price_changes]}
        # The refusal shows the new prices: from now on the shopper has seen them, so sending the
        # checkout again goes through. The caller keeps this write (it commits despite the refusal).
        cart_service.reprice(cart)
        raise Conflict("Some prices changed since you added them: check your cart", code="price_changed",
                       details=details)
    problems = [ln for ln in priced.lines if ln.problems]
    if problems:
        details = {"lines": [{"subcategory_id": ln.item.variant_id, "problems": ln.problems,
                              "available": ln.variant.stock_count if ln.variant is not None else 0}
                             for ln in problems]}
        if all(ln.problems == ["out_of_stock"] for ln in problems):  # sold meanwhile: say so
            raise Conflict("Not enough stock left for some items in your cart", code="out_of_stock", details=details)
        raise Conflict("Some items in your cart cannot be bought as they are", code="cart_not_buyable",
                       details=details)
    if cart.coupon_code and priced.coupon_failure:
        raise priced.coupon_failure
    delivery = delivery or Delivery()
    tax_number = _tax_number(delivery.tax_number)
    priced_totals = totals(store, priced, buyer=buyer, delivery=delivery, require=True)
    if method != "BALANCE":  # paid in this transaction or not at all: it never holds stock unpaid
        _cap_check(buyer, email, priced.item_count, DEFAULT_RESERVATION_CAP)
    # Everything or nothing: a refusal below (out of stock, balance too low, coupon used up)
    # undoes the whole attempt, even for a caller that goes on and commits.
    with db.session.begin_nested():
        placed = _create_order(store, cart, priced, priced_totals, settings, buyer=buyer, method=method, email=email,
                               note=note, customer_key=customer_key, tax_number=tax_number,
                               shown_to=(buyer, ip) if answer_shows_items else None)
        if method in payments.PROVIDER_METHODS and placed.order.total > 0:
            page = (site_url or base_url(store)).rstrip("/") + order_service.order_path(placed.order, placed.guest_token)
            placed.payment = payments.start_order_payment(store, placed.order, success_url=page + "?payment=done",
                                                          cancel_url=page + "?payment=cancelled")
        elif method in payments.PROVIDER_METHODS:
            order_service.mark_paid(placed.order, actor=buyer, via="nothing to pay")
        metrics.order_placed(method)  # counted when this commits (a rolled-back attempt is not)
        return placed


def _create_order(store: Store, cart, priced, priced_totals: Totals, settings, *, buyer: User | None, method: str,
                  email: str, note: str, customer_key: str, tax_number: str | None = None,
                  shown_to: tuple[User | None, str | None] | None = None) -> Placed:
    number = order_service.next_number()  # before the clock: a concurrent checkout waits here (PostgreSQL),
    now = _now()  # so the times orders are placed at follow their numbers
    # A checkout by balance is paid in this transaction: its units are sold as they are allocated
    # (one UPDATE), and nobody sees the order before it is paid (``orders.mark_paid(sold=)``).
    paying_now = method == "BALANCE"
    guest_token = secrets.token_urlsafe(24) if buyer is None else None
    # Paying now, the order is written as mark_paid leaves it (every unit is sold below or the whole
    # attempt rolls back), so its payment changes none of these columns and costs no UPDATE;
    # mark_paid still runs the payment's rules (events, costs, alerts, the email, Moloni).
    all_digital = all(ln.variant.product.kind == "digital" for ln in priced.lines)
    status = ("COMPLETED" if all_digital else "PROCESSING") if paying_now else "PENDING"
    order = Order(  # placed at ``now``, the moment it is also paid when paid at once (not at the flush, later)
        id=new_id(), created_at=now, order_number=number, buyer_id=buyer.id if buyer else None, email=email,
        guest_token_hash=token_hash(guest_token) if guest_token else None,
        status=status, payment_status="PAID" if paying_now else "UNPAID", paid_at=now if paying_now else None,
        completed_at=now if status == "COMPLETED" else None, payment_method=method, currency=store.currency,
        subtotal=priced.subtotal, discount_total=priced.reseller_discount + priced.coupon_discount,
        tax_total=priced_totals.tax.total, shipping_total=priced_totals.shipping_total,
        total=priced_totals.total, item_count=priced.item_count, customer_tax_number=tax_number,
        shipping_address=priced_totals.address,
        shipping_method_id=priced_totals.option.method_id if priced_totals.option else None,
        shipping_method_name=priced_totals.option.name if priced_totals.option else None, coupon_code=cart.coupon_code, note=(note or "")[:2000],
        expires_at=None if paying_now else now + timedelta(minutes=settings.order_expiry_minutes),
        cart_snapshot=[{"subcategory_id": ln.variant.id, "product_id": ln.variant.product_id,
                        "product_title": ln.variant.product.title, "subcategory_title": ln.variant.title,
                        "quantity": ln.quantity, "unit_price": ln.unit_price} for ln in priced.lines],
    )
    db.session.add(order)
    lines: list[OrderLine] = []
    for position, ln in enumerate(priced.lines):
        variant, product = ln.variant, ln.variant.product
        lines.append(OrderLine(order_id=order.id, created_at=now, position=position, product_id=product.id,
                               variant_id=variant.id,
                               kind=product.kind, product_title=product.title, variant_title=variant.title,
                               product_image_url=product.primary_image_url, quantity=ln.quantity,
                               unit_price=ln.unit_price, line_subtotal=ln.subtotal,
                               delivered_count=ln.quantity if paying_now and product.kind == "digital" else 0,
                               paid_at=now if paying_now else None, is_gift=False, cost=0, cost_known_units=0))
    db.session.add_all(lines)
    db.session.flush()  # the order, then one INSERT of every line (its id was given above)
    revealed = (now, shown_to[1]) if paying_now and shown_to is not None else None
    sold = {line.id: stock.allocate(order, line, ln.variant, ln.quantity, sell_at=now if paying_now else None,
                                    revealed=revealed)
            for line, ln in zip(lines, priced.lines, strict=True)}
    adjustments: list[OrderAdjustment] = []
    position = 0
    if priced.reseller_discount:
        adjustments.append(OrderAdjustment(order_id=order.id, position=position, kind="reseller_discount",
                                           label=f"Reseller discount {buyer.discount_percent:g} %",
                                           amount=-priced.reseller_discount))
        position += 1
    if priced.coupon_discount:
        coupon = coupons.find_by_code(cart.coupon_code, lock=True)
        order.coupon_id = coupon.id
        coupons.redeem(coupon, order, priced.coupon_discount, customer_key)
        adjustments.append(OrderAdjustment(order_id=order.id, position=position, kind="coupon",
                                           label=f"Coupon {coupon.code}", amount=-priced.coupon_discount))
        position += 1
    for tax_line in priced_totals.tax.lines:
        adjustments.append(OrderAdjustment(order_id=order.id, position=position, kind="tax", label=tax_line.label,
                                           amount=tax_line.amount, included=priced_totals.tax.inclusive))
        position += 1
    if priced_totals.option is not None:
        option = priced_totals.option
        adjustments.append(OrderAdjustment(order_id=order.id, position=position, kind="shipping",
                                           label=f"Shipping: {option.name}"[:120], amount=option.price))
    db.session.add_all(adjustments)
    # the products' cached stock total moves by what was taken (the price, the only other cached
    # figure, did not change): one UPDATE per product, no re-aggregation of its variants
    taken: dict[str, int] = {}
    for ln in priced.lines:
        taken[ln.variant.product_id] = taken.get(ln.variant.product_id, 0) + ln.quantity
    shift_stock_total(taken)
    cart_service.clear(cart)
    if paying_now and order.total:
        balance.debit(buyer.id, order.total, "purchase", order_id=order.id, reason=f"Order #{order.order_number}",
                      flush=False)  # written with the payment's flush below
    db.session.add(OrderEvent(order_id=order.id, kind="created", actor_id=buyer.id if buyer else None, data={},
                              message=f"Order placed ({method}), {order.item_count} item(s)"))
    delivered = None
    if paying_now:  # the adjustments and events are written with the payment's own flush
        order_service.mark_paid(order, actor=buyer, via="balance", lines=lines, sold=sold,
                                revealed_to=shown_to if revealed is not None else None, at=now)
        if revealed is not None:
            delivered = order_service.shown_at_checkout(order, sold, revealed_at=now)
    else:
        db.session.flush()
    order_service.notify_placed(order, guest_token)
    return Placed(order, guest_token, lines=lines, adjustments=adjustments, delivered=delivered)
