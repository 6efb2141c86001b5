"""Subcategories (variants): price, quantity limits, SKU, attributes, soft delete, and the rules of
what is for sale. The caches on Product (``starting_at``, ``stock_total``) are refreshed here by
every change that affects them (``refresh_product_cache``)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from extensions import db
from models import (
    AttributeValue,
    Product,
    StockItem,
    Variant,
    VariantAttributeValue,
)

from .errors import Conflict, Invalid, NotFound
from .money import MAX_PRICE
from .stores import get_store, settings_of
from .text import UUID_RE, clean_text


def _now() -> datetime:
    return datetime.now(UTC)


# --- what is for sale (the one definition; pages, API and cart all ask here) ---------------

def visible_product_filters():
    """SQL: the product is shown in the shop."""
    return [Product.deleted_at.is_(None), Product.is_enabled.is_(True)]


def for_sale(variant: Variant | None) -> bool:
    """A shopper can buy this subcategory: it and its product exist, are not deleted and are shown."""
    return (variant is not None and variant.deleted_at is None and variant.is_active
            and variant.product.is_enabled and variant.product.deleted_at is None)


def quantity_limits(variant: Variant) -> tuple[int, int]:
    """(least, most) units a shopper may choose now: most is the max per order (0 = no limit),
    capped at what is in stock."""
    low = max(1, variant.min_quantity or 1)
    high = variant.stock_count if not variant.max_quantity else min(variant.stock_count, variant.max_quantity)
    return low, high


def stock_state(stock_count: int | None, low_threshold: int | None) -> str:
    """What a shopper is told about availability: ``out`` (nothing left), ``low`` ("Only N left":
    at or below the low-stock threshold) or ``in``. One rule for cards, options and the buy panel."""
    count = stock_count or 0
    if count <= 0:
        return "out"
    if low_threshold is not None and count <= low_threshold:
        return "low"
    return "in"


def quantity_problems(variant: Variant, quantity: int) -> list[str]:
    """Why ``quantity`` units cannot be bought now: below_min_quantity, above_max_quantity, out_of_stock."""
    problems = []
    if quantity < variant.min_quantity:
        problems.append("below_min_quantity")
    if variant.max_quantity and quantity > variant.max_quantity:
        problems.append("above_max_quantity")
    if quantity > variant.stock_count:
        problems.append("out_of_stock")
    return problems


def variant_by_id(variant_id: str | None) -> Variant | None:
    """Any subcategory of the bound store by id, deleted or hidden ones included (None if unknown)."""
    return db.session.get(Variant, variant_id) if variant_id and len(variant_id) <= 36 else None


def get_variant(variant_id: str, *, product_id: str | None = None, include_hidden: bool = True) -> Variant:
    stmt = (select(Variant)
            .options(joinedload(Variant.product).joinedload(Product.category), selectinload(Variant.attribute_values))
            .where(Variant.id == variant_id, Variant.deleted_at.is_(None)))
    variant = db.session.scalar(stmt) if variant_id and UUID_RE.match(variant_id) else None
    if variant is None or (product_id and variant.product_id != product_id):
        raise NotFound("No such subcategory", code="subcategory_not_found")
    if not include_hidden and not for_sale(variant):
        raise NotFound("No such subcategory", code="subcategory_not_found")
    return variant


# The most units of anything (a quantity limit, a cart line): the columns are INTEGER, 2**31 - 1 at most.
MAX_QUANTITY = 2**31 - 1


def _check_quantities(min_q: int, max_q: int) -> None:
    if min_q > MAX_QUANTITY or max_q > MAX_QUANTITY:
        field = "min_quantity" if min_q > MAX_QUANTITY else "max_quantity"
        raise Invalid(f"A quantity limit is at most {MAX_QUANTITY:,}", details={field: ["too large"]})
    if min_q < 1:
        raise Invalid("The minimum quantity per order is at least 1", details={"min_quantity": ["at least 1"]})
    if max_q < 0:
        raise Invalid("The maximum quantity per order is 0 (no limit) or more", details={"max_quantity": ["at least 0"]})
    if max_q and max_q < min_q:
        raise Invalid("The minimum quantity per order cannot be above the maximum", code="min_above_max",
                      details={"min_quantity": ["above the maximum"]})


def _check_price(price, store_id: str) -> int:
    """A price is a whole number of minor units, more than 0 unless the store sells free items
    (its ``allow_free_items`` setting), and below MAX_PRICE."""
    if isinstance(price, bool) or not isinstance(price, int):
        raise Invalid("price must be an amount", details={"price": ["invalid"]})
    if price < 0:
        raise Invalid("price cannot be negative", details={"price": ["negative"]})
    if price == 0 and not settings_of(get_store(store_id)).allow_free_items:
        raise Invalid("price must be more than 0 (this store does not give items away)",
                      code="price_zero", details={"price": ["more than 0"]})
    if price > MAX_PRICE:
        raise Invalid("price is too large", details={"price": ["too large"]})
    return price


def _check_sku(sku: str | None, exclude_id: str | None = None) -> str | None:
    sku = (sku or "").strip() or None
    if sku is None:
        return None
    if len(sku) > 64:
        raise Invalid("sku may be at most 64 characters", details={"sku": ["too long"]})
    clash = db.session.scalar(select(Variant.id).where(Variant.sku == sku, *([Variant.id != exclude_id] if exclude_id else [])))
    if clash:
        raise Conflict(f"The SKU '{sku}' is already used", code="sku_taken", details={"sku": ["taken"]})
    return sku


def create_variant(product: Product, data: dict) -> Variant:
    if product.deleted_at is not None:
        raise NotFound("No such product", code="product_not_found")
    min_q = data.get("min_quantity") or 1
    max_q = data.get("max_quantity") or 0
    _check_quantities(min_q, max_q)
    variant = Variant(
        product_id=product.id, title=clean_text(data.get("title"), "title", max_length=200, required=True),
        sku=_check_sku(data.get("sku")), price=_check_price(data.get("price"), product.store_id), min_quantity=min_q,
        max_quantity=max_q, weight_grams=data.get("weight_grams"),
        is_active=data.get("is_active", True) if data.get("is_active") is not None else True,
        low_stock_threshold=data.get("low_stock_threshold") if data.get("low_stock_threshold") is not None else 5,
        sort_order=data.get("sort_order") or 0,
    )
    if product.kind == "physical" and data.get("stock_count") is not None:
        variant.stock_count = _check_inventory(data["stock_count"])
    db.session.add(variant)
    db.session.flush()
    if data.get("attribute_value_ids"):
        set_variant_attributes(variant, data["attribute_value_ids"])
    refresh_product_cache(product)
    return variant


def _check_inventory(count) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0 or count > 10**9:
        raise Invalid("The inventory count is a whole number from 0 to 1,000,000,000", details={"stock_count": ["invalid"]})
    return count


def update_variant(variant: Variant, changes: dict) -> Variant:
    if changes.get("title") is not None:
        variant.title = clean_text(changes["title"], "title", max_length=200, required=True)
    if "sku" in changes:
        variant.sku = _check_sku(changes["sku"], exclude_id=variant.id)
    if changes.get("price") is not None:
        variant.price = _check_price(changes["price"], variant.store_id)
    min_q = changes.get("min_quantity") if changes.get("min_quantity") is not None else variant.min_quantity
    max_q = changes.get("max_quantity") if changes.get("max_quantity") is not None else variant.max_quantity
    _check_quantities(min_q, max_q)
    variant.min_quantity, variant.max_quantity = min_q, max_q
    for name in ("weight_grams", "is_active", "low_stock_threshold", "sort_order"):
        if changes.get(name) is not None:
            setattr(variant, name, changes[name])
    product = db.session.get(Product, variant.product_id)
    if changes.get("stock_count") is not None:
        if product.kind != "physical":
            raise Invalid("Digital stock is counted from its items: import stock instead",
                          code="digital_stock_count", details={"stock_count": ["read-only for digital"]})
        variant.stock_count = _check_inventory(changes["stock_count"])
    if changes.get("attribute_value_ids") is not None:
        set_variant_attributes(variant, changes["attribute_value_ids"])
    variant.updated_at = _now()
    db.session.flush()
    refresh_product_cache(product)
    return variant


def delete_variant(variant: Variant) -> None:
    """Soft delete. Sold items stay for order history; sellable stock is withdrawn (its codes stay
    known); items an unpaid order holds stay with it, so approving or paying that order still
    delivers them (if it expires or is cancelled instead, ``orders.release_stock`` withdraws them)."""
    now = _now()
    variant.deleted_at = now
    variant.is_active = False
    variant.stock_count = 0
    if variant.sku:
        variant.sku = None
    withdraw_sellable(StockItem.variant_id == variant.id, now=now)
    db.session.flush()
    refresh_product_cache(db.session.get(Product, variant.product_id))


def withdraw_sellable(*where, now: datetime) -> int:
    """Withdraw the sellable stock items matching ``where`` (a deleted subcategory's or product's):
    the ciphertext goes, the hash stays. Sold items and items held by an unpaid order are kept.
    The one rule of both deletes; returns how many were withdrawn."""
    return db.session.execute(update(StockItem).where(*where, available_filter())
                              .values(removed_at=now, deliverable_encrypted=None)).rowcount


def set_variant_attributes(variant: Variant, value_ids: list[str]) -> None:
    value_ids = list(dict.fromkeys(value_ids))
    found = set(db.session.scalars(select(AttributeValue.id).where(AttributeValue.id.in_(value_ids))))
    unknown = [v for v in value_ids if v not in found]
    if unknown:
        raise Invalid("Unknown attribute value ids", details={"attribute_value_ids": unknown})
    db.session.execute(delete(VariantAttributeValue).where(VariantAttributeValue.variant_id == variant.id))
    db.session.add_all(VariantAttributeValue(variant_id=variant.id, attribute_value_id=v) for v in value_ids)
    db.session.flush()


def refresh_product_cache(product: Product) -> None:
    """``starting_at`` (lowest active price) and ``stock_total`` from the live variants."""
    if product is None:
        return
    row = db.session.execute(
        select(func.min(Variant.price), func.coalesce(func.sum(Variant.stock_count), 0))
        .where(Variant.product_id == product.id, Variant.deleted_at.is_(None), Variant.is_active.is_(True))
    ).one()
    product.starting_at, product.stock_total = row[0], int(row[1] or 0)
    db.session.flush()


_SHIFT_STOCK_TOTAL = (update(Product).where(Product.id == bindparam("product_id"))
                      .values(stock_total=Product.stock_total - bindparam("units"))
                      .execution_options(synchronize_session=False))  # built once: every checkout runs it


def shift_stock_total(taken: dict[str, int]) -> None:
    """Keep ``Product.stock_total`` in step with a bulk change of its variants' ``stock_count``
    (units reserved at checkout: ``{product_id: units}``, negative to give back): the cached sum
    moves by the same amount, in one guarded UPDATE per product instead of re-summing the
    variants. Only for live, active variants (the ones the sum counts), whose price is unchanged."""
    for product_id, units in taken.items():
        if units:
            db.session.execute(_SHIFT_STOCK_TOTAL, {"product_id": product_id, "units": units})
            loaded = db.session.identity_map.get(identity_key(Product, product_id))
            if loaded is not None:  # read again if anyone in this unit of work looks
                db.session.expire(loaded, ["stock_total", "updated_at"])


def visible_variants(product: Product, *, include_hidden: bool) -> list[Variant]:
    return [v for v in product.variants if v.deleted_at is None and (include_hidden or v.is_active)]


def available_filter():
    """Stock items that can be sold now: unsold, not withdrawn, not held by an order.

    A reservation ends only by payment (sold), or by the order's expiry or cancellation, which
    clears ``order_id``: so the cached ``stock_count`` can be kept with exact increments."""
    return and_(StockItem.is_sold.is_(False), StockItem.removed_at.is_(None), StockItem.order_id.is_(None))


def gift_variant_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every live subcategory, grouped by product, for the gift form: (product, [(id, label)])."""
    rows = db.session.execute(
        select(Product.title, Product.kind, Variant.id, Variant.title, Variant.price, Variant.stock_count)
        .join(Variant, Variant.product_id == Product.id)
        .where(Product.deleted_at.is_(None), Variant.deleted_at.is_(None))
        .order_by(Product.title, Variant.sort_order, Variant.price)).all()
    groups: dict[str, list[tuple[str, str]]] = {}
    for product_title, _kind, variant_id, variant_title, _price, stock_count in rows:
        groups.setdefault(product_title, []).append((variant_id, f"{variant_title} ({stock_count} in stock)"))
    return list(groups.items())
