"""Carts: one per signed-in user or guest key; lines obey each subcategory's min/max; lines that
cannot be bought any more are flagged, never dropped silently; signing in merges."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import Cart, CartItem, Product, User, Variant
from transactions import sqlite_immediate, write_lock

from . import coupons
from .errors import Conflict, DomainError, Invalid, NotFound
from .variants import MAX_QUANTITY, for_sale, quantity_problems

MAX_LINES = 100


def check_quantity(quantity, *, allow_zero: bool = False) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Invalid("Quantity must be a whole number", code="invalid_quantity", details={"quantity": ["not an integer"]})
    if quantity < (0 if allow_zero else 1) or quantity > MAX_QUANTITY:
        raise Invalid("Quantity is out of range", code="invalid_quantity", details={"quantity": ["out of range"]})
    return quantity


# The statements of every cart request and checkout, built once (building one again cost about as
# much as running it; a kept statement also keeps its cache key, tenancy._with_criteria)
_CART_OF_USER = select(Cart).where(Cart.user_id == bindparam("owner"))
_CART_OF_GUEST = select(Cart).where(Cart.guest_key == bindparam("owner"))
_LOCK_CART = select(Cart.id).where(Cart.id == bindparam("cart_id")).with_for_update(key_share=True)
# read and lock in one statement (a checkout: ``get_cart(lock=True)``); SQLite renders no FOR clause
_CART_OF_USER_LOCKED = _CART_OF_USER.with_for_update(key_share=True)
_CART_OF_GUEST_LOCKED = _CART_OF_GUEST.with_for_update(key_share=True)
_LOCKED_CARTS = "locked_carts"  # session.info: cart id -> the transaction that holds its row lock
_CLEAR_CART = delete(CartItem).where(CartItem.cart_id == bindparam("cart_id")).execution_options(
    synchronize_session="fetch")
_LINES_AND_VARIANTS = (select(CartItem, Variant).outerjoin(Variant, Variant.id == CartItem.variant_id)
                       .options(joinedload(Variant.product).joinedload(Product.category))
                       .where(CartItem.cart_id == bindparam("cart_id")).order_by(CartItem.created_at, CartItem.id))


def get_cart(*, user: User | None = None, guest_key: str | None = None, create: bool = True,
             lock: bool = False) -> Cart | None:
    """The owner's cart (made if missing with ``create``). ``lock``: read it with its row lock (what
    ``lock()`` takes), so a checkout about to lock it spends no statement of its own on that."""
    if user is None and not guest_key:
        raise Invalid("A cart needs a signed-in user or a guest session", code="no_cart_owner")
    if user is not None:
        stmt, owner = (_CART_OF_USER_LOCKED if lock else _CART_OF_USER), user.id
    else:
        stmt, owner = (_CART_OF_GUEST_LOCKED if lock else _CART_OF_GUEST), guest_key
    cart = db.session.scalar(stmt, {"owner": owner})
    if cart is not None and lock:
        db.session.info.setdefault(_LOCKED_CARTS, {})[cart.id] = db.session().get_transaction()
    if cart is None and create:
        cart = Cart(user_id=user.id if user else None, guest_key=None if user else guest_key[:80])
        db.session.add(cart)
        db.session.flush()
    return cart


def cart_for(*, user: User | None, guest_key: str | None, create: bool, lock: bool = False) -> Cart | None:
    """Whose cart this is, for pages and API alike (RECONCILE.md "Carts"): a signed-in user's own
    cart, into which the guest cart they used before signing in (``guest_key``) is merged first;
    otherwise the guest key's cart. ``create``: make it if missing; otherwise None when there is none.
    Where the guest key comes from (a guest token, ``X-Session-ID``, the browser session) is the
    caller's business. ``lock``: the cart is read with its row lock (``get_cart``)."""
    if user is None:
        return get_cart(guest_key=guest_key, create=create, lock=lock) if guest_key else None
    if guest_key and get_cart(guest_key=guest_key, create=False) is not None:
        write_lock()  # a merge during a GET writes (SQLite: take the write lock first)
        guest = get_cart(guest_key=guest_key, create=False)  # (read again under the lock)
        return merge(guest, get_cart(user=user))
    return get_cart(user=user, create=create, lock=lock)


