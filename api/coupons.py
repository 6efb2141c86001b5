"""Coupons (Seed A "Coupons"): managed by managers; anyone may check a code.

A coupon is a percentage or a fixed amount, with an optional minimum subtotal, validity window,
total and per-customer limits, and an optional product or category restriction. A use is
counted once, at checkout (a guarded UPDATE: the last use cannot be taken twice); an order that
expires or is cancelled gives its use back.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from models import Coupon
from services import cart as cart_service
from services import coupons as coupon_service
from services.errors import DomainError
from services.money import to_major

from . import cart_owner
from .access import access
from .schemas.common import money_in, page_of
from .schemas.coupons import CouponIn, CouponOut, CouponQuery, CouponUpdateIn, CouponValidateIn, CouponValidationOut

bp = APIBlueprint("api_coupons", __name__, url_prefix="/api", tag="Coupons")


def _out(coupon: Coupon) -> CouponOut:
    return CouponOut.of(coupon, g.store.currency)


@bp.get("/coupons")
@access("manager")
@bp.input(CouponQuery, location="query", arg_name="query")
@bp.output(page_of(CouponOut))
def list_coupons(query: CouponQuery):
    """The store's coupons, newest first (filters: `search` in the code, `is_active`), paginated."""
    page = coupon_service.list_coupons(search=query.search, is_active=query.is_active, page=query.page,
                                       page_size=query.page_size)
    return {**page, "items": [_out(c) for c in page["items"]]}


@bp.post("/coupons")
@access("manager")
@bp.input(CouponIn, arg_name="body")
@bp.output(CouponOut, status_code=201)
@bp.doc(responses={409: "The code exists already (`coupon_exists`)", 422: "Invalid fields"})
def create_coupon(body: CouponIn):
    """Create a coupon.

    Fields: `code` (1-40 letters, digits, - or _; stored upper-case), `kind` (percent, fixed),
    `value` (a percentage like 15 or 12.5, or an amount in major units), optional `min_subtotal`,
    `starts_at`, `ends_at`, `max_uses`, `max_uses_per_customer`, `product_id`, `category_id`,
    `is_active`, `description`.
    """
    coupon = coupon_service.create_coupon(body.to_service(g.store.currency))
    return _out(coupon)


@bp.put("/coupons/<coupon_id>")
@access("manager")
@bp.input(CouponUpdateIn, arg_name="body")
@bp.output(CouponOut)
@bp.doc(responses={404: "No such coupon", 409: "The new code exists already", 422: "Invalid fields"})
def update_coupon(coupon_id: str, body: CouponUpdateIn):
    """Update a coupon: only the fields sent change (`null` clears a limit, date or restriction)."""
    coupon = coupon_service.get_coupon(coupon_id)
    coupon_service.update_coupon(coupon, body.to_service(g.store.currency, kind=coupon.kind))
    return _out(coupon)


@bp.delete("/coupons/<coupon_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_coupon(coupon_id: str):
    """Delete a coupon. Orders that used it keep their code and discount."""
    coupon_service.delete_coupon(coupon_service.get_coupon(coupon_id))
    return ""


@bp.post("/coupons/validate")
@access("public")
@bp.input(CouponValidateIn, arg_name="body")
@bp.output(CouponValidationOut)
def validate_coupon(body: CouponValidateIn):
    """Check a coupon code: `{code, subtotal?}`. Changes nothing.

    With `subtotal` (major units) the discount is worked out on that amount (a coupon limited to
    a product or category is assumed to apply to it: `product_id` / `category_id` say so). Without
    it, against the caller's cart (bearer token, guest token or `X-Session-ID`). Always 200:
    `valid: true` with the `discount`, or `valid: false` with the `reason` (`coupon_not_found`,
    `coupon_inactive`, `coupon_not_started`, `coupon_expired`, `coupon_used_up`,
    `coupon_customer_limit`, `coupon_minimum`, `coupon_not_applicable`, `cart_empty`) and a `message`.
    """
    currency = g.store.currency
    given = money_in(body.subtotal, currency, "subtotal") if body.subtotal is not None else None
    answer = dict(valid=False, code=body.code.strip().upper(), discount=0, currency=currency, subtotal=None,
                  kind=None, value=None)
    try:
        coupon = coupon_service.find_by_code(body.code)
        answer.update(code=coupon.code, kind=coupon.kind, product_id=coupon.product_id,
                      category_id=coupon.category_id,
                      value=coupon.value / 100 if coupon.kind == "percent" else to_major(coupon.value, currency))
        customer_key = None
        if given is not None:
            subtotal = given
            lines = [coupon_service.CouponLine(coupon.product_id or "", coupon.category_id, subtotal)]
        else:
            who, cart = cart_owner.resolve(create=False)
            customer_key = who.customer_key
            priced = cart_service.price(cart, buyer=who.user, customer_key=customer_key) if cart is not None else None
            lines = [coupon_service.CouponLine(ln.variant.product_id, ln.variant.product.category_id,
                                               ln.subtotal - ln.reseller_discount)
                     for ln in (priced.lines if priced else []) if "unavailable" not in ln.problems]
            if not lines:
                raise DomainError("Your cart is empty", code="cart_empty", status=422)
            subtotal = sum(ln.amount for ln in lines)
        answer["subtotal"] = to_major(subtotal, currency)
        discount = coupon_service.discount_for(coupon, lines, customer_key=customer_key)
        answer.update(valid=True, discount=to_major(discount, currency))
    except DomainError as error:
        if error.code == "invalid_session_id":
            raise
        answer.update(reason=error.code if error.code != "validation_error" else "coupon_invalid",
                      message=error.message)
    return CouponValidationOut(**answer)
