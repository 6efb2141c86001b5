"""Coupons: percent or fixed, minimum subtotal, validity window, total and per-customer limits,
optional product or category restriction. A use is counted once, at checkout, by a guarded
UPDATE; an order that expires or is cancelled gives its use back."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from extensions import db
from models import Category, Coupon, CouponRedemption, Order, OrderAdjustment, Product

from .errors import Conflict, Invalid, NotFound
from .money import MAX_PRICE, major_amounts
from .pagination import paginate
from .stores import current_currency

# A limit of uses is an INTEGER column: at most 2**31 - 1 (the API's ``Positive``); beyond it the
# database refuses the row (a 500 instead of a message).
MAX_USES = 2**31 - 1


def _now() -> datetime:
    return datetime.now(UTC)


def normalize_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not code or len(code) > 40 or not all(c.isalnum() or c in "-_" for c in code):
        raise Invalid("A coupon code is 1-40 letters, digits, - or _", details={"code": ["invalid"]})
    return code


def _check_fields(data: dict, coupon: Coupon | None = None) -> dict:
    out = dict(data)
    kind = out.get("kind", coupon.kind if coupon else None)
    if kind not in ("percent", "fixed"):
        raise Invalid("kind must be percent or fixed", details={"kind": ["invalid"]})
    value = out.get("value", coupon.value if coupon else None)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Invalid("value must be positive", details={"value": ["must be positive"]})
    if kind == "percent" and value > 10000:
        raise Invalid("A percentage cannot be above 100", details={"value": ["at most 100 %"]})
    if kind == "fixed" and value > MAX_PRICE:
        raise Invalid("The amount off is too large", details={"value": ["too large"]})
    for name in ("min_subtotal", "max_uses", "max_uses_per_customer"):
        v = out.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "min_subtotal" else 1)):
            raise Invalid(f"{name} is invalid", details={name: ["invalid"]})
        if v is not None and v > (MAX_PRICE if name == "min_subtotal" else MAX_USES):
            what = {"min_subtotal": "The minimum subtotal", "max_uses": "The limit of uses"}.get(name, "The limit per customer")
            raise Invalid(f"{what} is too large", details={name: ["too large"]})
    # A restriction names a product or category of THIS store (the lookups are store-scoped):
    # an unknown id, or one of another store, is bad input, never a dangling or foreign reference.
    if out.get("product_id") and db.session.scalar(
            select(Product.id).where(Product.id == out["product_id"], Product.deleted_at.is_(None))) is None:
        raise Invalid("No such product", code="unknown_product", details={"product_id": ["unknown product"]})
    if out.get("category_id") and db.session.scalar(select(Category.id).where(Category.id == out["category_id"])) is None:
        raise Invalid("No such category", code="unknown_category", details={"category_id": ["unknown category"]})
    starts = out.get("starts_at", coupon.starts_at if coupon else None)
    ends = out.get("ends_at", coupon.ends_at if coupon else None)
    if starts and ends and ends <= starts:
        raise Invalid("The coupon must end after it starts", details={"ends_at": ["before the start"]})
    return out


def create_coupon(data: dict) -> Coupon:
    data = _check_fields(data)
    code = normalize_code(data.pop("code", ""))
    if db.session.scalar(select(Coupon.id).where(Coupon.code == code)):
        raise Conflict(f"The code {code} already exists", code="coupon_exists")
    coupon = Coupon(code=code, **{k: v for k, v in data.items() if v is not None})
    db.session.add(coupon)
    db.session.flush()
    return coupon


def update_coupon(coupon: Coupon, changes: dict) -> Coupon:
    changes = _check_fields(changes, coupon)
    if changes.get("code"):
        code = normalize_code(changes.pop("code"))
        if code != coupon.code and db.session.scalar(select(Coupon.id).where(Coupon.code == code)):
            raise Conflict(f"The code {code} already exists", code="coupon_exists")
        coupon.code = code
    for key, value in changes.items():
        if key != "code":
            setattr(coupon, key, value)
    if coupon.max_uses is not None and coupon.uses_count > coupon.max_uses:
        raise Invalid(f"The limit of uses cannot be below the {coupon.uses_count} already made",
                      details={"max_uses": ["below uses_count"]})
    db.session.flush()
    return coupon


def get_coupon(coupon_id: str) -> Coupon:
    coupon = db.session.get(Coupon, coupon_id) if coupon_id else None
    if coupon is None:
        raise NotFound("No such coupon", code="coupon_not_found")
    return coupon


def find_by_code(code: str, *, lock: bool = False) -> Coupon:
    stmt = select(Coupon).where(Coupon.code == normalize_code(code))
    if lock:
        stmt = stmt.with_for_update()
    coupon = db.session.scalar(stmt)
    if coupon is None:
        raise NotFound("This coupon code does not exist", code="coupon_not_found")
    return coupon


@dataclass
class CouponLine:
    """What the coupon needs to know of a cart line."""

    product_id: str
    category_id: str | None
    amount: int  # the line's price after the reseller discount


def applies_to(coupon: Coupon, product_id: str | None, category_id: str | None) -> bool:
    """Whether the coupon takes money off a line of this product (in this category): the one rule
    the discount and the checkout's tax split both use."""
    return ((coupon.product_id is None or product_id == coupon.product_id)
            and (coupon.category_id is None or category_id == coupon.category_id))


