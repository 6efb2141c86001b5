"""The order lifecycle: payment turns reservations into sales (once, whatever is replayed),
manual approval, gifts, expiry, legal status changes, the timeline, delivery and its emails."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import Order, OrderAdjustment, OrderEvent, OrderLine, Product, Role, StockItem, Store, User, Variant
from tenancy import current_store_id
from transactions import enqueue_after_commit

from . import addresses, audit, coupons, crypto, moloni, stock
from .cart import check_quantity
from .errors import Conflict, Invalid, NotFound
from .pagination import paginate
from .stores import base_url
from .text import holds
from .variants import refresh_product_cache

# Legal status changes an admin may make by hand (payment, expiry and refunds have their own paths).
MANUAL_TRANSITIONS = {
    "PENDING": {"CANCELLED", "FAILED"},
    "PROCESSING": {"COMPLETED", "CANCELLED"},
    "COMPLETED": set(),
    "FAILED": set(),
    "CANCELLED": set(),
    "EXPIRED": set(),
    "REFUNDED": set(),
}


def _now() -> datetime:
    return datetime.now(UTC)


def event(order: Order, kind: str, message: str, *, actor: User | None = None, **data) -> None:
    db.session.add(OrderEvent(order_id=order.id, kind=kind, message=message[:500],
                              actor_id=actor.id if actor else None, data=data))


def next_number(name: str = "order") -> int:
    """The store's next sequential number. One upsert statement: concurrent takers serialise on
    the counter row and each gets its own value (the first one creates the row)."""
    return db.session.execute(text(
        "INSERT INTO counters (name, store_id, value) VALUES (:name, :store_id, 1) "
        "ON CONFLICT (name, store_id) DO UPDATE SET value = counters.value + 1 RETURNING value"),
        {"name": name, "store_id": current_store_id()}).scalar_one()


def get_order(order_id: str, *, with_lines: bool = True) -> Order:
    stmt = select(Order).where(Order.id == order_id)
    if with_lines:
        stmt = stmt.options(selectinload(Order.lines), selectinload(Order.adjustments))
    order = db.session.scalar(stmt) if order_id else None
    if order is None:
        raise NotFound("No such order", code="order_not_found")
    return order


MAX_ORDER_NUMBER = 2**63 - 1  # order numbers are BIGINT


def order_number_of(value: str | int | None) -> int | None:
    """``42``, ``"42"`` or ``"#42"`` as an order number; None when it cannot be one (not digits,
    zero, or beyond BIGINT: asking the database would be an error, not a miss)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value or "").strip().removeprefix("#")
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            return None
        number = int(text)
    return number if 0 < number <= MAX_ORDER_NUMBER else None


def get_by_number(number: str | int) -> Order:
    number = order_number_of(number)
    if number is None:
        raise NotFound("No such order", code="order_not_found")
    order = db.session.scalar(select(Order).options(selectinload(Order.lines), selectinload(Order.adjustments))
                              .where(Order.order_number == number))
    if order is None:
        raise NotFound("No such order", code="order_not_found")
    return order


def get_by_guest_token(token: str) -> Order:
    """A guest's order by the secret of its link (only its hash is stored)."""
    order = db.session.scalar(select(Order).options(selectinload(Order.lines), selectinload(Order.adjustments))
                              .where(Order.guest_token_hash == crypto.token_hash(token)))
    if order is None:
        raise NotFound("No such order", code="order_not_found")
    return order


def can_view(order: Order, user: User | None) -> bool:
    return user is not None and (order.buyer_id == user.id or Role(user.role).at_least(Role.STAFF))


# --- payment and delivery --------------------------------------------------------------

