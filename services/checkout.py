"""Checkout: turn a cart into an order that holds its stock, in ONE transaction.

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
from models import Order, OrderAdjustment, OrderEvent, OrderLine, Payment, Product, Store, User

from . import balance, coupons, metrics, payments, stock
from . import cart as cart_service
from . import orders as order_service
from .auth import check_blacklist, normalize_email
from .crypto import token_hash
from .errors import Conflict, Invalid
from .stores import base_url, settings_of
from .variants import refresh_product_cache

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


@dataclass
class Placed:
    order: Order
    guest_token: str | None  # the secret of a guest's order link (only known now; emailed)
    payment: Payment | None = None  # the provider payment started for it (STRIPE, HOODPAY)

    @property
    def redirect_url(self) -> str:
        """Where the shopper goes next: the provider's page, or the order page (paid or waiting)."""
        if self.payment is not None and self.payment.redirect_url:
            return self.payment.redirect_url
        return order_service.order_path(self.order, self.guest_token)


def place_order(store: Store, cart, *, buyer: User | None, method: str, email: str | None = None,
                note: str = "", site_url: str | None = None, ip: str | None = None) -> Placed:
    """Create the order from the cart, reserve its stock, count its coupon; pay at once with
    BALANCE; with STRIPE or HOODPAY start the provider's payment (its page is ``redirect_url``).
    Everything or nothing: a provider that cannot be reached undoes the order too, and the cart
    stays. A ``price_changed`` refusal re-prices the cart first. ``site_url`` is the address the
    shopper uses (the provider sends them back there); ``ip`` the shopper's address (the
    blacklist)."""
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
    if not priced.lines:
        raise Invalid("Your cart is empty", code="cart_empty")
    if priced.price_changes:
        details = {"lines": [{"subcategory_id": ln.item.variant_id, "seen_price": ln.item.seen_price,
                              "price": ln.unit_price} for ln in priced.price_changes]}
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
    _cap_check(buyer, email, priced.item_count, DEFAULT_RESERVATION_CAP)
    order_service.expire_due(limit=50)  # free stock held by lapsed orders before we allocate
    # Everything or nothing: a refusal below (out of stock, balance too low, coupon used up)
    # undoes the whole attempt, even for a caller that goes on and commits.
    with db.session.begin_nested():
        placed = _create_order(store, cart, priced, settings, buyer=buyer, method=method, email=email, note=note,
                               customer_key=customer_key)
        if method in payments.PROVIDER_METHODS and placed.order.total > 0:
            page = (site_url or base_url(store)).rstrip("/") + order_service.order_path(placed.order, placed.guest_token)
            placed.payment = payments.start_order_payment(store, placed.order, success_url=page + "?payment=done",
                                                          cancel_url=page + "?payment=cancelled")
        elif method in payments.PROVIDER_METHODS:
            order_service.mark_paid(placed.order, actor=buyer, via="nothing to pay")
        metrics.order_placed(method)  # counted when this commits (a rolled-back attempt is not)
        return placed


def _create_order(store: Store, cart, priced, settings, *, buyer: User | None, method: str, email: str, note: str,
                  customer_key: str) -> Placed:
    now = _now()
    guest_token = secrets.token_urlsafe(24) if buyer is None else None
    order = Order(
        order_number=order_service.next_number(), buyer_id=buyer.id if buyer else None, email=email,
        guest_token_hash=token_hash(guest_token) if guest_token else None,
        status="PENDING", payment_status="UNPAID", payment_method=method, currency=store.currency,
        subtotal=priced.subtotal, discount_total=priced.reseller_discount + priced.coupon_discount,
        total=priced.total, item_count=priced.item_count, coupon_code=cart.coupon_code, note=(note or "")[:2000],
        expires_at=now + timedelta(minutes=settings.order_expiry_minutes),
        cart_snapshot=[{"subcategory_id": ln.variant.id, "product_id": ln.variant.product_id,
                        "product_title": ln.variant.product.title, "subcategory_title": ln.variant.title,
                        "quantity": ln.quantity, "unit_price": ln.unit_price} for ln in priced.lines],
    )
    db.session.add(order)
    db.session.flush()
    for position, ln in enumerate(priced.lines):
        variant, product = ln.variant, ln.variant.product
        line = OrderLine(order_id=order.id, position=position, product_id=product.id, variant_id=variant.id,
                         kind=product.kind, product_title=product.title, variant_title=variant.title,
                         product_image_url=product.primary_image_url, quantity=ln.quantity,
                         unit_price=ln.unit_price, line_subtotal=ln.subtotal)
        db.session.add(line)
        db.session.flush()
        stock.allocate(order, line, variant, ln.quantity)
    position = 0
    if priced.reseller_discount:
        db.session.add(OrderAdjustment(order_id=order.id, position=position, kind="reseller_discount",
                                       label=f"Reseller discount {buyer.discount_percent:g} %",
                                       amount=-priced.reseller_discount))
        position += 1
    if priced.coupon_discount:
        coupon = coupons.find_by_code(cart.coupon_code, lock=True)
        order.coupon_id = coupon.id
        coupons.redeem(coupon, order, priced.coupon_discount, customer_key)
        db.session.add(OrderAdjustment(order_id=order.id, position=position, kind="coupon",
                                       label=f"Coupon {coupon.code}", amount=-priced.coupon_discount))
    db.session.add(OrderEvent(order_id=order.id, kind="created", actor_id=buyer.id if buyer else None,
                              message=f"Order placed ({method}), {order.item_count} item(s)"))
    db.session.flush()
    for product_id in {ln.variant.product_id for ln in priced.lines}:
        refresh_product_cache(db.session.get(Product, product_id))
    cart_service.clear(cart)
    if method == "BALANCE":
        if order.total:
            balance.debit(buyer.id, order.total, "purchase", order_id=order.id,
                          reason=f"Order #{order.order_number}")
        order_service.mark_paid(order, actor=buyer, via="balance")
    order_service.notify_placed(order, guest_token)
    return Placed(order, guest_token)
