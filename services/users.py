"""Users of a store as the dashboard sees them: the searchable list (with each one's segment and
sales), a user's profile figures, who is who, and what an admin does to an account: create it,
edit it, change its role (a reseller's discount with it), disable it, and erase it.

Who may act on whom: an actor manages only accounts whose role is below their own, assigns only
roles below their own (SYSADMIN never, from a store), and never changes their own account here
(403 ``role_not_allowed`` / ``own_account``). An erased account is read-only (409 ``user_erased``).
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, delete, func, null, or_, select, update

from extensions import db
from models import (
    Address,
    BalanceTopUp,
    CampaignRecipient,
    Cart,
    CartItem,
    NotificationPreference,
    Order,
    OrderLine,
    PasswordResetToken,
    ReplacementRequest,
    Review,
    Role,
    User,
)

from . import auth, plans, segments
from . import cart as cart_service
from . import wishlist as wishlist_service
from .errors import Conflict, Forbidden, Invalid, NotFound
from .pagination import paginate
from .reviews import ANONYMOUS
from .text import holds

ADMIN_PAGE_SIZE = 25
ASSIGNABLE_ROLES = (Role.USER, Role.RESELLER, Role.STAFF, Role.MANAGER, Role.ADMIN)  # never SYSADMIN
ERASED_NAME = "deleted user"  # what a review of an erased account shows as its author
UNUSABLE_PASSWORD = "!erased"  # not an argon2 hash: verify_password is always False


def users_by_id(user_ids) -> dict[str, User]:
    """The users behind a set of ids (buyers, actors) in one query."""
    ids = {i for i in user_ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def usernames(user_ids) -> dict[str, str]:
    """Usernames by id (who placed, imported or changed something), in one query."""
    return {user_id: user.username for user_id, user in users_by_id(user_ids).items()}


def _term(q: str | None) -> str | None:
    return (q or "").strip().lower()[:100] or None


def check_role(role: str | None, field: str = "role") -> Role | None:
    """``None`` for no role; a store role by name (any case); 422 ``invalid_role`` otherwise."""
    if role in (None, "", "all"):
        return None
    try:
        found = Role(str(role).strip().upper())
    except ValueError:
        found = None
    if found is None or found == Role.GUEST:
        names = ", ".join(r.value for r in Role if r != Role.GUEST)
        raise Invalid(f"The role is one of: {names}", code="invalid_role", details={field: [f"one of: {names}"]})
    return found


def directory(*, q: str | None = None, role: str | None = None, segment: str | None = None,
              customers_only: bool = False, page: int = 1, page_size: int = ADMIN_PAGE_SIZE,
              now: datetime | None = None) -> dict:
    """The users table: one page of ``(User, orders, spent, first_order_at, last_order_at,
    segment)`` rows in ONE statement (the sales are one GROUP BY joined in, the segment the CASE
    of ``services.segments``; staff have no segment). Search in username and email, filters by
    role and segment (a segment implies a customer), newest first. Erased accounts are left out."""
    role_filter = check_role(role)
    segment = segments.check_segment(segment)
    stats = segments.customer_stats()
    named = segments.segment_case(stats, now)
    is_customer = User.role.in_(segments.CUSTOMER_ROLES)
    stmt = (select(User, func.coalesce(stats.c.orders, 0).label("orders"), func.coalesce(stats.c.spent, 0).label("spent"),
                   stats.c.first_order_at, stats.c.last_order_at,
                   case((is_customer, named), else_=null()).label("segment"))
            .outerjoin(stats, stats.c.user_id == User.id).where(User.erased_at.is_(None)))
    if customers_only or segment:
        stmt = stmt.where(is_customer)
    if role_filter is not None:
        stmt = stmt.where(User.role == role_filter.value)
    if segment:
        stmt = stmt.where(named == segment)
    if term := _term(q):
        stmt = stmt.where(or_(holds(User.username, term), holds(User.email, term)))
    return paginate(stmt.order_by(User.created_at.desc(), User.id), page=page, page_size=page_size, scalars=False)


def find_users(q: str, *, limit: int = 8) -> list[User]:
    """Suggestions for a "pick a user" box: username or email starting with / containing ``q``."""
    term = _term(q)
    if term is None:
        return []
    return list(db.session.scalars(
        select(User).where(or_(holds(User.username, term), holds(User.email, term)),
                           User.erased_at.is_(None))
        .order_by(func.lower(User.username)).limit(limit)))


def user_by_login(identifier: str) -> User | None:
    """A user of the bound store by exact username (any case) or email."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    return db.session.scalar(select(User).where(func.lower(User.username) == identifier.lower()))


