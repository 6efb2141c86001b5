"""Reviews: one per COMPLETED order, by its buyer (RECONCILE.md "Reviews").

Reading: the public lists and a product's rating summary; only approved reviews show.
Writing: create (by the buyer), approve, edit and delete (staff), and the enforced-ratings job.

- The reward: with ``review_reward`` (0-10 %) set, a 5-star, approved, non-automatic review
  credits ``total * reward // 100`` minor units to its buyer's balance, ONCE: a guarded UPDATE
  flips ``reviews.reward_credited`` (never cleared) and only the statement that flipped it writes
  the ledger row, linked from ``reward_transaction_id`` (unique). Approve and edit also lock the
  review row first, so two of them racing see each other's result and the reward is neither
  paid twice nor missed. Deleting a review never takes a paid reward back.
- A refund takes back the part of a paid reward it removes (``settle_reward``, called by every
  change of what is refunded, and by a dispute's closing: one LOST takes it all back, as a full
  refund does; one won changes nothing): the reward is a share of what the buyer kept when it was paid
  (``reward_basis``); after the refund it is that share of what they keep now, and the difference
  is debited from their balance (a ``review_reward`` row of its own, negative), never below zero:
  a balance spent meanwhile gives what it holds, and the order's timeline records the rest (a
  later refund of the order asks for it again). A refund that fails gives back what its taking
  took. The order's row is the lock both sides
  take: paying a reward reads the order locked, and a refund locks it by reserving its amount,
  so a reward paid while the order is refunded either pays on what is left or is seen and cut.
- The cached ``products.average_rating`` / ``review_count`` are recomputed from SQL aggregates of
  the approved reviews of every product a write touches, with the product row locked first (on
  PostgreSQL two writers would otherwise each store an aggregate missing the other's row).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import BalanceTransaction, Order, OrderLine, Product, Review, User
from tenancy import current_store_id

from . import balance
from .errors import Conflict, Invalid, NotFound
from .money import format_money
from .orders import event as order_event
from .pagination import paginate
from .stores import get_store, settings_of
from .text import has_control_chars

SORTS = {
    "newest": (Review.created_at.desc(),),
    "oldest": (Review.created_at.asc(),),
    "highest": (Review.rating.desc(), Review.created_at.desc()),
    "lowest": (Review.rating.asc(), Review.created_at.desc()),
}
MAX_TEXT = 2000
ANONYMOUS = "Anonymous"
STATUSES = ("pending", "approved", "automatic")


# --- reading ---------------------------------------------------------------------------

def list_reviews(*, product: Product | None = None, sort_by: str = "newest", page: int = 1, page_size: int = 20) -> dict:
    if sort_by not in SORTS:
        raise Invalid("sort_by must be newest, oldest, highest or lowest", details={"sort_by": list(SORTS)})
    stmt = select(Review).where(Review.is_approved.is_(True))
    if product is not None:
        stmt = stmt.where(Review.product_id == product.id)
    return paginate(stmt.order_by(*SORTS[sort_by], Review.id), page=page, page_size=page_size)


def rating_summary(product: Product) -> dict:
    """Average (one decimal), count and how many reviews gave each star."""
    rows = dict(db.session.execute(select(Review.rating, func.count()).where(
        Review.product_id == product.id, Review.is_approved.is_(True)).group_by(Review.rating)).all())
    count = sum(rows.values())
    average = round(sum(star * n for star, n in rows.items()) / count, 1) if count else 0.0
    return {"product_id": product.id, "average_rating": average, "review_count": count,
            "distribution": {str(star): rows.get(star, 0) for star in range(5, 0, -1)}}


def admin_list(*, status: str | None = None, product_id: str | None = None, rating: int | None = None,
               page: int = 1, page_size: int = 20) -> dict:
    """Every review of the store for staff, newest first; ``status``: pending, approved, automatic."""
    stmt = select(Review)
    if status == "pending":
        stmt = stmt.where(Review.is_approved.is_(False))
    elif status == "approved":
        stmt = stmt.where(Review.is_approved.is_(True))
    elif status == "automatic":
        stmt = stmt.where(Review.is_automatic.is_(True))
    elif status:
        raise Invalid("status must be pending, approved or automatic", details={"status": list(STATUSES)})
    if product_id:
        stmt = stmt.where(Review.product_id == product_id)
    if rating is not None:
        stmt = stmt.where(Review.rating == _rating(rating))
    return paginate(stmt.order_by(Review.created_at.desc(), Review.id), page=page, page_size=page_size)


def get_review(review_id: str) -> Review:
    review = db.session.scalar(select(Review).where(Review.id == review_id)) if review_id else None
    if review is None:
        raise NotFound("No such review", code="review_not_found")
    return review


def review_of_order(order: Order) -> Review | None:
    return db.session.scalar(select(Review).where(Review.order_id == order.id))


def reviewed_products() -> list[tuple[str, str]]:
    """(id, title) of the products that have reviews, for the admin filter."""
    return list(db.session.execute(select(Product.id, Product.title).where(
        exists().where(Review.product_id == Product.id)).order_by(Product.title)).all())


# --- checks ----------------------------------------------------------------------------

def _rating(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise Invalid("The rating must be a whole number from 1 to 5", code="invalid_rating",
                      details={"rating": ["must be 1, 2, 3, 4 or 5"]})
    return value


def _text(value) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        raise Invalid("The review must be text", details={"text_review": ["must be text"]})
    if len(value) > MAX_TEXT:
        raise Invalid(f"The review may be at most {MAX_TEXT} characters", code="review_too_long",
                      details={"text_review": [f"at most {MAX_TEXT} characters"]})
    if has_control_chars(value):
        raise Invalid("The review contains a control character", details={"text_review": ["control character"]})
    return value  # plain text: stored as written, escaped wherever it is shown


def _settings():
    return settings_of(get_store(current_store_id()))


def _now() -> datetime:
    return datetime.now(UTC)


# --- writing ---------------------------------------------------------------------------

def _line_for(order: Order, product_id: str | None) -> OrderLine | None:
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                               .order_by(OrderLine.position)).all()
    if product_id is not None:
        return next((line for line in lines if line.product_id == product_id), None)
    return next((line for line in lines if line.product_id), lines[0] if lines else None)


def create_review(order: Order, user: User, *, rating, text: str = "", anonymous: bool = False,
                  product_id: str | None = None) -> Review:
    """The buyer reviews their COMPLETED order (once). Someone else's order reads as missing."""
    if order.buyer_id is None or order.buyer_id != user.id:
        raise NotFound("No such order", code="not_your_order")
    rating = _rating(rating)
    text = _text(text)
    if order.status != "COMPLETED":
        raise Conflict("Only a completed order can be reviewed", code="order_not_completed",
                       details={"status": order.status})
    if review_of_order(order) is not None:
        raise Conflict("This order has a review already", code="already_reviewed")
    line = _line_for(order, product_id)
    if line is None:
        raise NotFound("This order does not contain that product", code="product_not_in_order")
    settings = _settings()
    approved = not settings.reviews_require_approval
    review = Review(order_id=order.id, product_id=line.product_id, user_id=user.id,
                    reviewed_by=ANONYMOUS if anonymous else user.username[:32], anonymous=bool(anonymous),
                    rating=rating, text_review=text, product_name=line.product_title[:200],
                    product_image=line.product_image_url, is_approved=approved,
                    approved_at=_now() if approved else None)
    try:
        with db.session.begin_nested():
            db.session.add(review)
            db.session.flush()
    except IntegrityError:  # a concurrent review of the same order won
        raise Conflict("This order has a review already", code="already_reviewed") from None
    _event(order, "review", f"Reviewed: {rating} star{'s' if rating != 1 else ''}"
           + ("" if approved else " (waiting for approval)"), actor=user)
    if approved:
        _reward(review)
        refresh_ratings(review.product_id)
    return review


