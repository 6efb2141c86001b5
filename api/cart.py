"""Carts (Seed A "Cart", Seed B ``POST /api/user/cart/update``).

One cart per signed-in user or guest (a guest token, the ``X-Session-ID`` header, or the shop's
session cookie, whose writes need the page's ``X-CSRFToken``: see ``api/cart_owner.py``). Every answer is the whole priced cart: each line with its current price,
the price the shopper last saw (``seen_price``, ``price_changed``), its limits and stock, and
``problems`` (``unavailable``, ``below_min_quantity``, ``above_max_quantity``, ``out_of_stock``);
lines that cannot be bought are flagged, never dropped silently. Amounts are major units.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, request

from models import Cart
from services import cart as cart_service
from services import checkout as checkout_service
from services.errors import Invalid

from . import cart_owner
from .access import access, require_user
from .schemas.cart import (
    CartItemIn,
    CartItemUpdateIn,
    CartOut,
    CartUpdateIn,
    CouponCodeIn,
    MergeIn,
    ShippingOptionsIn,
    ShippingQuoteOut,
)

bp = APIBlueprint("api_cart", __name__, url_prefix="/api", tag="Cart")

ERRORS = {400: "No cart owner (no token, no X-Session-ID, no shop session), a malformed X-Session-ID, or a "
              "write by the shop's session cookie without its X-CSRFToken (`csrf_failed`)",
          404: "No such subcategory, cart line or coupon", 409: "Not enough stock, or the coupon is used up",
          422: "Invalid quantity, or outside the subcategory's min/max"}


def cart_out(who: cart_owner.CartOwner, cart: Cart | None) -> CartOut:
    priced = cart_service.price(cart, buyer=who.user, customer_key=who.customer_key) if cart is not None else None
    return CartOut.of(cart.id if cart is not None else None, priced, g.store)


def _write(change) -> CartOut:
    """Resolve the caller's cart (made if missing), apply one service call, show the cart."""
    who, cart = cart_owner.resolve(create=True)
    change(who, cart)
    return cart_out(who, cart)


@bp.get("/cart")
@access("optional")
@bp.output(CartOut)
@bp.doc(responses={400: ERRORS[400]})
def get_cart():
    """The caller's cart: a user's (bearer token), a guest's (guest token) or a session's (`X-Session-ID`).

    Without any of them, the browser's shop session (its cookie) names the cart the shop's pages
    show: its signed-in user's, or the cart its visitor filled. Writes identified by that cookie
    alone must send the page's CSRF token as `X-CSRFToken` (400 `csrf_failed` otherwise). With none
    of these the answer is an empty cart (`id: null`) and nothing is created. A signed-in request
    that also sends `X-Session-ID` merges that guest cart into the user's first.
    """
    who, cart = cart_owner.resolve(create=False)
    return cart_out(who, cart)


@bp.post("/cart/items")
@access("optional")
@bp.input(CartItemIn, arg_name="body")
@bp.output(CartOut)
@bp.doc(responses=ERRORS)
def add_item(body: CartItemIn):
    """Add a subcategory (variant) to the cart: `{subcategory_id | variant_id | subcategoryId, quantity}`.

    `quantity` defaults to 1 and adds to a line already in the cart. The new quantity must respect
    the subcategory's min/max (422 `below_min_quantity` / `above_max_quantity`) and its stock
    (409 `out_of_stock`). Answers the cart.
    """
    return _write(lambda who, cart: cart_service.add_item(cart, body.subcategory_id, body.quantity))


@bp.put("/cart/items/<item_id>")
@access("optional")
@bp.input(CartItemUpdateIn, arg_name="body")
@bp.output(CartOut)
@bp.doc(responses=ERRORS)
def update_item(item_id: str, body: CartItemUpdateIn):
    """Set a cart line's `quantity` (0 removes it). Answers the cart."""
    return _write(lambda who, cart: cart_service.update_item(cart, item_id, body.quantity))


@bp.delete("/cart/items/<item_id>")
@access("optional")
@bp.output(CartOut)
@bp.doc(responses={400: ERRORS[400], 404: "No such line in this cart"})
def remove_item(item_id: str):
    """Remove a line from the cart. Answers the cart."""
    return _write(lambda who, cart: cart_service.remove_item(cart, item_id))