def merge_guest_carts(user: User, guest_keys: list[str | None]) -> Cart | None:
    """Signing in merges (RECONCILE.md "Carts"): each guest cart named by ``guest_keys`` (the guest
    token, ``X-Session-ID`` or browser session the shopper used before signing in) joins the user's
    cart by ``cart_for`` and ``merge``: quantities add up within each subcategory's maximum, the
    coupon is kept if the user's cart has none, the guest cart is deleted. A key that names no cart
    (any more) changes nothing. The user's cart; None when they have none or no key was given."""
    cart = None
    for key in dict.fromkeys(key for key in guest_keys if key):
        cart = cart_for(user=user, guest_key=key, create=False) or cart
    return cart


def load_items(cart: Cart) -> list[CartItem]:
    """The cart's lines with their variants and products (two queries whatever the size)."""
    return list(db.session.scalars(
        select(CartItem).where(CartItem.cart_id == cart.id).order_by(CartItem.created_at, CartItem.id)
    )) if cart.id else []


def _variants(ids: list[str]) -> dict[str, Variant]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Variant).options(joinedload(Variant.product).joinedload(Product.category))
                              .where(Variant.id.in_(ids)))
    return {v.id: v for v in rows}


def _buyable_variant(variant_id: str) -> Variant:
    variant = db.session.scalar(select(Variant).options(joinedload(Variant.product)).where(Variant.id == variant_id)) \
        if variant_id else None
    if not for_sale(variant):
        raise NotFound("No such subcategory", code="subcategory_not_found")
    return variant


def _check_limits(variant: Variant, quantity: int) -> None:
    problems = quantity_problems(variant, quantity)
    if "below_min_quantity" in problems:
        raise Invalid(f"At least {variant.min_quantity} of {variant.title} per order", code="below_min_quantity",
                      details={"quantity": [f"minimum {variant.min_quantity}"]})
    if "above_max_quantity" in problems:
        raise Invalid(f"At most {variant.max_quantity} of {variant.title} per order", code="above_max_quantity",
                      details={"quantity": [f"maximum {variant.max_quantity}"]})
    if "out_of_stock" in problems:
        raise Conflict(f"Only {variant.stock_count} of {variant.title} left", code="out_of_stock",
                       details={"available": variant.stock_count})


def lock(cart: Cart) -> None:
    """One writer per cart at a time (two tabs, a merge racing a checkout): a row lock on the cart
    until commit (PostgreSQL; SQLite's write transactions are serial already). NO KEY UPDATE, so
    it does not block inserts that merely reference the cart."""
    if not cart.id or db.session.info.get(_LOCKED_CARTS, {}).get(cart.id) is db.session().get_transaction():
        return  # read with its lock in this transaction (``get_cart(lock=True)``)
    if not (db.session.get_bind().dialect.name == "sqlite" and sqlite_immediate.get()):
        db.session.execute(_LOCK_CART, {"cart_id": cart.id})


def set_quantity(cart: Cart, variant_id: str, quantity: int) -> CartItem | None:
    """Seed B ``cart/update``: set a line's quantity (0 removes it)."""
    quantity = check_quantity(quantity, allow_zero=True)
    lock(cart)
    item = db.session.scalar(select(CartItem).where(CartItem.cart_id == cart.id, CartItem.variant_id == variant_id))
    if quantity == 0:
        if item is not None:
            db.session.delete(item)
            db.session.flush()
        return None
    variant = _buyable_variant(variant_id)
    _check_limits(variant, quantity)
    if item is None:
        if len(load_items(cart)) >= MAX_LINES:
            raise Invalid(f"A cart holds at most {MAX_LINES} different items", code="cart_full")
        item = CartItem(cart_id=cart.id, variant_id=variant.id, quantity=quantity, seen_price=variant.price)
        db.session.add(item)
    else:
        item.quantity = quantity
        item.seen_price = variant.price
    db.session.flush()
    return item


def add_item(cart: Cart, variant_id: str, quantity: int) -> CartItem:
    quantity = check_quantity(quantity)
    lock(cart)
    item = db.session.scalar(select(CartItem).where(CartItem.cart_id == cart.id, CartItem.variant_id == variant_id))
    total = quantity + (item.quantity if item else 0)
    return set_quantity(cart, variant_id, check_quantity(min(total, MAX_QUANTITY)))


def get_item(cart: Cart, item_id: str) -> CartItem:
    item = db.session.scalar(select(CartItem).where(CartItem.id == item_id, CartItem.cart_id == cart.id)) if item_id else None
    if item is None:
        raise NotFound("No such line in your cart", code="cart_item_not_found")
    return item