def get_user(user_id: str | None) -> User:
    """A user of the bound store by id (404 ``user_not_found`` otherwise)."""
    user = db.session.get(User, user_id) if user_id and len(user_id) <= 36 else None
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    return user


def get_customer(user_id: str | None) -> User:
    """A customer of the bound store by id: a USER or RESELLER account that is not erased, as the
    customers list has them (``directory(customers_only=True)``). Staff, managers, admins and
    erased accounts are nobody's customers: 404 ``customer_not_found`` (an admin reads any account
    through ``/api/admin/user/{id}``)."""
    user = db.session.get(User, user_id) if user_id and len(user_id) <= 36 else None
    if user is None or user.role not in segments.CUSTOMER_ROLES or user.erased_at is not None:
        raise NotFound("No such customer", code="customer_not_found")
    return user


def role_counts() -> dict[str, int]:
    """How many users the store has per role (the dashboard's overview)."""
    return dict(db.session.execute(select(User.role, func.count()).where(User.erased_at.is_(None))
                                   .group_by(User.role)).all())


def profile(user: User, now: datetime | None = None) -> dict:
    """A user's figures in ONE statement: ``orders`` (sales: paid, non-gift), ``spent`` (net of
    refunds), ``first_order_at``, ``last_order_at``, ``segment`` (customers only), ``orders_total``
    (every order, any status), ``review_count``, ``replacement_count``."""
    stats = segments.customer_stats()
    is_customer = User.role.in_(segments.CUSTOMER_ROLES)
    row = db.session.execute(
        select(func.coalesce(stats.c.orders, 0), func.coalesce(stats.c.spent, 0), stats.c.first_order_at,
               stats.c.last_order_at, case((is_customer, segments.segment_case(stats, now)), else_=null()),
               select(func.count(Order.id)).where(Order.buyer_id == User.id).scalar_subquery(),
               select(func.count(Review.id)).where(Review.user_id == User.id).scalar_subquery(),
               select(func.count(ReplacementRequest.id)).where(ReplacementRequest.user_id == User.id).scalar_subquery())
        .select_from(User).outerjoin(stats, stats.c.user_id == User.id).where(User.id == user.id)).one()
    keys = ("orders", "spent", "first_order_at", "last_order_at", "segment", "orders_total", "review_count",
            "replacement_count")
    figures = dict(zip(keys, row, strict=True))
    for key in ("orders", "spent", "orders_total", "review_count", "replacement_count"):
        figures[key] = int(figures[key] or 0)
    return figures


def current_cart(user: User):
    """The user's cart, priced as they would see it (``None`` when they have none)."""
    cart = cart_service.get_cart(user=user, create=False)
    # staff looking: a coupon the store deleted shows as refused, the shopper's cart is left alone
    return cart_service.price(cart, buyer=user, customer_key=user.id, owner=False) if cart is not None else None


# --- who may act on whom ---------------------------------------------------------------------

def assignable_roles(actor: User) -> list[Role]:
    """The roles ``actor`` may give: those below their own; SYSADMIN never (it is platform-wide)."""
    return [role for role in ASSIGNABLE_ROLES if role.rank < actor.role_enum.rank]


def can_manage(actor: User, user: User) -> bool:
    return actor.id != user.id and user.role_enum.rank < actor.role_enum.rank


