"""Orders and checkout (Seed A "Orders", Seed B "Group 3" and its admin order routes).

Checkout turns the caller's cart into an order in one transaction: it reserves the stock
(two shoppers never get the same item), counts the coupon once, and with BALANCE pays and
delivers at once. An order is visible to its buyer and to staff; to anyone else it does not
exist (404, never 403). Deliverables are shown to the buyer and staff only; the buyer's first
look at them is logged on the order's timeline.
"""
from __future__ import annotations

from urllib.parse import urljoin

from apiflask import APIBlueprint
from flask import g, request

from models import Order, User
from services import checkout as checkout_service
from services import orders as order_service
from services import users as user_service
from services import variants as variant_service
from services.errors import DomainError, Invalid, NotFound
from services.pagination import paginate_list
from transactions import commit_early, write_lock

from . import cart_owner
from .access import access, order_view, require_user
from .schemas.common import Message, PageQuery, page_of
from .schemas.orders import CheckoutIn, CheckoutOut, EventOut, FulfillIn, GiftIn, OrderOut, OrderQuery, StatusIn

bp = APIBlueprint("api_orders", __name__, url_prefix="/api", tag="Orders")

CHECKOUT_ERRORS = {
    400: "No cart owner (no token and no X-Session-ID)",
    409: "`out_of_stock`, `insufficient_balance`, `price_changed` (the cart now shows the new prices: "
         "check it and send the checkout again), `coupon_removed` (the store deleted the cart's coupon: it was "
         "taken off; check the new total and send the checkout again), `cart_not_buyable`, `coupon_used_up`, "
         "`reservation_limit`",
    404: "`address_not_found` (an `address_id` that is not the buyer's)",
    422: "`cart_empty`, `payment_method_unavailable`, `balance_needs_account`, a missing guest email, "
         "`coupon_not_applicable`; a cart with physical items: `shipping_address_required`, "
         "`shipping_method_required`, `shipping_method_unavailable` (it no longer ships this order there), "
         "`invalid_address` (details per field, e.g. `shipping_address.postal_code`)",
}


# --- building the JSON ------------------------------------------------------------------

def orders_out(orders: list[Order]) -> list[OrderOut]:
    """Summaries for a list (no deliverables): three queries for the whole page."""
    ids = [o.id for o in orders]
    lines, adjustments, buyers = order_service.lines_of(ids), order_service.adjustments_of(ids), user_service.users_by_id(o.buyer_id for o in orders)
    return [OrderOut(**OrderOut.fields_of(o, lines[o.id], adjustments[o.id], buyers.get(o.buyer_id))).in_view("summary")
            for o in orders]


def order_detail(order: Order, viewer: User | None, *, model=OrderOut, lines=None, adjustments=None,
                 delivered=None, **extra) -> OrderOut:
    """One order with its deliverables: call it only for the buyer (a guest buyer: ``viewer`` None)
    or staff. A buyer's first look is logged (``services.orders.deliverables``). ``lines`` and
    ``adjustments``: the rows the caller has just written (checkout), not read again; ``delivered``:
    the items a checkout by balance has just sold and logged as shown (``Placed.delivered``)."""
    items = delivered if delivered is not None else order_service.deliverables(order, viewer=viewer,
                                                                               ip=request.remote_addr)
    if lines is None:
        lines = order_service.lines_of([order.id])[order.id]
    if adjustments is None:
        adjustments = order_service.adjustments_of([order.id])[order.id]
    if viewer is not None and order.buyer_id == viewer.id:
        buyer = viewer
    else:
        buyer = user_service.users_by_id([order.buyer_id]).get(order.buyer_id)
    return model(**model.fields_of(order, lines, adjustments, buyer, items), **extra).in_view(order_view(order, viewer))


def visible_order(order: Order, user: User | None) -> Order:
    """The order if ``user`` is its buyer or staff; otherwise it does not exist (404)."""
    if not order_service.can_view(order, user):
        raise NotFound("No such order", code="order_not_found")
    return order


def show(order: Order, user: User) -> OrderOut:
    """A GET of one order: take the write lock first when the buyer's first look must be logged."""
    if order_service.reveal_pending(order, user):
        write_lock()
        order = order_service.get_order(order.id, with_lines=False)
    return order_detail(order, user)


def page_out(page: dict) -> dict:
    return {**page, "items": orders_out(page["items"])}


# --- checkout ---------------------------------------------------------------------------