def mark_paid(order: Order, *, actor: User | None = None, via: str = "", provider_ref: str | None = None,
              lines: list[OrderLine] | None = None, sold: dict[str, stock.Allocation] | None = None,
              revealed_to: tuple[User | None, str | None] | None = None, at: datetime | None = None) -> bool:
    """PENDING+UNPAID -> paid and delivered. Idempotent: a replay (webhook, double click) is a
    no-op returning False. The guarded UPDATE makes two concurrent payments apply once.
    ``lines``: the order's lines, given only by the transaction that has just created the order
    (checkout): nobody else can have changed that order, so it is not read again. ``sold`` (with
    ``lines``): that transaction also sold the units at allocation (``stock.allocate(sell_at=)``),
    per line id: nobody else can see the order before it commits, so it is paid by setting its
    row (one UPDATE with the rest), and the units, their costs and the counts left are known.
    ``revealed_to`` (viewer, ip): the allocation also logged their first reveal (the caller's answer
    shows them): the timeline says so after the payment. ``at``: the moment of payment (that
    checkout's, when it sold the units), else now."""
    now = at or _now()
    if sold is not None and lines is not None:
        order.payment_status, order.paid_at = "PAID", now
        if provider_ref:
            order.provider_ref = provider_ref
    else:
        claimed = db.session.execute(
            update(Order).where(Order.id == order.id, Order.payment_status == "UNPAID", Order.status == "PENDING")
            .values(payment_status="PAID", paid_at=now, provider_ref=provider_ref or Order.provider_ref)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return False
        if lines is None:
            db.session.refresh(order)
            lines = list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
        else:  # this transaction's own new order: what the UPDATE wrote is all that changed
            set_committed_value(order, "payment_status", "PAID")
            set_committed_value(order, "paid_at", now)
            if provider_ref:
                set_committed_value(order, "provider_ref", provider_ref)
    short = 0
    for line in lines:
        if line.kind == "digital":
            if sold is not None:
                delivered = len(sold[line.id].units)
            else:
                delivered = db.session.execute(
                    update(StockItem).where(StockItem.order_line_id == line.id, StockItem.is_sold.is_(False),
                                            StockItem.removed_at.is_(None))
                    .values(is_sold=True, sold_at=now, reserved_until=None)
                    .execution_options(synchronize_session=False)).rowcount
            line.delivered_count = delivered
            short += line.quantity - delivered
    record_sale(order, lines, costs={line_id: stock.costs_of(taken.units) for line_id, taken in sold.items()}
                if sold is not None else None)
    all_digital = all(line.kind == "digital" for line in lines)
    order.status = "COMPLETED" if all_digital and not short else "PROCESSING"
    order.completed_at = now if order.status == "COMPLETED" else None
    order.expires_at = None
    event(order, "paid", f"Paid{(' by ' + via) if via else ''}: {order.total / 100:.2f} {order.currency}", actor=actor)
    if short:
        event(order, "stock_short", f"{short} item(s) could not be delivered: resolve by hand", actor=actor)
    if revealed_to is not None and sold is not None:
        shown = sum(len(taken.units) for taken in sold.values())
        if shown:
            log_reveal(order, shown, viewer=revealed_to[0], ip=revealed_to[1])
    db.session.flush()
    _after_sale(order, lines, sold)
    enqueue_after_commit(ORDER_EMAIL, order.id, queue="emails")
    return True


def record_sale(order: Order, lines: list[OrderLine] | None = None,
                costs: dict[str | None, tuple[int, int]] | None = None) -> None:
    """Copy a sale onto the rows the reports read, in the paying transaction: each line gets the
    order's ``paid_at`` and ``is_gift`` and the cost of the units sold on it; the order the sum
    (``cost_total``, ``cost_known_units``: see ``stock.sold_costs``). Called once the order is
    paid and its units sold; it writes only the order's own rows (no shared counter). Every paid
    transition passes here, so it is also where Moloni's automatic invoice is queued. ``costs``:
    per line, what ``stock.sold_costs`` would read, already known (units sold at allocation)."""
    if lines is None:
        lines = list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
    if costs is None:
        # sold_costs reads stock items and batches, which services only change by bulk UPDATEs (run
        # at once): no need to flush the lines' pending counts first (their UPDATE joins the one below)
        with db.session.no_autoflush:
            costs = stock.sold_costs(order)
    for line in lines:
        line.paid_at, line.is_gift = order.paid_at, order.is_gift
        line.cost, line.cost_known_units = costs.get(line.id, (0, 0))
    order.cost_total = sum(cost for cost, _ in costs.values())
    order.cost_known_units = sum(known for _, known in costs.values())
    moloni.on_paid(order)  # "invoice automatically": the invoice job, queued once


def _after_sale(order: Order, lines: list[OrderLine], sold: dict[str, stock.Allocation] | None = None) -> None:
    """Low-stock alerts once a variant falls under its threshold (``sold``: the counts left are
    known from the allocation, nothing is read)."""
    quantities: dict[str, int] = {}
    for line in lines:
        if line.variant_id:
            quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
    if sold is not None:
        left: dict[str, tuple[int, int]] = {}
        for line in lines:  # the last allocation of a variant saw what every line of it took
            if line.variant_id and line.id in sold:
                left[line.variant_id] = (sold[line.id].stock_left, sold[line.id].low_stock_threshold)
        rows = [(variant_id, count, threshold) for variant_id, (count, threshold) in left.items()]
    else:
        # columns, not entities: a Variant already in the session holds the count from before the
        # bulk decrement of the reservation
        rows = db.session.execute(select(Variant.id, Variant.stock_count, Variant.low_stock_threshold)
                                  .where(Variant.id.in_(list(quantities)))).all()
    for variant_id, count, threshold in rows:
        # alert once: when this sale took the count from at/above the threshold to below it
        if count < threshold <= count + quantities.get(variant_id, 0):
            enqueue_after_commit(LOW_STOCK_EMAIL, variant_id, count, queue="emails")


def approve(order: Order, *, actor: User) -> Order:
    """An admin approves a PENDING order (MANUAL payment received): paid and delivered now."""
    if order.status != "PENDING" or order.payment_status != "UNPAID":
        raise Conflict(f"Only a pending, unpaid order can be approved (this one is {order.status})",
                       code="order_not_pending")
    if not mark_paid(order, actor=actor, via=f"manual approval by {actor.username}"):
        raise Conflict("The order was approved or paid meanwhile", code="order_not_pending")
    audit.record("order.approve", "order", order.id, {  # the payment is a bulk UPDATE: said here
        "before": {"status": "PENDING", "payment_status": "UNPAID"},
        "after": {"status": order.status, "payment_status": order.payment_status}})
    return order


def release_stock(order: Order) -> tuple[int, int]:
    """Give back every unit the order holds but has not bought: (given back, withdrawn).

    A unit of a deleted subcategory (or product) is not given back: its items are withdrawn as the
    delete withdrew the sellable ones (``variants.withdraw_sellable``), and a physical count is not
    restored, so nothing of a deleted subcategory becomes sellable again."""
    released = withdrawn = 0
    now = _now()
    held = (StockItem.order_id == order.id, StockItem.is_sold.is_(False))
    per_variant = db.session.execute(
        select(StockItem.variant_id, Variant.deleted_at.isnot(None), func.count())
        .join(Variant, Variant.id == StockItem.variant_id).where(*held)
        .group_by(StockItem.variant_id, Variant.deleted_at)).all()
    gone = [variant_id for variant_id, deleted, _ in per_variant if deleted]
    if gone:
        withdrawn += db.session.execute(
            update(StockItem).where(*held, StockItem.variant_id.in_(gone))
            .values(order_id=None, order_line_id=None, reserved_until=None, removed_at=now, deliverable_encrypted=None)
            .execution_options(synchronize_session=False)).rowcount
    db.session.execute(update(StockItem).where(*held)
                       .values(order_id=None, order_line_id=None, reserved_until=None)
                       .execution_options(synchronize_session=False))
    for variant_id, deleted, count in per_variant:
        if not deleted:
            db.session.execute(update(Variant).where(Variant.id == variant_id)
                               .values(stock_count=Variant.stock_count + count)
                               .execution_options(synchronize_session=False))
            released += count
    for line in db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.kind == "physical")):
        if line.variant_id:
            back = db.session.execute(update(Variant).where(Variant.id == line.variant_id, Variant.deleted_at.is_(None))
                                      .values(stock_count=Variant.stock_count + line.quantity)
                                      .execution_options(synchronize_session=False)).rowcount
            released += line.quantity if back else 0
            withdrawn += 0 if back else line.quantity
    for product_id in set(db.session.scalars(select(OrderLine.product_id).where(OrderLine.order_id == order.id))):
        if product_id:
            refresh_product_cache(db.session.get(Product, product_id))
    return released, withdrawn