def check_may_manage(actor: User, user: User, action: str = "change") -> None:
    """403 unless ``user`` is someone else whose role is below ``actor``'s; 409 for an erased one."""
    if actor.id == user.id:
        raise Forbidden(f"You cannot {action} your own account here", code="own_account")
    if not user.role_enum.rank < actor.role_enum.rank:
        raise Forbidden(f"Only someone above the {user.role.lower()} role can {action} this account",
                        code="role_not_allowed", details={"role": [f"{user.role} is not below your role"]})
    _not_erased(user)


def _not_erased(user: User) -> None:
    if user.erased_at is not None:
        raise Conflict("This account was deleted", code="user_erased")


def _check_assignable(actor: User, role: Role, field: str = "role") -> None:
    if role not in assignable_roles(actor):
        raise Forbidden(f"You cannot give the {role.value} role", code="role_not_allowed",
                        details={field: [f"allowed: {', '.join(r.value for r in assignable_roles(actor))}"]})


def discount_bps(value, field: str = "discount") -> int:
    """A reseller discount given in percent (``15``, ``12.5``, ``"7.25"``) as basis points:
    0 to 100 with at most two decimals; 422 ``invalid_discount`` otherwise."""
    try:
        percent = Decimal(str(value).strip().rstrip("%").strip()) if not isinstance(value, bool) else None
    except (InvalidOperation, ValueError):
        percent = None
    if percent is None or not percent.is_finite():
        raise Invalid("The discount is a percentage such as 15 or 12.5", code="invalid_discount",
                      details={field: ["a number from 0 to 100"]})
    bps = percent * 100
    if bps != bps.to_integral_value():
        raise Invalid("The discount has at most two decimals", code="invalid_discount",
                      details={field: ["at most two decimals"]})
    if bps < 0 or bps > 10_000:
        raise Invalid("The discount is from 0 to 100 %", code="invalid_discount", details={field: ["0 to 100"]})
    return int(bps)


# --- actions -------------------------------------------------------------------------------

def create_user(actor: User, *, username: str, email: str, password: str | None, role: str = "USER",
                discount: int = 0) -> User:
    """An admin creates an account with a role below their own. Without a password the account
    gets an unusable one and its owner is emailed a link to set theirs (the reset flow's link, in a
    welcome that says the account was made for them, valid as long as a new store admin's)."""
    wanted = check_role(role) or Role.USER
    _check_assignable(actor, wanted)
    if wanted.value in plans.STAFF_ROLES:
        plans.check_staff_limit()
    if password:
        auth.check_password_strength(password)
    user = auth.create_user(username=username, email=email, password=password or uuid.uuid4().hex + uuid.uuid4().hex,
                            role=wanted, check_strength=False)
    if wanted == Role.RESELLER:
        user.discount_bps = discount
    if not password:
        auth.send_password_link(user, template="welcome_user", ttl=auth.WELCOME_LINK_TTL)
    db.session.flush()
    return user


def change_role(user: User, role: str, *, actor: User, discount: int | None = None) -> User:
    """Give ``user`` another role (below the actor's, for a user below the actor). A RESELLER gets
    ``discount`` (basis points; kept when ``None``); any other role has no discount."""
    wanted = check_role(role)
    if wanted is None:
        raise Invalid("Choose a role", code="invalid_role", details={"role": ["required"]})
    check_may_manage(actor, user, "change the role of")
    _check_assignable(actor, wanted)
    if wanted.value in plans.STAFF_ROLES and user.role not in plans.STAFF_ROLES:
        plans.check_staff_limit()
    user.role = wanted.value
    if wanted == Role.RESELLER:
        if discount is not None:
            user.discount_bps = discount
    else:
        user.discount_bps = 0
    db.session.flush()
    return user


def set_reseller(user: User, discount: int, *, actor: User) -> User:
    """Seed B ``set_reseller``: the user becomes a RESELLER whose prices are ``discount`` basis
    points lower (``services.cart.price``)."""
    return change_role(user, Role.RESELLER.value, actor=actor, discount=discount)