def place(body: CheckoutIn) -> CheckoutOut:
    """Checkout of the caller's cart (Seed A and Seed B routes share it)."""
    who, cart = cart_owner.resolve(create=False, lock=True)  # place_order locks it: read it locked
    if not who.known:
        raise Invalid("Sign in, send a guest token, or send an X-Session-ID header to check out",
                      code="no_cart_owner", status=400)
    if cart is None:
        raise Invalid("Your cart is empty", code="cart_empty")
    try:
        placed = checkout_service.place_order(g.store, cart, buyer=who.user, method=body.payment_method,
                                              email=body.email, note=body.note or "", site_url=request.host_url,
                                              ip=request.remote_addr, delivery=body.delivery(),
                                              answer_shows_items=True)
    except DomainError:
        # place_order undid its attempt; what came before it stays: a guest cart merged on the
        # way, and for price_changed the new prices the answer shows.
        commit_early("a refused checkout keeps the merged guest cart and the prices it showed")
        raise
    order = placed.order
    # absolute: a client on another host (Seed B's frontend) opens it as it is; a provider's page
    # is absolute already
    return order_detail(order, who.user, model=CheckoutOut, guest_token=placed.guest_token,
                        redirect_url=urljoin(request.host_url, placed.redirect_url), lines=placed.lines, adjustments=placed.adjustments,
                        delivered=placed.delivered)


@bp.post("/orders/checkout")
@access("optional")
@bp.input(CheckoutIn, arg_name="body")
@bp.output(CheckoutOut, status_code=201)
@bp.doc(responses=CHECKOUT_ERRORS)
def checkout(body: CheckoutIn):
    """Create an order from the caller's cart: `{payment_method, email?, note?}`.

    Signed in (bearer token), or a guest (guest token or `X-Session-ID`) with an `email`. The
    payment method must be enabled by the store; BALANCE needs an account, pays at once and the
    order arrives COMPLETED with its deliverables. Otherwise the order is PENDING and holds its
    stock until it is paid or expires. Answers 201 with the order and `redirect_url` (the order
    page's absolute address, on the host the request was sent to, or the payment provider's page); a guest also gets `guest_token`, the secret of their order link, this once (it is
    emailed too). If a price changed since the shopper added the line, the answer is 409
    `price_changed` with the lines; the cart then shows the new prices and a second checkout passes.
    """
    return place(body)


@bp.post("/orders/cart/checkout")
@access("user")
@bp.input(CheckoutIn, arg_name="body")
@bp.output(CheckoutOut, status_code=201)
@bp.doc(responses=CHECKOUT_ERRORS)
def seed_b_checkout(body: CheckoutIn):
    """Seed B: check out the signed-in user's cart (`{payment_method, note?}`); the same as
    `POST /api/orders/checkout`. Answers 201 with the order and `redirect_url`."""
    return place(body)


# --- reading ----------------------------------------------------------------------------

@bp.get("/orders")
@access("staff")
@bp.input(OrderQuery, location="query", arg_name="query")
@bp.output(page_of(OrderOut))
def list_orders(query: OrderQuery):
    """List orders (staff).

    Filters: `status`, `payment_status`, `date_from`, `date_to` (ISO dates are whole UTC days),
    `search` (email, username, `#number`, id or product title); `sort_by` (created_at, total,
    order_number, status), `sort_dir`; `page`, `page_size`. List items carry no deliverables.
    """
    return page_out(order_service.list_orders(**query.filters()))


@bp.get("/orders/my-orders")
@access("user")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(OrderOut))
def my_orders(query: PageQuery):
    """Seed B: the signed-in user's own orders, newest first, paginated (gifts included, `is_gift`).
    List items carry no deliverables: get one order for them."""
    user = require_user()
    return page_out(order_service.list_orders(buyer_id=user.id, page=query.page, page_size=query.page_size))


@bp.get("/orders/by-number/<order_number>")
@access("user")
@bp.output(OrderOut)
@bp.doc(responses={404: "No such order, or not the caller's"})
def get_by_number(order_number: str):
    """An order by its per-store number (`42` or `#42`): the caller's own orders; staff see every order."""
    user = require_user()
    return show(visible_order(order_service.get_by_number(order_number), user), user)


@bp.get("/orders/<order_id>")
@access("user")
@bp.output(OrderOut)
@bp.doc(responses={404: "No such order, or not the caller's (never 403: existence is not revealed)"})
def get_order(order_id: str):
    """One order with its lines, price adjustments and, for its buyer and staff, the deliverables.

    Seed A (staff) and Seed B (the buyer) routes are this one endpoint: the buyer or STAFF and
    above see it; anyone else gets 404. The buyer's first look at the deliverables is logged.
    """
    user = require_user()
    return show(visible_order(order_service.get_order(order_id, with_lines=False), user), user)