def discount_for(coupon: Coupon, lines: list[CouponLine], *, customer_key: str | None) -> int:
    """The discount in minor units, or a clear refusal (422 / 409) saying why it does not apply."""
    now = _now()
    if not coupon.is_active:
        raise Invalid("This coupon is not active", code="coupon_inactive")
    if coupon.starts_at and coupon.starts_at > now:
        raise Invalid("This coupon is not valid yet", code="coupon_not_started")
    if coupon.ends_at and coupon.ends_at <= now:
        raise Invalid("This coupon has expired", code="coupon_expired")
    if coupon.max_uses is not None and coupon.uses_count >= coupon.max_uses:
        raise Conflict("This coupon has been used up", code="coupon_used_up")
    if coupon.max_uses_per_customer is not None and customer_key:
        used = db.session.scalar(
            select(func.count()).select_from(CouponRedemption).join(Order, Order.id == CouponRedemption.order_id)
            .where(CouponRedemption.coupon_id == coupon.id, CouponRedemption.customer_key == customer_key,
                   Order.status.notin_(("CANCELLED", "EXPIRED", "FAILED")))) or 0
        if used >= coupon.max_uses_per_customer:
            raise Conflict("You have already used this coupon as often as allowed", code="coupon_customer_limit")
    eligible = [ln for ln in lines if applies_to(coupon, ln.product_id, ln.category_id)]
    if not eligible:
        raise Invalid("This coupon does not apply to anything in your cart", code="coupon_not_applicable")
    subtotal = sum(ln.amount for ln in lines)
    if subtotal < coupon.min_subtotal:
        currency = current_currency()
        raise Invalid("This coupon needs a cart of at least {min_subtotal}", code="coupon_minimum",
                      amounts={"min_subtotal": (coupon.min_subtotal, currency)},
                      details=major_amounts(currency, min_subtotal=coupon.min_subtotal))
    base = sum(ln.amount for ln in eligible)
    if coupon.kind == "percent":
        return min(base, (base * coupon.value + 5000) // 10000)  # half-up on basis points
    return min(base, coupon.value)


def redeem(coupon: Coupon, order: Order, amount: int, customer_key: str) -> None:
    """Count one use, exactly once, even when many checkouts race for the last one."""
    taken = db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id, (Coupon.max_uses.is_(None)) | (Coupon.uses_count < Coupon.max_uses))
        .values(uses_count=Coupon.uses_count + 1).execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise Conflict("This coupon has just been used up", code="coupon_used_up")
    db.session.add(CouponRedemption(coupon_id=coupon.id, order_id=order.id, customer_key=customer_key, amount=amount))
    db.session.flush()


def release(order: Order) -> None:
    """Give back the use of an order that will never be paid."""
    redemption = db.session.scalar(select(CouponRedemption).where(CouponRedemption.order_id == order.id))
    if redemption is None:
        return
    db.session.execute(update(Coupon).where(Coupon.id == redemption.coupon_id, Coupon.uses_count > 0)
                       .values(uses_count=Coupon.uses_count - 1).execution_options(synchronize_session=False))
    db.session.delete(redemption)
    db.session.flush()


def restore(order: Order) -> None:
    """A lapsed order paid after all: count its coupon use again. The buyer paid the discounted
    price, so the use stands even past the coupon's limit."""
    if not order.coupon_id or db.session.scalar(select(CouponRedemption.id)
                                                .where(CouponRedemption.order_id == order.id)):
        return
    amount = -sum(db.session.scalars(select(OrderAdjustment.amount).where(OrderAdjustment.order_id == order.id,
                                                                           OrderAdjustment.kind == "coupon")))
    db.session.execute(update(Coupon).where(Coupon.id == order.coupon_id).values(uses_count=Coupon.uses_count + 1)
                       .execution_options(synchronize_session=False))
    db.session.add(CouponRedemption(coupon_id=order.coupon_id, order_id=order.id,
                                    customer_key=order.buyer_id or order.email, amount=amount))
    db.session.flush()


def delete_coupon(coupon: Coupon) -> None:
    db.session.delete(coupon)
    db.session.flush()


def list_coupons(*, search: str | None = None, is_active: bool | None = None, page: int = 1,
                 page_size: int = 20) -> dict:
    """The store's coupons, newest first: ``search`` in the code, ``is_active``."""
    stmt = select(Coupon)
    if search:
        stmt = stmt.where(Coupon.code.contains(search.strip().upper(), autoescape=True))
    if is_active is not None:
        stmt = stmt.where(Coupon.is_active.is_(is_active))
    return paginate(stmt.order_by(Coupon.created_at.desc(), Coupon.id), page=page, page_size=page_size)