def update_user(user: User, *, actor: User, **changes) -> User:
    """What a merchant edits: ``username``, ``email``, ``is_active``, ``note`` (only those given).
    A username or email another account has is a 409 (``username_taken``, ``email_taken``), as
    at registration. Disabling an account also ends its tokens."""
    check_may_manage(actor, user, "edit")
    if "is_active" in changes and changes["is_active"] is not None:
        # first: enabling a staff account locks the store's row (plans._limit) before this row is
        # written, the order every seat change takes, so two edits of one account cannot deadlock
        set_active(user, bool(changes["is_active"]), actor=actor)
    if "username" in changes and changes["username"] is not None:
        username = auth.check_username(changes["username"])
        if username != user.username:
            taken = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower(),
                                                            User.id != user.id))
            if taken:
                raise Conflict("That username is taken", code="username_taken", details={"username": ["taken"]})
            user.username = username
    if "email" in changes and changes["email"] is not None:
        email = auth.normalize_email(changes["email"])
        if email != user.email:
            if db.session.scalar(select(User.id).where(User.email == email, User.id != user.id)):
                raise auth.email_taken(for_new_account=False)
            user.email = email
    if "note" in changes and changes["note"] is not None:
        user.note = changes["note"].strip()[:1000]
    db.session.flush()
    return user


def set_active(user: User, active: bool, *, actor: User) -> User:
    """Enable or disable an account. A disabled one cannot sign in, and every token it holds dies
    (``token_version``), so enabling it again does not bring old tokens back. A disabled staff
    account holds no seat of the plan's ``max_staff``, so enabling one is refused (403
    ``plan_limit_reached``) when the seats are taken."""
    check_may_manage(actor, user, "disable" if not active else "enable")
    if active and not user.is_active and user.role in plans.STAFF_ROLES:
        plans.check_staff_limit()  # a disabled staff account holds no seat: enabling it takes one
    if user.is_active and not active:
        user.token_version = (user.token_version or 0) + 1
    user.is_active = active
    db.session.flush()
    return user