@bp.post("/cart/coupon")
@access("optional")
@bp.input(CouponCodeIn, arg_name="body")
@bp.output(CartOut)
@bp.doc(responses={**ERRORS, 404: "No such coupon in this store",
                   422: "The coupon is inactive, expired, not yet valid, below its minimum, does not apply "
                        "to the cart, or the cart is empty"})
def apply_coupon(body: CouponCodeIn):
    """Apply a coupon `{code}` to the cart (it replaces any other). A refused coupon says why
    (`error.code`: `coupon_not_found`, `coupon_expired`, `coupon_used_up`, `coupon_minimum`, ...)."""
    return _write(lambda who, cart: cart_service.apply_coupon(cart, body.code, buyer=who.user,
                                                              customer_key=who.customer_key))


@bp.delete("/cart/coupon")
@access("optional")
@bp.output(CartOut)
@bp.doc(responses={400: ERRORS[400]})
def remove_coupon():
    """Remove the cart's coupon. Answers the cart."""
    return _write(lambda who, cart: cart_service.remove_coupon(cart))


@bp.post("/cart/shipping-options")
@access("optional")
@bp.input(ShippingOptionsIn, arg_name="body")
@bp.output(ShippingQuoteOut)
@bp.doc(responses={404: "`address_not_found` (an `address_id` that is not the caller's)",
                   422: "`invalid_address` (per field), a country that is not a two-letter code, "
                        "`shipping_method_unavailable` (that method does not ship this cart there)"})
def shipping_options(body: ShippingOptionsIn):
    """The shipping options for the caller's cart, priced for its weight and subtotal (after the
    reseller discount and the coupon): `{shipping_address | address_id | country (+ postal_code),
    shipping_method_id?}`.

    `needs_shipping` says whether checkout needs an address and a method (a cart with only digital
    items: `false`, no options). With `shipping_method_id` the totals (`tax_lines`, `tax_total`,
    `shipping_total`, `total`) are what checkout would charge now; without it, the totals leave
    shipping out. `options` is empty when the store does not ship the cart there. Reads only:
    nothing is kept (send the address and method again with `POST /api/orders/checkout`).
    """
    who, cart = cart_owner.resolve(create=False)
    if cart is None:
        return ShippingQuoteOut.of([], None, g.store)
    options, totals = checkout_service.quote(g.store, cart, buyer=who.user, delivery=body.delivery())
    return ShippingQuoteOut.of(options, totals, g.store)


@bp.post("/cart/merge")
@access("user")
@bp.input(MergeIn, arg_name="body")
@bp.output(CartOut)
@bp.doc(responses={400: "Malformed session id", 401: "Not signed in, or guest_token is not a guest token",
                   422: "No guest cart named"})
def merge(body: MergeIn):
    """Merge a guest cart into the signed-in user's cart.

    Name the guest cart by the `X-Session-ID` header, or in the body by `guest_token` (a token of
    `/api/public/guest/token`) or `session_id`. Quantities add up (within each subcategory's
    maximum); the guest's coupon is kept if the user's cart has none; the guest cart is deleted.
    Merging a cart that does not exist (any more) changes nothing. Answers the user's cart.
    """
    user = require_user()
    keys = []
    if body.guest_token:
        keys.append(cart_owner.guest_token_key(body.guest_token))
    if body.session_id:
        keys.append(cart_owner.session_key(body.session_id, field="session_id"))
    header = cart_owner.session_key(request.headers.get(cart_owner.SESSION_HEADER))
    if header:
        keys.append(header)
    if not keys:
        raise Invalid("Name the guest cart: X-Session-ID header, guest_token or session_id",
                      code="no_guest_cart", details={"guest_token": ["required"], "session_id": ["required"]})
    return cart_out(cart_owner.CartOwner(user=user), cart_service.merge_guest_carts(user, keys))


@bp.post("/user/cart/update")
@access("user")
@bp.input(CartUpdateIn, arg_name="body")
@bp.output(CartOut)
@bp.doc(responses=ERRORS)
def seed_b_cart_update(body: CartUpdateIn):
    """Seed B: set the quantity (`amount`) of a subcategory (`subcategoryId`) in the user's cart.

    0 removes the line; the quantity must respect the subcategory's min/max and stock. Answers the cart.
    """
    return _write(lambda who, cart: cart_service.set_quantity(cart, body.subcategory_id, body.amount))