@bp.get("/orders/<order_id>/timeline")
@access("staff")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(EventOut))
def timeline(order_id: str, query: PageQuery):
    """The order's timeline (staff): created, paid, reveals, status changes, shipping, emails; oldest first."""
    events = order_service.timeline(order_service.get_order(order_id, with_lines=False))
    actors = {u.id: u.username for u in user_service.users_by_id(e.actor_id for e in events).values()}
    return paginate_list([EventOut.of(e, actors) for e in events], page=query.page, page_size=query.page_size)


# --- staff actions ----------------------------------------------------------------------

def _staff_answer(order: Order, user: User) -> OrderOut:
    return order_detail(order, user)


@bp.put("/orders/<order_id>/status")
@access("manager")
@bp.input(StatusIn, arg_name="body")
@bp.output(OrderOut)
@bp.doc(responses={409: "Not a legal transition (`illegal_transition`, `order_paid`)", 422: "Unknown status"})
def change_status(order_id: str, body: StatusIn):
    """Change an order's status by hand (`{status, note?}`), legal transitions only.

    PENDING -> CANCELLED or FAILED (its stock and coupon use are released); PROCESSING ->
    COMPLETED (or CANCELLED while unpaid). Paying, expiry and refunds have their own paths.
    """
    user = require_user()
    order = order_service.change_status(order_service.get_order(order_id, with_lines=False), body.status,
                                        actor=user, note=body.note or "")
    return _staff_answer(order, user)


@bp.post("/orders/<order_id>/fulfill")
@access("staff")
@bp.input(FulfillIn, arg_name="body")
@bp.output(OrderOut)
@bp.doc(responses={409: "Not paid (`order_not_paid`) or nothing physical to ship (`nothing_to_ship`)"})
def fulfill(order_id: str, body: FulfillIn):
    """Ship a paid order's physical items: `{carrier, tracking_number, tracking_url?}`.

    Sets the tracking fields and `fulfilled_at`, records it on the timeline and completes a
    PROCESSING order whose digital items are delivered. Sending it again corrects the tracking.
    """
    user = require_user()
    order = order_service.fulfill(order_service.get_order(order_id, with_lines=False), carrier=body.carrier,
                                  tracking_number=body.tracking_number, tracking_url=body.tracking_url, actor=user)
    return _staff_answer(order, user)


@bp.post("/orders/<order_id>/resend-email")
@access("staff")
@bp.output(Message, status_code=202)
@bp.doc(responses={409: "The order ended unpaid (cancelled, expired, failed): nothing to confirm (`order_not_confirmable`)"})
def resend_email(order_id: str):
    """Send the order's email to the buyer again (the confirmation with the items once paid, even if
    refunded since; otherwise the 'waiting for payment' one). Recorded on the timeline."""
    user = require_user()
    order = order_service.get_order(order_id, with_lines=False)
    order_service.resend_confirmation(order, actor=user)
    return {"message": f"The email for order #{order.order_number} is on its way to {order.email}"}


# --- Seed B admin -----------------------------------------------------------------------

@bp.get("/admin/orders")
@access("admin")
@bp.input(OrderQuery, location="query", arg_name="query")
@bp.output(page_of(OrderOut))
def admin_orders(query: OrderQuery):
    """Seed B: every order of the store, paginated; the same filters as `GET /api/orders`."""
    return page_out(order_service.list_orders(**query.filters()))


@bp.post("/admin/orders/create-and-approve")
@access("admin")
@bp.input(GiftIn, arg_name="body")
@bp.output(OrderOut, status_code=201)
@bp.doc(responses={404: "No such user or subcategory", 409: "Not enough stock",
                   422: "A physical item for a recipient with no default shipping address "
                        "(`shipping_address_required`), or a bad quantity"})
def create_and_approve(body: GiftIn):
    """Seed B: gift a user an order, created, paid and delivered in one step:
    `{userId, subcategoryId, amount (quantity), note?}`. Nothing is charged; the order is marked as
    a gift (`is_gift`) in the recipient's history. A physical item ships to the recipient's default
    shipping address."""
    admin = require_user()
    recipient = user_service.get_user(body.user_id)
    order = order_service.gift(recipient, variant_service.get_variant(body.subcategory_id), body.quantity, actor=admin,
                               note=body.note or "")
    return _staff_answer(order, admin)


@bp.post("/admin/orders/process/<order_id>")
@access("admin")
@bp.output(OrderOut)
@bp.doc(responses={409: "The order is not PENDING and unpaid (`order_not_pending`): approving twice is refused"})
def process_order(order_id: str):
    """Seed B: approve a PENDING order by hand (MANUAL payment received): it is paid and delivered now."""
    admin = require_user()
    order = order_service.approve(order_service.get_order(order_id, with_lines=False), actor=admin)
    return _staff_answer(order, admin)