def erase_user(user: User, *, actor: User | None = None, now: datetime | None = None) -> User:
    """Delete an account the way the books allow: personal data goes, the sales stay.

    ``actor`` is the admin (None: the owner deleting their own account, issue 14). The row stays,
    anonymised in place: username and email become unique placeholders (``deleted-<hex>``,
    ``...@deleted.invalid``), the password unusable, the note and last sign-in address cleared,
    the role USER without discount, ``is_active`` false, ``erased_at`` set and ``token_version``
    bumped (every token and browser session dies: both check the user row). Its orders keep their
    rows, lines, totals and ledger rows, with the placeholder as their email; its reviews stay,
    by "deleted user"; its cart is emptied and its password-reset links, wishlist and wishlist share
    link are dropped; the profile (name, phone, locale), the address book and the email preferences
    go; campaign recipient rows keep the placeholder email.

    Refused: your own account (as an admin), an account at or above your role (403), an account
    already erased, or one with an order or top-up awaiting payment (409 ``payment_pending``: a
    payment may still arrive for it; cancel or wait for it first). The owner's own deletion
    (``actor`` None, ``services.account.delete_account``) is also refused while one of their
    replacement requests is open (409 ``replacement_open``).

    Concurrency: the user's cart row is locked first, then the user row ``FOR UPDATE`` (the order
    a checkout takes them in: cart, then the balance debit's UPDATE of the user row), and only
    then are pending payments looked for. A checkout of that cart already under way finishes
    first, and its order is then seen (pending: refused; paid: anonymised with the rest); one that
    starts later finds the cart empty. ``FOR UPDATE`` also holds back any new row that references
    the user (an order, a ledger row) until the erasure commits. On SQLite the request's write
    transaction serialises all of this anyway.
    """
    if actor is not None:
        check_may_manage(actor, user, "delete")
    _not_erased(user)
    cart = db.session.scalar(select(Cart).where(Cart.user_id == user.id))
    if cart is not None:
        cart_service.lock(cart)
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.session.refresh(user)
    _not_erased(user)
    pending_orders = db.session.scalar(select(func.count(Order.id)).where(
        Order.buyer_id == user.id, Order.status == "PENDING", Order.payment_status == "UNPAID")) or 0
    pending_topups = db.session.scalar(select(func.count(BalanceTopUp.id)).where(
        BalanceTopUp.user_id == user.id, BalanceTopUp.status == "PENDING")) or 0
    if actor is None:  # the owner: not while a replacement request of theirs waits for an answer
        open_requests = db.session.scalar(select(func.count(ReplacementRequest.id)).where(
            ReplacementRequest.user_id == user.id, ReplacementRequest.status == "PENDING")) or 0
        if open_requests:
            raise Conflict("A replacement request of yours is still open: wait for the store's answer, then "
                           "delete the account", code="replacement_open", details={"replacements": int(open_requests)})
    # a paid parcel not sent yet needs the address the erasure would take
    unshipped = db.session.scalar(select(func.count(Order.id)).where(
        Order.buyer_id == user.id, Order.paid_at.isnot(None), Order.fulfilled_at.is_(None),
        Order.status.in_(("PROCESSING", "PENDING")),
        Order.id.in_(select(OrderLine.order_id).where(OrderLine.kind == "physical")))) or 0
    if unshipped:
        raise Conflict("An order of this account is paid and waiting to be shipped: it needs its address until "
                       "the store sends it, then the account can be deleted", code="shipment_pending",
                       details={"orders": int(unshipped)})
    if pending_orders or pending_topups:
        raise Conflict("This account has a payment on its way (an order or top-up awaiting payment): cancel it "
                       "or wait until it is paid or expires, then delete the account", code="payment_pending",
                       details={"orders": int(pending_orders), "top_ups": int(pending_topups)})
    placeholder = f"deleted-{uuid.uuid4().hex[:24]}"
    email = f"{placeholder}@deleted.invalid"
    # the shipping address snapshot is the buyer's personal data too (the books keep the amounts)
    db.session.execute(update(Order).where(Order.buyer_id == user.id).values(email=email, shipping_address=null())
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Review).where(Review.user_id == user.id, Review.reviewed_by != ANONYMOUS)
                       .values(reviewed_by=ERASED_NAME).execution_options(synchronize_session=False))
    if cart is not None:
        db.session.execute(delete(CartItem).where(CartItem.cart_id == cart.id).execution_options(synchronize_session=False))
        db.session.execute(delete(Cart).where(Cart.id == cart.id).execution_options(synchronize_session=False))
        db.session.expunge(cart)
    db.session.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id)
                       .execution_options(synchronize_session=False))
    wishlist_service.erase_for(user)
    # issue 14: the address book and the email choices go; campaign bookkeeping keeps the placeholder
    for model in (Address, NotificationPreference):
        db.session.execute(delete(model).where(model.user_id == user.id).execution_options(synchronize_session="fetch"))
    db.session.execute(update(CampaignRecipient).where(CampaignRecipient.user_id == user.id).values(email=email)
                       .execution_options(synchronize_session=False))
    user.username, user.email, user.password_hash = placeholder, email, UNUSABLE_PASSWORD
    user.note, user.last_login_ip = "", None
    user.full_name, user.phone, user.locale = "", "", None
    user.role, user.discount_bps = Role.USER.value, 0
    user.is_active = False
    user.erased_at = now or datetime.now(UTC)
    user.token_version = (user.token_version or 0) + 1
    db.session.flush()
    for obj in list(db.session.identity_map.values()):  # loaded orders must not show the old email
        if isinstance(obj, Order) and obj.buyer_id == user.id:
            db.session.expire(obj, ["email", "shipping_address"])
    return user

