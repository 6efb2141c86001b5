"""Replacements (Seed B): a buyer whose key does not work asks for a new one from the order page,
inside the product's warranty (``sold_at + warranty_time``).

* With auto-replace on, the first N requests of an order (``auto_replace_max_before_approval``,
  default 3) are served at once from stock, through the checkout's allocation
  (``stock.allocate``). After that, always when auto-replace is off, and when stock is out, the
  request waits PENDING for staff, with the reason they see.
* Staff approve with one of 3 random available items (an admin may type a custom deliverable)
  or deny with a reason the buyer sees. Resolving is one guarded UPDATE on the request: of two
  staff resolving at once, one wins and the other gets ``already_resolved``; one item is delivered.
  A chosen item that does not exist (or was withdrawn) is a 404 ``stock_item_not_found``, one of
  another subcategory a 422 ``item_wrong_subcategory``; only one sold or held meanwhile is the
  race's 409 ``item_taken``.
* The new item is sold to the order (it appears among its deliverables and its ``replacements``),
  the replaced one is marked replaced (it was sold, so it is never sold again), the buyer is
  emailed and every step is on the order's timeline.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Order, OrderLine, Product, ReplacementRequest, Role, StockBatch, StockItem, User, Variant
from transactions import enqueue_after_commit

from . import audit, crypto, orders, stock
from .errors import Conflict, Forbidden, Invalid, NotFound
from .pagination import paginate
from .text import clean_text
from .variants import refresh_product_cache

REPLACEMENT_EMAIL = "jobs.emails.send_replacement_email"
OPTIONS = 3


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


# --- what the buyer may ask for -------------------------------------------------------------------

def warranty_end(item: StockItem, product: Product | None, items: dict[str, StockItem] | None = None) -> datetime | None:
    """A replacement keeps the warranty of the item first sold (a chain of replacements never
    renews it): ``items`` holds the order's items by id, to walk back to the first."""
    first, seen = item, set()
    while first.replacement_for_id and items and first.replacement_for_id in items and first.id not in seen:
        seen.add(first.id)
        first = items[first.replacement_for_id]
    if product is None or first.sold_at is None:
        return None
    return _aware(first.sold_at) + timedelta(seconds=product.warranty_time or 0)


def _order_items(order_id: str) -> dict[str, StockItem]:
    return {i.id: i for i in db.session.scalars(select(StockItem).where(StockItem.order_id == order_id,
                                                                      StockItem.is_sold.is_(True)))}


def _refusal(order: Order, item: StockItem, product: Product | None, open_ids: set[str],
             items: dict[str, StockItem]) -> tuple[str, str] | None:
    """(code, sentence) when ``item`` cannot be replaced now; None when it can."""
    # a delivered item of a paid order: COMPLETED, or PROCESSING while its parcel (or a unit the stock
    # was short of) is still to come: the key delivered beside it is complete and may not work
    if order.status not in ("COMPLETED", "PROCESSING") or order.paid_at is None:
        return "order_not_completed", f"Replacements are for completed orders (this one is {order.status.lower()})"
    if item.replaced_at is not None:
        return "already_replaced", "This item was already replaced"
    if item.id in open_ids:
        return "request_open", "This item already has a replacement request waiting"
    if product is None or not product.replace_enabled:
        return "replacements_off", f"{product.title if product else 'This product'} has replacements turned off"
    end = warranty_end(item, product, items)
    if end is None or end <= _now():
        return "warranty_expired", (f"The warranty of this item ended on {end:%d %b %Y %H:%M} UTC" if end
                                    else "This item has no warranty")
    return None


def item_states(order: Order) -> dict[str, dict]:
    """For the order page: each delivered item's warranty end and whether (or why not) it can be
    replaced now. Three queries for the whole order."""
    by_id = _order_items(order.id)
    items = list(by_id.values())
    products = {p.id: p for p in db.session.scalars(select(Product).where(
        Product.id.in_({i.product_id for i in items}))).all()} if items else {}
    open_ids = set(db.session.scalars(select(ReplacementRequest.stock_item_id).where(
        ReplacementRequest.order_id == order.id, ReplacementRequest.status == "PENDING")))
    out = {}
    for item in items:
        product = products.get(item.product_id)
        refusal = _refusal(order, item, product, open_ids, by_id)
        end = warranty_end(item, product, by_id)
        out[item.id] = {"warranty_ends_at": end, "seconds_left": max(int((end - _now()).total_seconds()), 0) if end else 0,
                        "can_replace": refusal is None, "why_not": refusal[1] if refusal else None,
                        "pending": item.id in open_ids, "replaced": item.replaced_at is not None,
                        "replacements_on": bool(product and product.replace_enabled)}
    return out