def update_item(cart: Cart, item_id: str, quantity: int) -> CartItem | None:
    item = get_item(cart, item_id)
    return set_quantity(cart, item.variant_id, quantity)


def remove_item(cart: Cart, item_id: str) -> None:
    db.session.delete(get_item(cart, item_id))
    db.session.flush()


def clear(cart: Cart) -> None:
    """Empty the cart: one DELETE of its lines (no read of them first). A coupon it held is let go
    with the caller's next flush (no flush of its own: a checkout flushes once more anyway)."""
    db.session.execute(_CLEAR_CART, {"cart_id": cart.id})
    cart.coupon_code = None


def merge(guest: Cart | None, into: Cart) -> Cart:
    """Signing in: the guest's lines join the user's cart (quantities add up, within limits)."""
    if guest is None or guest.id == into.id:
        return into
    lock(into)
    for item in load_items(guest):
        existing = db.session.scalar(select(CartItem).where(CartItem.cart_id == into.id, CartItem.variant_id == item.variant_id))
        quantity = item.quantity + (existing.quantity if existing else 0)
        variant = db.session.get(Variant, item.variant_id)
        if variant is not None and variant.max_quantity:
            quantity = min(quantity, variant.max_quantity)
        if existing is not None:
            existing.quantity = quantity
        else:
            db.session.add(CartItem(cart_id=into.id, variant_id=item.variant_id, quantity=quantity,
                                    seen_price=item.seen_price))
    if guest.coupon_code and not into.coupon_code:
        into.coupon_code = guest.coupon_code
    db.session.delete(guest)
    db.session.flush()
    return into


# --- the priced view of a cart -----------------------------------------------------------

@dataclass
class Line:
    item: CartItem
    variant: Variant | None
    quantity: int
    unit_price: int
    subtotal: int
    reseller_discount: int
    problems: list[str] = field(default_factory=list)

    @property
    def price_changed(self) -> bool:
        return self.variant is not None and self.item.seen_price != self.variant.price

    @property
    def available(self) -> bool:
        return not self.problems


@dataclass
class Priced:
    lines: list[Line]
    subtotal: int
    reseller_discount: int
    coupon_discount: int
    coupon_code: str | None
    total: int
    item_count: int
    coupon_failure: DomainError | None = None  # why the cart's coupon does not apply (code and status)
    coupon_dropped: str | None = None  # the code of a coupon the store deleted: taken off the cart now

    @property
    def coupon_notice(self) -> str | None:
        """What the shopper is told when the store deleted the cart's coupon (it was taken off)."""
        if not self.coupon_dropped:
            return None
        return f"The coupon {self.coupon_dropped} is no longer offered by the store: it was taken off your cart."

    @property
    def coupon_error(self) -> str | None:
        return self.coupon_failure.message if self.coupon_failure else None

    @property
    def has_problems(self) -> bool:
        return any(line.problems for line in self.lines)

    @property
    def price_changes(self) -> list[Line]:
        return [line for line in self.lines if line.price_changed]


def reseller_bps(buyer: User | None) -> int:
    """The buyer's own discount in basis points: a RESELLER's, 0 for everyone else."""
    return (buyer.discount_bps or 0) if buyer is not None and buyer.role == "RESELLER" else 0


def reseller_discount(amount: int, buyer: User | None) -> int:
    """A RESELLER's own percentage, rounded half-up to a minor unit."""
    bps = reseller_bps(buyer)
    return (amount * bps + 5000) // 10000 if bps else 0


def _items_and_variants(cart: Cart) -> tuple[list[CartItem], dict[str, Variant]]:
    """The cart's lines and their variants with products and categories, in one query."""
    if not cart.id:
        return [], {}
    rows = db.session.execute(_LINES_AND_VARIANTS, {"cart_id": cart.id}).unique().all()
    return [item for item, _ in rows], {variant.id: variant for _, variant in rows if variant is not None}