def _end_unpaid(order: Order, status: str, message: str, *, actor: User | None = None, reason: str = "") -> bool:
    """End a PENDING unpaid order (EXPIRED by time, CANCELLED or FAILED by a person): stock and
    coupon use back. A person's doing is emailed to the buyer (with ``reason``), after commit;
    an expiry is not: the buyer let the reservation run out, and the order page says so."""
    now = _now()
    ended = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == "PENDING", Order.payment_status == "UNPAID")
        .values(status=status, cancelled_at=now, expires_at=None).execution_options(synchronize_session=False)).rowcount
    if ended != 1:
        return False
    db.session.refresh(order)
    if actor is not None:  # a bulk UPDATE the audit listener cannot see (expiry has no actor)
        audit.record("order.status", "order", order.id,
                     {"before": {"status": "PENDING"}, "after": {"status": status}})
    released, withdrawn = release_stock(order)
    coupons.release(order)
    gone = f", {withdrawn} withdrawn: their subcategory was deleted" if withdrawn else ""
    event(order, status.lower(), f"{message} ({released} item(s) back in stock{gone})", actor=actor)
    db.session.flush()
    if order.payment_method in ("STRIPE", "HOODPAY"):  # its payment page must not take money any more
        enqueue_after_commit(CLOSE_PAYMENT_PAGES, order.id, queue="default")
    if actor is not None:
        enqueue_after_commit(CANCELLED_EMAIL, order.id, reason, queue="emails")
    return True