def create_for_product(product: Product, user: User, *, order_id: str | None = None, **fields) -> Review:
    """Seed A: review a product through one of the buyer's COMPLETED orders of it (``order_id``),
    or the latest such order not reviewed yet."""
    if order_id:
        order = db.session.scalar(select(Order).where(Order.id == order_id))
        if order is None or order.buyer_id != user.id:
            raise NotFound("No such order", code="not_your_order")
        if _line_for(order, product.id) is None:
            raise NotFound("That order does not contain this product", code="product_not_in_order")
        return create_review(order, user, product_id=product.id, **fields)
    has_product = exists().where(OrderLine.order_id == Order.id, OrderLine.product_id == product.id)
    mine = select(Order).where(Order.buyer_id == user.id, has_product)
    order = db.session.scalar(mine.where(Order.status == "COMPLETED", ~exists().where(Review.order_id == Order.id))
                              .order_by(Order.created_at.desc(), Order.id).limit(1))
    if order is None:
        if db.session.scalar(select(func.count()).select_from(mine.where(Order.status == "COMPLETED").subquery())):
            raise Conflict("You have reviewed every order of this product already", code="already_reviewed")
        raise Conflict("You have no completed order of this product", code="order_not_completed")
    return create_review(order, user, product_id=product.id, **fields)