# --- the buyer's request ---------------------------------------------------------------------------

def request_replacement(order: Order, *, user: User, stock_item_id: str | None, reason: str) -> ReplacementRequest:
    """The buyer asks for a new item in place of ``stock_item_id`` (one of the order's delivered
    items). Served at once within the auto-replace budget when stock allows; otherwise PENDING."""
    if order.buyer_id != user.id:
        raise NotFound("No such order", code="order_not_found")
    item = db.session.scalar(select(StockItem).where(StockItem.id == (stock_item_id or "")[:36],
                                                     StockItem.order_id == order.id, StockItem.is_sold.is_(True)))
    if item is None:
        raise Invalid("Choose one of the items delivered with this order", code="item_not_found",
                      details={"stock_item_id": ["not an item of this order"]})
    reason = clean_text(reason, "reason", max_length=1000, required=True)
    product = db.session.get(Product, item.product_id)
    open_ids = set(db.session.scalars(select(ReplacementRequest.stock_item_id).where(
        ReplacementRequest.stock_item_id == item.id, ReplacementRequest.status == "PENDING")))
    refusal = _refusal(order, item, product, open_ids, _order_items(order.id))
    if refusal:
        raise Conflict(refusal[1], code=refusal[0])
    earlier = db.session.scalar(select(func.count()).select_from(ReplacementRequest)
                                .where(ReplacementRequest.order_id == order.id)) or 0
    request = ReplacementRequest(order_id=order.id, order_line_id=item.order_line_id, stock_item_id=item.id,
                                 variant_id=item.variant_id, product_id=item.product_id, user_id=user.id,
                                 reason=reason, status="PENDING")
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError as exc:  # a second request for the same item in the same instant
        raise Conflict("This item already has a replacement request waiting", code="request_open") from exc
    orders.event(order, "replacement_requested", f"Replacement asked for an item of {product.title}: {reason}"[:500],
                 actor=user, request_id=request.id)
    budget = product.auto_replace_max_before_approval
    if not product.auto_replace_enabled:
        request.waiting_reason = "Auto-replace is off for this product"
    elif earlier >= budget:
        request.waiting_reason = f"This order used its {budget} automatic replacement(s)"
    else:
        try:
            with db.session.begin_nested():
                _fulfil(request, order, actor=None, automatic=True)
        except Conflict as exc:
            if exc.code != "out_of_stock":
                raise
            request.waiting_reason = "Out of stock: add stock, then approve"
    db.session.flush()
    return request


# --- staff -----------------------------------------------------------------------------------

def get_request(request_id: str) -> ReplacementRequest:
    row = db.session.get(ReplacementRequest, request_id) if request_id and len(request_id) <= 36 else None
    if row is None:
        raise NotFound("No such replacement request", code="request_not_found")
    return row


def options(variant_id: str, count: int = OPTIONS) -> list[StockItem]:
    """``count`` random available items of a subcategory to choose a replacement from."""
    variant = db.session.get(Variant, variant_id) if variant_id and len(variant_id) <= 36 else None
    if variant is None:
        raise NotFound("No such subcategory", code="subcategory_not_found")
    return list(db.session.scalars(select(StockItem).where(
        StockItem.variant_id == variant_id, StockItem.is_sold.is_(False), StockItem.removed_at.is_(None),
        StockItem.order_id.is_(None)).order_by(func.random()).limit(count)))


def resolve(request: ReplacementRequest, *, actor: User, approve: bool, stock_item_id: str | None = None,
            custom_deliverable: str | None = None, reason: str | None = None) -> ReplacementRequest:
    """Approve (with a chosen item, a custom deliverable, or the next in stock) or deny."""
    if request.status != "PENDING":
        raise Conflict(f"This request was already {request.status.lower()}", code="already_resolved")
    order = orders.get_order(request.order_id, with_lines=False)
    if not approve:
        reason = clean_text(reason, "reason", max_length=500, required=True)
        decided = db.session.execute(
            update(ReplacementRequest).where(ReplacementRequest.id == request.id, ReplacementRequest.status == "PENDING")
            .values(status="DENIED", reason_denied=reason, resolved_by_id=actor.id, resolved_at=_now())
            .execution_options(synchronize_session=False)).rowcount
        if decided != 1:
            raise Conflict("Someone resolved this request meanwhile", code="already_resolved")
        db.session.refresh(request)
        audit.record("replacement.deny", "replacement", request.id, {  # a guarded bulk UPDATE: said here
            "before": {"status": "PENDING"}, "after": {"status": "DENIED", "reason_denied": reason}})
        orders.event(order, "replacement_denied", f"Replacement denied by {actor.username}: {reason}"[:500],
                     actor=actor, request_id=request.id)
        enqueue_after_commit(REPLACEMENT_EMAIL, request.id, queue="emails")
        return request
    custom = custom_deliverable is not None and bool(custom_deliverable.strip())
    if custom:
        if not actor.role_enum.at_least(Role.ADMIN):
            raise Forbidden("Only an admin may deliver a custom item", code="insufficient_role")
        stock_item_id = _custom_item(request, clean_text(custom_deliverable, "custom_deliverable", max_length=2000))
    _fulfil(request, order, actor=actor, automatic=False, stock_item_id=stock_item_id)
    audit.record("replacement.approve", "replacement", request.id, {  # guarded bulk UPDATEs: said here
        "before": {"status": "PENDING"},
        "after": {"status": "APPROVED", "replacement_item_id": request.replacement_item_id, "custom_item": custom}})
    return request