def expire_due(limit: int = 200) -> int:
    """Expire unpaid orders of the bound store whose time ran out (run by the cron job, and by
    checkout before it allocates). Returns how many expired."""
    due = list(db.session.scalars(select(Order).where(Order.status == "PENDING", Order.payment_status == "UNPAID",
                                                      Order.expires_at.isnot(None), Order.expires_at < _now())
                                  .order_by(Order.expires_at).limit(limit)))
    return sum(_end_unpaid(order, "EXPIRED", "Expired unpaid") for order in due)


def cancel(order: Order, *, actor: User, reason: str = "") -> Order:
    if order.payment_status != "UNPAID":
        raise Conflict("A paid order is refunded, not cancelled", code="order_paid")
    reason = (reason or "").strip()
    if not _end_unpaid(order, "CANCELLED", "Cancelled" + (f": {reason}" if reason else ""), actor=actor,
                       reason=reason):
        raise Conflict(f"This order cannot be cancelled (it is {order.status})", code="illegal_transition")
    return order


def change_status(order: Order, new_status: str, *, actor: User, note: str = "") -> Order:
    """PUT /api/orders/{id}/status: legal transitions only."""
    new_status = (new_status or "").upper()
    if new_status not in MANUAL_TRANSITIONS:
        raise Invalid("Unknown status", details={"status": list(MANUAL_TRANSITIONS)})
    if new_status not in MANUAL_TRANSITIONS[order.status]:
        raise Conflict(f"An order cannot go from {order.status} to {new_status}", code="illegal_transition",
                       details={"allowed": sorted(MANUAL_TRANSITIONS[order.status])})
    if order.status == "PENDING":
        note = (note or "").strip()
        if not _end_unpaid(order, new_status, f"Marked {new_status.lower()}" + (f": {note}" if note else ""),
                           actor=actor, reason=note):
            raise Conflict("The order changed meanwhile", code="illegal_transition")
        return order
    if new_status == "CANCELLED" and order.payment_status != "UNPAID":
        raise Conflict("A paid order is refunded, not cancelled", code="order_paid")
    old = order.status
    order.status = new_status
    if new_status == "COMPLETED":
        order.completed_at = _now()
    event(order, "status", f"{old} → {new_status}" + (f": {note}" if note else ""), actor=actor)
    db.session.flush()
    return order