def _locked(review: Review) -> Review:
    """The review row, locked until the transaction ends (PostgreSQL), freshly read."""
    locked = db.session.scalar(select(Review).where(Review.id == review.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None:
        raise NotFound("No such review", code="review_not_found")
    return locked


def approve(review: Review, *, actor: User) -> Review:
    review = _locked(review)
    if not review.is_approved:
        review.is_approved, review.approved_at, review.approved_by_id = True, _now(), actor.id
        db.session.flush()
        _event_for(review, "review_approved", "Review approved", actor=actor)
    _reward(review)
    refresh_ratings(review.product_id)
    return review


def edit(review: Review, *, actor: User, rating=None, text: str | None = None) -> Review:
    """Staff change a review's rating or text. A review that becomes a rewarded one is paid then,
    and still only once however often it changes."""
    review = _locked(review)
    if rating is not None:
        review.rating = _rating(rating)
    if text is not None:
        review.text_review = _text(text)
    review.updated_at = _now()
    db.session.flush()
    _event_for(review, "review_edited", "Review edited", actor=actor)
    _reward(review)
    refresh_ratings(review.product_id)
    return review


def delete(review: Review, *, actor: User) -> None:
    review = _locked(review)
    product_id = review.product_id
    _event_for(review, "review_deleted", "Review deleted", actor=actor)
    db.session.delete(review)
    db.session.flush()
    refresh_ratings(product_id)


def _event(order: Order, kind: str, message: str, *, actor: User | None) -> None:
    order_event(order, kind, message, actor=actor)


def _event_for(review: Review, kind: str, message: str, *, actor: User | None) -> None:
    order = db.session.get(Order, review.order_id)
    if order is not None:
        _event(order, kind, message, actor=actor)


def _reward(review: Review) -> int:
    """Credit the 5-star reward if this review has earned it and nobody has paid it yet: ``review_reward``
    percent of what the buyer paid and kept (the total less any refund; nothing once the order is
    refunded in full or disputed)."""
    if review.rating != 5 or not review.is_approved or review.is_automatic or review.user_id is None \
            or review.reward_credited:  # (the review's row is locked and fresh, or new: paid already is final)
        return 0
    percent = _settings().review_reward
    if not percent:
        return 0
    # the order's row locked, as a refund locks it: a refund racing this either committed first (and
    # its amount is read here) or waits, and then finds the reward paid (settle_reward)
    order = db.session.scalar(select(Order).where(Order.id == review.order_id).with_for_update(key_share=True)
                              .execution_options(populate_existing=True))
    # the share of what the buyer paid and kept: nothing for an order refunded in full or disputed,
    # the part not refunded of one refunded in part
    kept = order.total - order.amount_refunded if order is not None and order.payment_status in ("PAID", "PARTIALLY_REFUNDED") else 0
    amount = (kept * percent) // 100
    if amount <= 0:
        return 0
    flipped = db.session.execute(
        update(Review).where(Review.id == review.id, Review.reward_credited.is_(False), Review.rating == 5,
                             Review.is_approved.is_(True), Review.is_automatic.is_(False))
        .values(reward_credited=True, reward_basis=kept).execution_options(synchronize_session=False)).rowcount
    if flipped != 1:
        return 0
    entry = balance.credit(review.user_id, amount, "review_reward", order_id=review.order_id,
                           reason=f"5-star review of order #{order.order_number}")
    db.session.execute(update(Review).where(Review.id == review.id).values(reward_transaction_id=entry.id)
                       .execution_options(synchronize_session=False))
    db.session.refresh(review, ["reward_credited", "reward_transaction_id", "reward_basis"])
    return amount


@dataclass(frozen=True)
class RewardChange:
    """What ``settle_reward`` moved: ``amount`` on the buyer's balance (negative: taken back), of
    ``wanted`` (a balance holding less than a take-back wants gives what it holds)."""

    amount: int
    wanted: int

    @property
    def taken_back(self) -> int:
        return max(-self.amount, 0)

    @property
    def not_recovered(self) -> int:
        """What a take-back wanted and the balance did not hold."""
        return max(self.amount - self.wanted, 0) if self.wanted < 0 else 0


def settle_reward(order: Order, *, actor: User | None = None) -> RewardChange | None:
    """Make the paid reward of the order's review follow what the buyer kept, after the amount
    refunded changed (a refund, one made at the provider, one that failed) or a dispute closed, in
    that transaction. A dispute LOST keeps the buyer nothing, as a full refund does; one open or won
    changes nothing here (an open one only stops a reward from being paid: ``_reward``).

    The reward was a share of ``reward_basis`` (what the buyer had kept when it was paid); now it is
    ``paid * kept // basis``. What the buyer holds of it is the sum of the order's ``review_reward``
    rows of theirs; the difference is debited from their balance (with the row locked: never below
    zero, a balance spent meanwhile gives what it holds) or, when a refund failed and the buyer
    keeps more again, credited back, never beyond what was paid. Each movement is a ledger row of
    its own and a line on the order's timeline. None when nothing moves (no review, no reward
    paid, nothing changed)."""
    review = db.session.scalar(select(Review).where(Review.order_id == order.id)
                               .execution_options(populate_existing=True))
    if review is None or not review.reward_credited or review.reward_transaction_id is None:
        return None
    paid = db.session.get(BalanceTransaction, review.reward_transaction_id)
    if paid is None or paid.amount <= 0:
        return None
    # the order locked (a refund holds it already): a reward paid at this moment is either seen here or
    # pays on what is left (``_reward``)
    total, refunded, number, currency, dispute = db.session.execute(
        select(Order.total, Order.amount_refunded, Order.order_number, Order.currency, Order.dispute_status)
        .where(Order.id == order.id).with_for_update(key_share=True)).one()
    lost = dispute == "lost"  # a chargeback lost: the money is gone as with a full refund
    kept = 0 if lost else max(total - refunded, 0)
    basis = review.reward_basis or total
    due = min(paid.amount, paid.amount * kept // basis) if basis > 0 else 0
    held = int(db.session.scalar(select(func.coalesce(func.sum(BalanceTransaction.amount), 0)).where(
        BalanceTransaction.user_id == paid.user_id, BalanceTransaction.order_id == order.id,
        BalanceTransaction.kind == "review_reward")) or 0)  # (PostgreSQL sums a BIGINT as NUMERIC)
    wanted = due - held
    if wanted == 0:
        return None
    actor_id = actor.id if actor is not None else None
    if wanted > 0:
        balance.credit(paid.user_id, wanted, "review_reward", order_id=order.id, actor_id=actor_id,
                       reason=f"Review reward of order #{number} given back: less of the order is refunded now")
        _event(order, "review_reward", f"Review reward given back: {format_money(wanted, currency)} (less of the "
               "order is refunded now)", actor=actor)
        return RewardChange(amount=wanted, wanted=wanted)
    taking = min(-wanted, balance.locked_balance(paid.user_id))
    short = -wanted - taking
    taken, asked = format_money(taking, currency), format_money(-wanted, currency)
    if taking > 0:
        balance.debit(paid.user_id, taking, "review_reward", order_id=order.id, actor_id=actor_id,
                      reason=f"Review reward of order #{number} taken back after "
                      + ("a lost dispute" if lost else "a refund")
                      + (f" ({taken} of {asked}: all the balance held)" if short else ""))
    if short:
        message = (f"Review reward taken back: {taken} of {asked}; the buyer's balance held no more, "
                   f"{format_money(short, currency)} stays with them")
    elif lost:
        message = f"Review reward taken back: {taken} (the dispute was lost: the buyer keeps nothing of the order)"
    else:
        message = (f"Review reward taken back: {taken} (the refund leaves {format_money(kept, currency)} of "
                   f"{format_money(total, currency)})")
    _event(order, "review_reward", message, actor=actor)
    return RewardChange(amount=-taking, wanted=wanted)


def refresh_ratings(*product_ids: str | None) -> None:
    """Recompute the cached average and count of these products from their approved reviews."""
    for product_id in sorted({p for p in product_ids if p}):
        product = db.session.scalar(select(Product).where(Product.id == product_id).with_for_update()
                                    .execution_options(populate_existing=True))
        if product is None:
            continue
        count, average = db.session.execute(
            select(func.count(Review.id), func.avg(Review.rating))
            .where(Review.product_id == product_id, Review.is_approved.is_(True))).one()
        product.review_count = int(count or 0)
        product.average_rating = round(float(average), 2) if count else 0.0
    db.session.flush()


# --- enforced ratings ------------------------------------------------------------------

def enforce_ratings(limit: int = 500) -> int:
    """The bound store's COMPLETED orders left unreviewed past its feedback window get an
    automatic 5-star review (approved, no reward). Returns how many were written."""
    settings = _settings()
    if not settings.enforced_ratings:
        return 0
    cutoff = _now() - timedelta(days=settings.feedback_window_days)
    done_at = func.coalesce(Order.completed_at, Order.paid_at, Order.created_at)
    orders = db.session.scalars(
        select(Order).where(Order.status == "COMPLETED", done_at < cutoff,
                            ~exists().where(Review.order_id == Order.id))
        .order_by(Order.created_at, Order.id).limit(limit)).all()
    written, touched = 0, set()
    for order in orders:
        line = _line_for(order, None)
        if line is None:
            continue
        review = Review(order_id=order.id, product_id=line.product_id, user_id=order.buyer_id,
                        reviewed_by=ANONYMOUS, rating=5, text_review="", product_name=line.product_title[:200],
                        product_image=line.product_image_url, is_approved=True, is_automatic=True,
                        approved_at=_now())
        try:
            with db.session.begin_nested():
                db.session.add(review)
                db.session.flush()
        except IntegrityError:  # the buyer reviewed it meanwhile
            continue
        _event(order, "review", "Automatic 5-star rating (no review within the feedback window)", actor=None)
        written += 1
        touched.add(line.product_id)
    refresh_ratings(*touched)
    return written