def _custom_item(request: ReplacementRequest, deliverable: str) -> str:
    """An admin's own deliverable becomes a stock item of the subcategory (deduplicated like an
    import: a code the store ever had is refused)."""
    digest = crypto.hasher(request.store_id)(deliverable)
    if db.session.scalar(select(StockItem.id).where(StockItem.deliverable_hash == digest)) is not None:
        raise Conflict("This store already had that code: type a new one", code="duplicate_deliverable",
                       details={"custom_deliverable": ["already in the store"]})
    item = StockItem(variant_id=request.variant_id, product_id=request.product_id, deliverable_hash=digest,
                     deliverable_encrypted=crypto.encrypt(deliverable))
    db.session.add(item)
    db.session.flush()
    db.session.execute(update(Variant).where(Variant.id == request.variant_id)
                       .values(stock_count=Variant.stock_count + 1).execution_options(synchronize_session=False))
    return item.id


def _fulfil(request: ReplacementRequest, order: Order, *, actor: User | None, automatic: bool,
            stock_item_id: str | None = None) -> None:
    """Claim the request (once), take one item (the chosen one, or the next through the
    checkout's allocation), sell it to the order as the replacement, mark the old one replaced."""
    now = _now()
    claimed = db.session.execute(
        update(ReplacementRequest).where(ReplacementRequest.id == request.id, ReplacementRequest.status == "PENDING")
        .values(status="APPROVED", automatic=automatic, resolved_by_id=actor.id if actor else None, resolved_at=now,
                waiting_reason=None).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise Conflict("Someone resolved this request meanwhile", code="already_resolved")
    variant = db.session.get(Variant, request.variant_id) if request.variant_id else None
    line = db.session.get(OrderLine, request.order_line_id) if request.order_line_id else None
    if variant is None or line is None:
        raise Conflict("The product of this item is gone: deliver by hand", code="out_of_stock")
    if stock_item_id:
        taken = db.session.execute(
            update(StockItem).where(StockItem.id == stock_item_id[:36], StockItem.variant_id == variant.id,
                                    StockItem.is_sold.is_(False), StockItem.removed_at.is_(None),
                                    StockItem.order_id.is_(None))
            .values(order_id=order.id, order_line_id=line.id).execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            _why_not_taken(stock_item_id[:36], variant)
        db.session.execute(update(Variant).where(Variant.id == variant.id)
                           .values(stock_count=Variant.stock_count - 1).execution_options(synchronize_session=False))
        new_id = stock_item_id[:36]
    else:
        new_id = stock.allocate(order, line, variant, 1).units[0].id
    db.session.execute(update(StockItem).where(StockItem.id == new_id)
                       .values(is_sold=True, sold_at=now, reserved_until=None, replacement_for_id=request.stock_item_id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(StockItem).where(StockItem.id == request.stock_item_id)
                       .values(replaced_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(ReplacementRequest).where(ReplacementRequest.id == request.id)
                       .values(replacement_item_id=new_id).execution_options(synchronize_session=False))
    db.session.refresh(request)
    who = "automatically" if automatic else f"by {actor.username}"
    orders.event(order, "replaced", f"Item replaced {who} ({variant.title})", actor=actor, request_id=request.id)
    refresh_product_cache(db.session.get(Product, variant.product_id))
    enqueue_after_commit(REPLACEMENT_EMAIL, request.id, queue="emails")


def _why_not_taken(item_id: str, variant: Variant) -> None:
    """Raise why the chosen item could not be taken: unknown or withdrawn (404), of another
    subcategory (422), or sold or held meanwhile (409 ``item_taken``: only then is it a race)."""
    item = db.session.get(StockItem, item_id)
    if item is None or item.removed_at is not None:
        raise NotFound("No such stock item: choose one of the options", code="stock_item_not_found",
                       details={"stock_item_id": ["unknown"]})
    if item.variant_id != variant.id:
        raise Invalid(f"That item is not one of {variant.title}: choose one of its options",
                      code="item_wrong_subcategory", details={"stock_item_id": ["an item of another subcategory"]})
    raise Conflict("That item was just taken: choose another", code="item_taken",
                   details={"stock_item_id": ["no longer available"]})


# --- lists -----------------------------------------------------------------------------------

def list_requests(*, status: str | None = "PENDING", product_id: str | None = None, search: str | None = None,
                  page: int = 1, page_size: int = 20) -> dict:
    stmt = select(ReplacementRequest).order_by(ReplacementRequest.created_at.asc() if status == "PENDING"
                                               else ReplacementRequest.created_at.desc())
    if status:
        stmt = stmt.where(ReplacementRequest.status == status.upper())
    if product_id:
        stmt = stmt.where(ReplacementRequest.product_id == product_id)
    number = orders.order_number_of(search) if search else None
    if number is not None:
        stmt = stmt.join(Order, Order.id == ReplacementRequest.order_id).where(Order.order_number == number)
    return paginate(stmt, page=page, page_size=page_size)


def requests_of(order_id: str) -> list[ReplacementRequest]:
    return list(db.session.scalars(select(ReplacementRequest).where(ReplacementRequest.order_id == order_id)
                                   .order_by(ReplacementRequest.created_at)))


def context_of(requests: list[ReplacementRequest]) -> dict:
    """What a list of requests shows beside each (three queries for the page): orders' numbers
    and buyers, users' names, products' titles, and the original items (masked)."""
    order_ids = {r.order_id for r in requests}
    numbers = orders.numbers_of(order_ids)
    emails = dict(db.session.execute(select(Order.id, Order.email).where(Order.id.in_(order_ids))).all()) \
        if order_ids else {}
    user_ids = {u for r in requests for u in (r.user_id, r.resolved_by_id) if u}
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    product_ids = {r.product_id for r in requests if r.product_id}
    titles = dict(db.session.execute(select(Product.id, Product.title).where(Product.id.in_(product_ids))).all()) \
        if product_ids else {}
    item_ids = {r.stock_item_id for r in requests}
    items = {i.id: i for i in db.session.scalars(select(StockItem).where(StockItem.id.in_(item_ids)))} \
        if item_ids else {}
    variant_ids = {r.variant_id for r in requests if r.variant_id}
    variants = dict(db.session.execute(select(Variant.id, Variant.title).where(Variant.id.in_(variant_ids))).all()) \
        if variant_ids else {}
    return {"numbers": numbers, "emails": emails, "names": names, "titles": titles, "variants": variants,
            "originals": {k: stock.masked(v) for k, v in items.items()}}


def replacement_rates(variant_id: str | None = None) -> dict:
    """How often sold items needed replacing, per import batch and per product: a bad lot from a
    supplier shows as a batch with a high rate. Two GROUP BY queries."""
    sold = func.count(StockItem.id)
    replaced = func.count(StockItem.replaced_at)
    by_batch = select(StockItem.batch_id, sold, replaced).where(StockItem.is_sold.is_(True),
                                                                StockItem.replacement_for_id.is_(None))
    if variant_id:
        by_batch = by_batch.where(StockItem.variant_id == variant_id)
    batches = db.session.execute(by_batch.group_by(StockItem.batch_id)).all()
    names = dict(db.session.execute(select(StockBatch.id, StockBatch.created_at)
                                    .where(StockBatch.id.in_([b for b, _, _ in batches if b]))).all()) \
        if batches else {}
    by_product = db.session.execute(select(StockItem.product_id, Product.title, sold, replaced)
                                    .join(Product, Product.id == StockItem.product_id)
                                    .where(StockItem.is_sold.is_(True), StockItem.replacement_for_id.is_(None))
                                    .group_by(StockItem.product_id, Product.title)).all()

    def rate(s: int, r: int) -> float:
        return round(r / s, 4) if s else 0.0

    return {
        "batches": [{"batch_id": b, "imported_at": names.get(b), "sold": s, "replaced": r, "rate": rate(s, r)}
                    for b, s, r in batches],
        "products": [{"product_id": p, "title": t, "sold": s, "replaced": r, "rate": rate(s, r)}
                     for p, t, s, r in by_product],
    }


def pending_count() -> int:
    """How many requests wait for staff (the dashboard's overview)."""
    return db.session.scalar(select(func.count()).select_from(ReplacementRequest)
                             .where(ReplacementRequest.status == "PENDING")) or 0


def request_products() -> list[tuple[str, str]]:
    """(id, title) of the products that have replacement requests, for the staff page's filter."""
    return [tuple(row) for row in db.session.execute(
        select(Product.id, Product.title).where(Product.id.in_(select(ReplacementRequest.product_id)))
        .order_by(Product.title)).all()]