def fulfill(order: Order, *, carrier: str, tracking_number: str, tracking_url: str | None = None,
            actor: User) -> Order:
    """Ship the physical items of a paid order: record carrier and tracking (again to correct them).
    A PROCESSING order whose digital lines are all delivered is then COMPLETED."""
    if order.payment_status != "PAID" or order.status not in ("PROCESSING", "COMPLETED"):
        raise Conflict(f"Only a paid order can be fulfilled (this one is {order.status}, {order.payment_status})",
                       code="order_not_paid")
    lines = list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
    if not any(line.kind == "physical" for line in lines):
        raise Conflict("This order has nothing to ship (its items are delivered digitally)", code="nothing_to_ship")
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise Invalid("Carrier and tracking number are needed",
                      details={k: ["required"] for k, v in (("carrier", carrier), ("tracking_number", tracking_number))
                               if not v})
    tracking_url = (tracking_url or "").strip()
    if tracking_url and not tracking_url.lower().startswith(("https://", "http://")):
        raise Invalid("A tracking link starts with https:// or http://", details={"tracking_url": ["not a web address"]})
    again = order.fulfilled_at is not None
    order.carrier, order.tracking_number = carrier[:60], tracking_number[:120]
    order.tracking_url = (tracking_url or "").strip()[:500] or None
    order.fulfilled_at = order.fulfilled_at or _now()
    event(order, "fulfilled", f"{'Tracking updated' if again else 'Shipped'}: {order.carrier} {order.tracking_number}",
          actor=actor, carrier=order.carrier, tracking_number=order.tracking_number, tracking_url=order.tracking_url)
    digital_done = all(line.delivered_count >= line.quantity for line in lines if line.kind == "digital")
    if order.status == "PROCESSING" and digital_done:
        order.status = "COMPLETED"
        order.completed_at = _now()
        event(order, "status", "PROCESSING → COMPLETED (shipped)", actor=actor)
    db.session.flush()
    # the buyer hears of it (with the tracking link), once this commits; a correction sends the new one
    enqueue_after_commit(SHIPPED_EMAIL, order.id, again, queue="emails")
    return order