def price(cart: Cart, *, buyer: User | None, customer_key: str | None = None, owner: bool = True) -> Priced:
    """Every line with its problems (unavailable, limits, stock, changed price) and the totals.
    ``owner``: the cart's shopper is the one looking (their cart page, cart API, checkout), so a
    coupon the store deleted is taken off it and they are told; anyone else (staff reading a
    customer's cart) only sees it refused, and the shopper's cart is left as it is."""
    items, variants = _items_and_variants(cart)
    lines: list[Line] = []
    for item in items:
        variant = variants.get(item.variant_id)
        problems: list[str] = []
        if not for_sale(variant):
            problems.append("unavailable")
            unit = item.seen_price
        else:
            unit = variant.price
            problems += quantity_problems(variant, item.quantity)
        subtotal = unit * item.quantity
        lines.append(Line(item, variant, item.quantity, unit, subtotal,
                          0 if problems == ["unavailable"] else reseller_discount(subtotal, buyer), problems))
    buyable = [ln for ln in lines if "unavailable" not in ln.problems]
    subtotal = sum(ln.subtotal for ln in buyable)
    r_discount = sum(ln.reseller_discount for ln in buyable)
    coupon_discount, coupon_failure, dropped = 0, None, None
    if cart.coupon_code:
        try:
            coupon = coupons.find_by_code(cart.coupon_code)
            if buyable:
                coupon_discount = coupons.discount_for(
                    coupon, [coupons.CouponLine(ln.variant.product_id, ln.variant.product.category_id,
                                                ln.subtotal - ln.reseller_discount) for ln in buyable],
                    customer_key=customer_key)
        except NotFound as error:  # the store deleted it: the cart lets it go (and says so), checkout goes on
            if not owner:
                coupon_failure = error
            else:
                dropped = _drop_coupon(cart)
                if dropped is None:  # another request changed the cart's coupon meanwhile: price it with that one
                    return price(cart, buyer=buyer, customer_key=customer_key, owner=False)
        except DomainError as error:
            if buyable:
                coupon_failure = error
    total = max(0, subtotal - r_discount - coupon_discount)
    return Priced(lines, subtotal, r_discount, coupon_discount, cart.coupon_code, total,
                  sum(ln.quantity for ln in buyable), coupon_failure, dropped)


def _drop_coupon(cart: Cart) -> str | None:
    """Take a deleted coupon off the cart, also when a GET (the cart page, ``GET /api/cart``) is
    the first to see it gone; the code taken off. Guarded by the code read: a coupon applied
    meanwhile by another request (a second tab) stays, and the cart is read again (None)."""
    if not db.session().in_nested_transaction():
        write_lock()
    code = cart.coupon_code
    taken = db.session.execute(update(Cart).where(Cart.id == cart.id, Cart.coupon_code == code)
                               .values(coupon_code=None).execution_options(synchronize_session=False)).rowcount
    if not taken:
        db.session.refresh(cart, ["coupon_code"])
        return None
    set_committed_value(cart, "coupon_code", None)
    return code


def reprice(cart: Cart) -> list[CartItem]:
    """The shopper has now seen the current prices: remember them. Returns the cart items that changed."""
    changed = []
    variants = _variants([i.variant_id for i in load_items(cart)])
    for item in load_items(cart):
        variant = variants.get(item.variant_id)
        if variant is not None and item.seen_price != variant.price:
            changed.append(item)
            item.seen_price = variant.price
    db.session.flush()
    return changed


def apply_coupon(cart: Cart, code: str, *, buyer: User | None, customer_key: str | None) -> Priced:
    """Put a coupon on the cart, or refuse with the precise reason (nothing is kept then)."""
    coupon = coupons.find_by_code(code)
    if not load_items(cart):
        raise Invalid("Add something to your cart before using a coupon", code="cart_empty")
    cart.coupon_code = coupon.code
    db.session.flush()
    priced = price(cart, buyer=buyer, customer_key=customer_key)
    if priced.coupon_failure is not None:
        cart.coupon_code = None
        db.session.flush()
        raise priced.coupon_failure
    return priced


def remove_coupon(cart: Cart) -> None:
    cart.coupon_code = None
    db.session.flush()


def cart_quantity(*, user_id: str | None = None, guest_key: str | None = None) -> int:
    """How many units the header's mini-cart shows (one query; 0 without a cart)."""
    if not user_id and not guest_key:
        return 0
    owner = Cart.user_id == user_id if user_id else Cart.guest_key == guest_key
    return int(db.session.scalar(select(func.coalesce(func.sum(CartItem.quantity), 0))
                                 .join(Cart, Cart.id == CartItem.cart_id).where(owner)) or 0)
