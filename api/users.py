"""Users and the blacklist (Seed B "admin" routes, Admin): the paginated user list, a user's full
profile and order history, creating an account, promoting to RESELLER with a discount, deleting
(erasing) an account, and the blacklist of IP addresses, emails and usernames.

Who may act on whom (``services.users``): an admin manages accounts whose role is below theirs,
gives roles below theirs (never SYSADMIN from a store) and never acts on their own account (403
``own_account``, ``role_not_allowed``). Deleting erases the personal data and keeps the orders,
anonymised, so the books still add up.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, request

from models import User
from services import addresses as address_service
from services import blacklist as blacklist_service
from services import orders as order_service
from services import users as user_service
from services.errors import Invalid
from transactions import write_lock

from .access import access, require_user
from .orders import orders_out
from .schemas.addresses import AddressOut
from .schemas.cart import CartOut
from .schemas.common import Message, page_of
from .schemas.users import (
    BlacklistIn,
    BlacklistOut,
    BlacklistQuery,
    DiscountIn,
    DiscountQuery,
    HistoryPage,
    HistoryQuery,
    ManagedUserOut,
    UserCreateIn,
    UserDetailOut,
    UserQuery,
)

bp = APIBlueprint("api_users", __name__, url_prefix="/api/admin", tag="Users")

ACTION_ERRORS = {403: "Not below your role, or your own account (`role_not_allowed`, `own_account`)",
                 404: "No such user", 409: "The account was deleted (`user_erased`)"}


def user_rows_out(page: dict) -> dict:
    """A ``services.users.directory`` page as JSON."""
    currency = g.store.currency
    return {**page, "items": [ManagedUserOut(**ManagedUserOut.fields_of(user, currency, orders, spent, segment))
                              for user, orders, spent, _first, _last, segment in page["items"]]}


def user_detail_out(user: User, query: HistoryQuery) -> UserDetailOut:
    """A user's profile, figures, saved addresses (one query), current cart and a page of their
    orders (shared with ``/api/customers/{id}``)."""
    currency = g.store.currency
    figures = user_service.profile(user)
    history = order_service.list_orders(buyer_id=user.id, page=query.page, page_size=query.page_size)
    priced = user_service.current_cart(user)
    cart_id = priced.lines[0].item.cart_id if priced and priced.lines else None
    return UserDetailOut(
        **ManagedUserOut.fields_of(user, currency, figures["orders"], figures["spent"], figures["segment"]),
        note=user.note, last_login_ip=user.last_login_ip, first_order_at=figures["first_order_at"],
        last_order_at=figures["last_order_at"], orders_total=figures["orders_total"],
        review_count=figures["review_count"], replacement_count=figures["replacement_count"],
        addresses=[AddressOut.model_validate(a) for a in address_service.list_addresses(user)],
        cart=CartOut.of(cart_id, priced, g.store),
        order_history=HistoryPage(**{**history, "items": orders_out(history["items"])}))


def one_user_out(user: User) -> ManagedUserOut:
    figures = user_service.profile(user)
    return ManagedUserOut(**ManagedUserOut.fields_of(user, g.store.currency, figures["orders"], figures["spent"], figures["segment"]))


@bp.get("/users")
@access("admin")
@bp.input(UserQuery, location="query", arg_name="query")
@bp.output(page_of(ManagedUserOut))
@bp.doc(responses={422: "An unknown `role` or `segment`"})
def list_users(query: UserQuery):
    """Every user of the store (deleted accounts excepted), newest first, paginated.

    Filters: `search` (or `q`) in the username and email, `role`, `segment` (vip, new, active,
    at_risk, inactive: customers only; the rules are in the architecture notes). Each user comes
    with `orders` (paid, gifts excepted), `spent` (net of refunds) and `segment` (null for staff).
    """
    return user_rows_out(user_service.directory(q=query.search, role=query.role, segment=query.segment,
                                                page=query.page, page_size=query.page_size))


@bp.post("/users")
@access("admin")
@bp.input(UserCreateIn, arg_name="body")
@bp.output(ManagedUserOut, status_code=201)
@bp.doc(responses={403: "A role that is not below yours (`role_not_allowed`)",
                   409: "`email_taken`, `username_taken`", 422: "Invalid fields"})
def create_user(body: UserCreateIn):
    """Create an account: `{username, email, password?, role?, discount?}`.

    Not in the endpoint table (the dashboard's "create a user"). `role` defaults to USER and must
    be below yours; `discount` (percent) applies to a RESELLER. Without a `password` the user is
    emailed a link to set one.
    """
    discount = user_service.discount_bps(body.discount) if body.discount is not None else 0
    user = user_service.create_user(require_user(), username=body.username, email=body.email, password=body.password,
                                    role=body.role, discount=discount)
    return one_user_out(user)


@bp.get("/user/<user_id>")
@access("admin")
@bp.input(HistoryQuery, location="query", arg_name="query")
@bp.output(UserDetailOut)
@bp.doc(responses={404: "No such user"})
def get_user(user_id: str, query: HistoryQuery):
    """A user's full profile: balance, lifetime spend, segment, review and replacement counts, saved
    addresses, the current cart and a page of their order history (`page`, `page_size` page the
    orders)."""
    return user_detail_out(user_service.get_user(user_id), query)


@bp.delete("/user/delete/<user_id>")
@access("admin")
@bp.output(Message)
@bp.doc(responses={**ACTION_ERRORS, 409: "`payment_pending` (an order or top-up awaits payment), `user_erased`"})
def delete_user(user_id: str):
    """Delete a user: their personal data is erased, their orders are kept, anonymised.

    The account row stays with placeholders for its username and email, an unusable password,
    `erased_at` set; it cannot sign in, and every token it had is refused. Its orders keep their
    lines, totals and ledger rows (the books still add up), with the placeholder as their email;
    its reviews stay, by "deleted user"; its cart is emptied. Refused for your own account, one at
    or above your role, and one with an order or top-up awaiting payment (409 `payment_pending`).
    """
    user_service.erase_user(user_service.get_user(user_id), actor=require_user())
    return Message(message="The user was deleted: personal data erased, orders kept")


def _set_reseller(user_id: str, raw) -> ManagedUserOut:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise Invalid("Give the discount in percent, e.g. ?discount=15", code="invalid_discount",
                      details={"discount": ["required"]})
    write_lock()  # the GET form writes too (Seed B)
    user = user_service.get_user(user_id)
    user_service.set_reseller(user, user_service.discount_bps(raw), actor=require_user())
    return one_user_out(user)


@bp.get("/users/set_reseller/<user_id>")
@access("admin")
@bp.input(DiscountQuery, location="query", arg_name="query")
@bp.output(ManagedUserOut)
@bp.doc(responses={**ACTION_ERRORS, 422: "A missing discount, or one outside 0-100 or with more than two decimals"})
def set_reseller(user_id: str, query: DiscountQuery):
    """Promote a user to RESELLER with a discount: `?discount=15` (percent, up to two decimals).

    As Seed B documents it, a GET that changes something; the same works as a POST
    (RECONCILE.md). The reseller's prices are lower by that percentage in the cart and shop."""
    return _set_reseller(user_id, query.discount)


@bp.post("/users/set_reseller/<user_id>")
@access("admin")
@bp.input(DiscountQuery, location="query", arg_name="query")
@bp.input(DiscountIn, arg_name="body")
@bp.output(ManagedUserOut)
@bp.doc(responses={**ACTION_ERRORS, 422: "A missing discount, or one outside 0-100 or with more than two decimals"})
def set_reseller_post(user_id: str, query: DiscountQuery, body: DiscountIn):
    """The POST form of `set_reseller`: `{discount}` in the body, or `?discount=` as in the GET."""
    return _set_reseller(user_id, body.discount if body.discount is not None else query.discount)


# --- the blacklist ---------------------------------------------------------------------------

@bp.get("/blacklist")
@access("admin")
@bp.input(BlacklistQuery, location="query", arg_name="query")
@bp.output(page_of(BlacklistOut))
@bp.doc(tags=["Blacklist"], responses={422: "An unknown `kind`"})
def list_blacklist(query: BlacklistQuery):
    """The blacklist, newest first, paginated; filters `kind` (ip, email, username) and `search`.

    A listed IP address, email or username cannot register or sign in at this store (403
    `blacklisted`). Not in the endpoint table: Seed B's blacklist, managed here."""
    page = blacklist_service.list_entries(kind=query.kind, q=query.search, page=query.page, page_size=query.page_size)
    return {**page, "items": [BlacklistOut.of(entry, name) for entry, name in page["items"]]}


@bp.post("/blacklist")
@access("admin")
@bp.input(BlacklistIn, arg_name="body")
@bp.output(BlacklistOut, status_code=201)
@bp.doc(tags=["Blacklist"], responses={403: "Your own IP address, email or username (`own_account`)",
                                       409: "Listed already (`blacklist_exists`)",
                                       422: "An unknown kind or an invalid value (`invalid_value`)"})
def add_blacklist(body: BlacklistIn):
    """Block an IP address, email or username: `{kind, value, reason?}`.

    An IP is one address (IPv4 or IPv6; networks are refused: the check matches addresses); an
    email is normalised and lower-cased; a username is matched in any case."""
    admin = require_user()
    entry = blacklist_service.add_entry(kind=body.kind, value=body.value, reason=body.reason, actor=admin,
                                        actor_ip=request.remote_addr)
    return BlacklistOut.of(entry, admin.username)


@bp.delete("/blacklist/<entry_id>")
@access("admin")
@bp.output({}, status_code=204)
@bp.doc(tags=["Blacklist"], responses={404: "No such entry"})
def remove_blacklist(entry_id: str):
    """Remove an entry: the address, email or username may register and sign in again."""
    blacklist_service.remove_entry(blacklist_service.get_entry(entry_id))
    return ""