def gift(recipient: User, variant: Variant, quantity: int, *, actor: User, note: str = "") -> Order:
    """Admin gifting (create-and-approve): an order created, paid and delivered in one step,
    marked as a gift in the recipient's history. Nothing is charged. A physical item is shipped to
    the recipient's default shipping address; without one the gift is refused (422
    ``shipping_address_required``, as a checkout would be): it could not be fulfilled."""
    quantity = check_quantity(quantity)
    product = db.session.get(Product, variant.product_id)
    if variant.deleted_at is not None or product.deleted_at is not None:
        raise NotFound("No such subcategory", code="subcategory_not_found")
    address = None
    if product.kind == "physical":
        saved = addresses.default_address(recipient, "shipping")
        if saved is None:
            raise Invalid(f"{recipient.username} has no default shipping address: ask them to add one to their "
                          "account before gifting a physical item", code="shipping_address_required",
                          details={"shipping_address": ["the recipient has no default shipping address"]})
        address = {name: getattr(saved, name) for name in addresses.FIELDS}
    store = db.session.get(Store, recipient.store_id)
    subtotal = variant.price * quantity
    number = next_number()
    now = _now()  # created and paid at one moment (created_at is not the later flush's time)
    order = Order(created_at=now, order_number=number, buyer_id=recipient.id, email=recipient.email, status="PENDING",
                  payment_status="UNPAID", payment_method="MANUAL", currency=store.currency, subtotal=subtotal,
                  discount_total=subtotal, total=0, item_count=quantity, is_gift=True, gifted_by_id=actor.id,
                  note=(note or "")[:2000], shipping_address=address,
                  cart_snapshot=[{"subcategory_id": variant.id, "product_id": product.id, "product_title": product.title,
                                  "subcategory_title": variant.title, "quantity": quantity, "unit_price": variant.price}])
    db.session.add(order)
    db.session.flush()
    line = OrderLine(order_id=order.id, created_at=now, position=0, product_id=product.id, variant_id=variant.id,
                     kind=product.kind, product_title=product.title, variant_title=variant.title,
                     product_image_url=product.primary_image_url, quantity=quantity, unit_price=variant.price,
                     line_subtotal=subtotal, is_gift=True)
    db.session.add(line)
    db.session.add(OrderAdjustment(order_id=order.id, position=0, kind="gift", label=f"Gift from {actor.username}",
                                   amount=-subtotal))
    db.session.flush()
    stock.allocate(order, line, variant, quantity)
    event(order, "gift", f"Gift of {quantity} × {product.title} – {variant.title} to {recipient.username}", actor=actor)
    refresh_product_cache(product)
    mark_paid(order, actor=actor, via="gift", at=now)
    return order


# --- reading ----------------------------------------------------------------------------

def _sold_items(order: Order) -> list[StockItem]:
    return list(db.session.scalars(select(StockItem).where(StockItem.order_id == order.id, StockItem.is_sold.is_(True))
                                   .order_by(StockItem.sold_at, StockItem.id)))


def log_reveal(order: Order, count: int, *, viewer: User | None, ip: str | None) -> None:
    """The order's timeline says when the buyer first saw ``count`` items (evidence in a dispute)."""
    event(order, "revealed", f"{count} item(s) shown to the buyer for the first time", actor=viewer, ip=ip)


def shown_at_checkout(order: Order, sold: dict[str, stock.Allocation], *, revealed_at: datetime) -> dict[str, list[dict]]:
    """The deliverables of an order paid by the checkout that created it, from what its allocation
    returned (sold and logged as revealed by that statement: ``stock.allocate(revealed=)``), in the
    shape ``deliverables`` gives: nothing is read again."""
    out: dict[str, list[dict]] = {}
    for line_id, taken in sold.items():
        for unit in taken.units:
            if unit.deliverable_encrypted:
                out.setdefault(line_id, []).append(
                    {"id": unit.id, "deliverable": crypto.decrypt(unit.deliverable_encrypted),
                     "sold_at": order.paid_at, "first_revealed_at": revealed_at,
                     "replaced_at": None, "replacement_for_id": None})
    return out


def deliverables(order: Order, *, viewer: User | None, ip: str | None) -> dict[str, list[dict]]:
    """The order's delivered items per line (decrypted); none before it is paid. The first reveal
    of each to the buyer is logged."""
    if order.paid_at is None:
        return {}
    items = _sold_items(order)
    now = _now()
    first = [item.id for item in items if item.first_revealed_at is None]
    buyer_looking = viewer is None or viewer.id == order.buyer_id  # None: a guest with the secret link
    if first and buyer_looking:
        db.session.execute(update(StockItem).where(StockItem.id.in_(first), StockItem.first_revealed_at.is_(None))
                           .values(first_revealed_at=now, first_revealed_ip=ip).execution_options(synchronize_session=False))
        log_reveal(order, len(first), viewer=viewer, ip=ip)
    out: dict[str, list[dict]] = {}
    for item in items:
        if item.deliverable_encrypted:
            out.setdefault(item.order_line_id, []).append(
                {"id": item.id, "deliverable": crypto.decrypt(item.deliverable_encrypted),
                 "sold_at": item.sold_at, "first_revealed_at": item.first_revealed_at or now,
                 "replaced_at": item.replaced_at, "replacement_for_id": item.replacement_for_id})
    return out


def delivered_item(item_id: str) -> str | None:
    """One delivered item, decrypted (a replacement's email)."""
    item = db.session.get(StockItem, item_id)
    return crypto.decrypt(item.deliverable_encrypted) if item is not None and item.deliverable_encrypted else None


def items_text(order: Order, delivered: dict[str, list[dict]]) -> str:
    """The delivered items as a text file: one per line, in the order's line order."""
    lines = [d["deliverable"] for line in order.lines for d in delivered.get(line.id, []) if not d.get("replaced_at")]
    return "\n".join(lines) + ("\n" if lines else "")


def reveal_pending(order: Order, viewer: User | None) -> bool:
    """Whether showing this order's items to ``viewer`` now would log a first reveal (a write)."""
    if order.paid_at is None or (viewer is not None and viewer.id != order.buyer_id):
        return False
    return db.session.scalar(select(StockItem.id).where(StockItem.order_id == order.id, StockItem.is_sold.is_(True),
                                                        StockItem.first_revealed_at.is_(None)).limit(1)) is not None


def timeline(order: Order) -> list[OrderEvent]:
    return list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                   .order_by(OrderEvent.created_at, OrderEvent.id)))


def _bound(value: date | datetime | None, *, end: bool) -> datetime | None:
    """A date filter: a date means its whole UTC day (from its first to its last moment); a
    date-time is taken as it is (UTC when it has no zone)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def list_orders(*, status: str | None = None, payment_status: str | None = None,
                date_from: date | datetime | None = None, date_to: date | datetime | None = None,
                search: str | None = None, buyer_id: str | None = None, sort_by: str = "created_at",
                sort_dir: str = "desc", page: int = 1, page_size: int = 20) -> dict:
    """Orders, filtered and sorted, one page. ``date_from``/``date_to``: see ``_bound``.

    In two steps, so a big store (100,000 orders) answers any page fast: the page's ids and the
    total come from an index alone (``ix_orders_store_<sort>``, whose key is the sort column and
    the id, the tie-breaker in the same direction); then the page's 25 rows are read by id.
    A deep page costs an index walk, not a sort of every row (bench/README.md, "Big stores")."""
    date_from, date_to = _bound(date_from, end=False), _bound(date_to, end=True)
    stmt = select(Order.id)
    if status:
        stmt = stmt.where(Order.status == status.upper())
    if payment_status:
        stmt = stmt.where(Order.payment_status == payment_status.upper())
    if date_from:
        stmt = stmt.where(Order.created_at >= date_from)
    if date_to:
        stmt = stmt.where(Order.created_at <= date_to)
    if buyer_id:
        stmt = stmt.where(Order.buyer_id == buyer_id)
    if search:
        term = search.strip().lower()[:100]
        conds = [holds(Order.email, term), Order.id == term]
        if (number := order_number_of(term)) is not None:
            conds.append(Order.order_number == number)
        buyers = select(User.id).where(holds(User.username, term))
        conds.append(Order.buyer_id.in_(buyers))
        conds.append(Order.id.in_(select(OrderLine.order_id).where(holds(OrderLine.product_title, term))))
        stmt = stmt.where(or_(*conds))
    column = {"created_at": Order.created_at, "total": Order.total, "order_number": Order.order_number,
              "status": Order.status}.get(sort_by, Order.created_at)
    keys = [column] if sort_by == "order_number" else [column, Order.id]  # order numbers are unique
    stmt = stmt.order_by(*(key.asc() if sort_dir == "asc" else key.desc() for key in keys))
    result = paginate(stmt, page=page, page_size=page_size)
    if result["items"]:
        rows = {o.id: o for o in db.session.scalars(select(Order).where(Order.id.in_(result["items"])))}
        result["items"] = [rows[i] for i in result["items"]]
    return result


def _by_order(model, order_ids: list[str]) -> dict[str, list]:
    """Rows of ``model`` (lines or adjustments) of several orders in one query, per order, in position order."""
    out: dict[str, list] = {oid: [] for oid in order_ids}
    if order_ids:
        for row in db.session.scalars(select(model).where(model.order_id.in_(order_ids)).order_by(model.position)):
            out[row.order_id].append(row)
    return out


def lines_of(order_ids: list[str]) -> dict[str, list[OrderLine]]:
    return _by_order(OrderLine, order_ids)


def numbers_of(order_ids) -> dict[str, int]:
    """Order numbers by id (a ledger row names its order by id), in one query."""
    ids = [i for i in order_ids if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(Order.id, Order.order_number).where(Order.id.in_(ids))).all())


def adjustments_of(order_ids: list[str]) -> dict[str, list[OrderAdjustment]]:
    return _by_order(OrderAdjustment, order_ids)



# --- links and emails -------------------------------------------------------------------

ORDER_EMAIL = "jobs.emails.send_order_email"
CLOSE_PAYMENT_PAGES = "jobs.payments.close_payment_pages"
LOW_STOCK_EMAIL = "jobs.emails.send_low_stock_email"
SHIPPED_EMAIL = "jobs.emails.send_shipped_email"
CANCELLED_EMAIL = "jobs.emails.send_cancelled_email"


def order_path(order: Order, guest_token: str | None = None) -> str:
    """The order page: the guest's secret link, or the buyer's account page."""
    if guest_token:
        return f"/orders/guest/{guest_token}"
    return f"/account/orders/{order.order_number}"


def items_path(order: Order, guest_token: str | None = None) -> str:
    """The delivered items of the order page as a .txt download."""
    return order_path(order, guest_token) + "/items.txt"


def order_url(order: Order, guest_token: str | None = None) -> str | None:
    """The order page's absolute address, for emails (the store's own public address). None for a
    guest's order without its secret (only the hash is kept): an account page would ask a guest to
    sign in, so the email points them at the link of their first email instead."""
    if guest_token is None and order.buyer_id is None:
        return None
    return base_url(db.session.get(Store, order.store_id)) + order_path(order, guest_token)


def delivered_codes(order: Order) -> dict[str, list[str]]:
    """The order's delivered items, decrypted, per line (for the confirmation email; no reveal is logged)."""
    items: dict[str, list[str]] = {}
    for item in _sold_items(order):
        if item.deliverable_encrypted:
            items.setdefault(item.order_line_id, []).append(crypto.decrypt(item.deliverable_encrypted))
    return items


def notify_placed(order: Order, guest_token: str | None) -> None:
    """A waiting order tells its buyer so; a guest always gets the secret link (a paid order's
    confirmation is queued by mark_paid)."""
    if order.payment_status == "UNPAID" or guest_token:
        enqueue_after_commit(ORDER_EMAIL, order.id, guest_token=guest_token, placed=True, queue="emails")


def can_resend(order: Order) -> bool:
    """An order ended unpaid (cancelled, expired, failed) has nothing to confirm: its email would
    tell the buyer it still waits for payment."""
    return order.paid_at is not None or order.status not in ("CANCELLED", "EXPIRED", "FAILED")


def resend_confirmation(order: Order, *, actor: User) -> None:
    if not can_resend(order):
        raise Conflict(f"Order #{order.order_number} is {order.status.lower()} and was never paid: "
                       "there is no confirmation to send", code="order_not_confirmable")
    event(order, "email", "Confirmation email sent again", actor=actor)
    enqueue_after_commit(ORDER_EMAIL, order.id, queue="emails")
