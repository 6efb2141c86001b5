"""Digital stock: import (add or set), clear, list (masked), reveal, and the cached counts.

Import streams lines in chunks: blank lines and surrounding whitespace are dropped; a
deliverable seen earlier in the same file, or ever held by this store (sold, unsold or
withdrawn), is skipped and counted. Withdrawn items keep their keyed hash (not their
ciphertext), so a code is never imported or sold twice.
"""
from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, or_, select, text, update

from extensions import db
from models import Order, OrderLine, Product, StockBatch, StockItem, User, Variant
from models.base import UTCDateTime, new_id

from . import audit, crypto
from .errors import Conflict, Invalid, NotFound
from .pagination import paginate
from .text import CONTROL_MESSAGE, has_control_chars
from .variants import available_filter, refresh_product_cache

CHUNK = 2000
MAX_DELIVERABLE = 2000  # characters


@dataclass
class ImportResult:
    batch: StockBatch
    added: int
    duplicate_in_file: int
    already_known: int
    removed: int
    total_lines: int
    stock_count: int


def split_lines(source: Iterable[str] | str | bytes, delimiter: str | None = None) -> Iterator[str]:
    """Deliverables from pasted text, an uploaded file (bytes) or an iterable of lines.

    ``delimiter`` None: one per line. Otherwise split each line on it (CSV quoting respected
    for ``,`` and ``;``); every non-empty field is a deliverable.
    """
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid("The file must be UTF-8 text", code="invalid_file", details={"file": ["not UTF-8"]}) from exc
    lines = io.StringIO(source) if isinstance(source, str) else source
    if delimiter in (None, "", "\\n", "newline"):
        for line in lines:
            value = line.strip()
            if value:
                yield value
        return
    if delimiter in (",", ";", "\t"):
        for row in csv.reader(lines, delimiter=delimiter):
            for value in row:
                value = value.strip()
                if value:
                    yield value
        return
    for line in lines:
        for value in line.split(delimiter):
            value = value.strip()
            if value:
                yield value


def _chunks(values: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check_import(source, delimiter: str | None = None) -> int:
    """Read the whole list once before anything is written: an empty list, a deliverable that is
    too long or holds a control character is refused, with its place. Returns how many there are."""
    total = 0
    for value in split_lines(source, delimiter):
        total += 1
        if len(value) > MAX_DELIVERABLE:
            raise Invalid(f"A deliverable is longer than {MAX_DELIVERABLE} characters (line {total})",
                          code="deliverable_too_long")
        if has_control_chars(value):
            raise Invalid(f"Deliverable {total} {CONTROL_MESSAGE}", code="control_character",
                          details={"stock": [f"deliverable {total}"]})
    if total == 0:
        raise Invalid("There is nothing to import: the list is empty", code="empty_import",
                      details={"deliverables": ["empty"]})
    return total


def import_stock(variant: Variant, source, *, mode: str = "add", delimiter: str | None = None,
                 note: str = "", supplier: str | None = None, unit_cost: int | None = None,
                 created_by: User | None = None, progress=None) -> ImportResult:
    """Add deliverables to a digital variant; ``mode="set"`` replaces every unsold item.

    The list is checked whole first (``check_import``), so a refusal writes nothing. Then it is
    written in chunks of CHUNK; after each one the stock count and the batch's counts are up to
    date, and ``progress(done)`` is called: the caller may end the transaction there
    (``transactions.yield_write_lock``: on SQLite a long import then never holds the one write
    lock for more than a chunk; the import is idempotent by hash, so one cut short is simply
    sent again)."""
    if mode not in ("add", "set"):
        raise Invalid("mode must be add or set", details={"mode": ["invalid"]})
    product = db.session.get(Product, variant.product_id)
    if product.kind != "digital":
        raise Invalid("Only digital products have stock items; set the inventory count instead",
                      code="not_digital")
    if unit_cost is not None and (unit_cost < 0 or unit_cost > 10**12):
        raise Invalid("unit_cost cannot be negative", details={"unit_cost": ["invalid"]})
    if not isinstance(source, str | bytes | list | tuple):
        source = list(source)  # read twice: checked, then written
    check_import(source, delimiter)
    store_id = variant.store_id
    digest = crypto.hasher(store_id)
    encrypt = crypto.encryptor()
    batch = StockBatch(variant_id=variant.id, created_by_id=created_by.id if created_by else None,
                       note=(note or "")[:255], supplier=(supplier or None) and supplier[:120],
                       unit_cost=unit_cost, mode=mode)
    db.session.add(batch)
    db.session.flush()

    seen: set[bytes] = set()
    kept: set[bytes] = set()  # set mode: unsold items of this variant that the new list keeps
    total = added = dup_file = known = 0
    for chunk in _chunks(split_lines(source, delimiter), CHUNK):
        rows: dict[bytes, str] = {}
        for value in chunk:
            total += 1
            h = digest(value)
            if h in seen:
                dup_file += 1
                continue
            seen.add(h)
            rows[h] = value
        if not rows:
            _chunk_done(batch, total, added, dup_file, known, progress)
            continue
        existing = db.session.execute(
            select(StockItem.deliverable_hash, StockItem.variant_id, StockItem.is_sold, StockItem.removed_at)
            .where(StockItem.deliverable_hash.in_(list(rows)))
        ).all()
        for h, variant_id, is_sold, removed_at in existing:
            rows.pop(h, None)
            if mode == "set" and variant_id == variant.id and not is_sold and removed_at is None:
                kept.add(h)
            else:
                known += 1
        if rows:
            _bulk_insert([(new_id(), store_id, variant.id, variant.product_id, batch.id, encrypt(value), h)
                          for h, value in rows.items()])
            added += len(rows)
            _shift_stock_count(variant, len(rows))  # the count moves with each chunk written
        _chunk_done(batch, total, added, dup_file, known, progress)
    removed = 0
    if mode == "set":
        removed = _withdraw(variant, keep_hashes=kept, except_batch=batch.id)
    batch.total_lines, batch.added, batch.duplicate_in_file = total, added, dup_file
    batch.already_known, batch.removed = known + (len(kept) if mode == "add" else 0), removed
    count = _shift_stock_count(variant, -removed)
    db.session.flush()
    audit.record("stock.import", "variant", variant.id, {  # the summary, never the codes
        "batch_id": batch.id, "product_id": variant.product_id, "mode": mode, "total_lines": total, "added": added,
        "duplicate_in_file": dup_file, "already_known": batch.already_known, "removed": removed,
        "stock_count": count, "unit_cost": unit_cost, "supplier": batch.supplier, "note": batch.note})
    return ImportResult(batch, added, dup_file, batch.already_known, removed, total, count)


def _chunk_done(batch: StockBatch, total: int, added: int, dup_file: int, known: int, progress) -> None:
    batch.total_lines, batch.added, batch.duplicate_in_file, batch.already_known = total, added, dup_file, known
    db.session.flush()
    if progress:
        progress(total)


_COLUMNS = ("id", "store_id", "variant_id", "product_id", "batch_id", "deliverable_encrypted", "deliverable_hash")


def _bulk_insert(rows: list[tuple]) -> None:
    """Insert new stock rows (store_id given explicitly: this bypasses the ORM, see tenancy.py).

    PostgreSQL: COPY (about 10x faster than executemany). SQLite: one executemany.
    A concurrent import of the same code hits the unique (store_id, deliverable_hash) index and
    the whole import rolls back with a conflict: nothing is half-written.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY stock_items ({', '.join(_COLUMNS)}, is_sold, created_at) FROM STDIN") as copy:
            now = datetime.now(UTC)
            for row in rows:
                copy.write_row((*row, False, now))
        return
    table = StockItem.__table__
    now = datetime.now(UTC).replace(tzinfo=None)
    connection.execute(table.insert(), [dict(zip(_COLUMNS, row, strict=True), is_sold=False, created_at=now)
                                        for row in rows])


def _withdraw(variant: Variant, *, keep_hashes: set[bytes] | None = None, except_batch: str | None = None) -> int:
    """Withdraw unsold items of a variant (keeping ``keep_hashes`` and the items of ``except_batch``)."""
    now = datetime.now(UTC)
    # only sellable items: an item an unpaid order holds stays with that order
    conditions = [StockItem.variant_id == variant.id, available_filter()]
    if except_batch:
        conditions.append(or_(StockItem.batch_id.is_(None), StockItem.batch_id != except_batch))
    if not keep_hashes:
        return db.session.execute(update(StockItem).where(*conditions)
                                  .values(removed_at=now, deliverable_encrypted=None)
                                  .execution_options(synchronize_session=False)).rowcount
    candidates = [item_id for item_id, h in db.session.execute(
        select(StockItem.id, StockItem.deliverable_hash).where(*conditions)) if h not in keep_hashes]
    removed = 0
    for start in range(0, len(candidates), CHUNK):
        removed += db.session.execute(update(StockItem).where(StockItem.id.in_(candidates[start:start + CHUNK]))
                                      .values(removed_at=now, deliverable_encrypted=None)
                                      .execution_options(synchronize_session=False)).rowcount
    return removed


def _shift_stock_count(variant: Variant, delta: int) -> int:
    """Move the cached count by an exact delta in one statement (a concurrent checkout's own
    decrement is never overwritten, as a recount from this transaction's snapshot could)."""
    if delta:
        db.session.execute(update(Variant).where(Variant.id == variant.id)
                           .values(stock_count=Variant.stock_count + delta).execution_options(synchronize_session=False))
    db.session.refresh(variant, ["stock_count"])
    refresh_product_cache(db.session.get(Product, variant.product_id))
    return variant.stock_count


def clear_stock(variant: Variant) -> int:
    """Withdraw every sellable item (sold ones stay for order history, held ones with their order)."""
    removed = _withdraw(variant)
    count = _shift_stock_count(variant, -removed)
    audit.record("stock.clear", "variant", variant.id, {"removed": removed, "stock_count": count})
    return removed


def delete_stock_item(item_id: str) -> StockItem:
    item = db.session.get(StockItem, item_id)
    if item is None or item.removed_at is not None:
        raise NotFound("No such stock item", code="stock_item_not_found")
    if item.is_sold:
        raise Invalid("A sold item stays with its order", code="stock_item_sold")
    if item.order_id is not None:
        raise Invalid("An unpaid order holds this item; it comes back if the order expires", code="stock_item_held")
    item.removed_at = datetime.now(UTC)
    item.deliverable_encrypted = None
    db.session.flush()
    _shift_stock_count(db.session.get(Variant, item.variant_id), -1)
    audit.record("stock.remove", "stock_item", item.id, {"variant_id": item.variant_id})
    return item


def sync_stock_count(variant: Variant) -> int:
    """Recount the cached ``stock_count`` of a digital variant (and its product's total)."""
    product = db.session.get(Product, variant.product_id)
    if product.kind == "digital":
        count = db.session.scalar(select(func.count()).select_from(StockItem)
                                  .where(StockItem.variant_id == variant.id, available_filter())) or 0
        variant.stock_count = count
        db.session.flush()
    refresh_product_cache(product)
    return variant.stock_count


def list_stock(variant: Variant, *, status: str = "available", page: int = 1, page_size: int = 50) -> dict:
    """Items of a variant: ``available``, ``sold``, ``removed`` or ``all`` (newest first)."""
    stmt = select(StockItem).where(StockItem.variant_id == variant.id)
    if status == "available":
        stmt = stmt.where(available_filter())
    elif status == "sold":
        stmt = stmt.where(StockItem.is_sold.is_(True))
    elif status == "removed":
        stmt = stmt.where(StockItem.removed_at.isnot(None))
    elif status == "reserved":
        stmt = stmt.where(StockItem.is_sold.is_(False), StockItem.removed_at.is_(None), StockItem.order_id.isnot(None))
    elif status != "all":
        raise Invalid("status must be available, reserved, sold, removed or all", details={"status": ["invalid"]})
    return paginate(stmt.order_by(StockItem.created_at.desc(), StockItem.id), page=page, page_size=page_size)


def item_state(item: StockItem) -> str:
    if item.removed_at is not None:
        return "removed"
    if item.is_sold:
        return "sold"
    if item.order_id is not None:
        return "reserved"
    return "available"


def reveal(item: StockItem) -> str | None:
    return crypto.decrypt(item.deliverable_encrypted) if item.deliverable_encrypted else None


def masked(item: StockItem) -> str | None:
    plain = reveal(item)
    return crypto.mask(plain) if plain is not None else None


def list_batches(variant: Variant) -> list[StockBatch]:
    return list(db.session.scalars(select(StockBatch).where(StockBatch.variant_id == variant.id)
                                   .order_by(StockBatch.created_at.desc())))


def get_stock_item(item_id: str) -> StockItem:
    item = db.session.get(StockItem, item_id) if item_id else None
    if item is None:
        raise NotFound("No such stock item", code="stock_item_not_found")
    return item


# --- allocation ---------------------------------------------------------------------------

@dataclass
class Allocation:
    """What ``allocate`` took: the stock items (none for a physical variant) and the variant's count
    after it with its low-stock threshold (the alert's test needs no read of the variant)."""

    units: list[Unit]
    stock_left: int
    low_stock_threshold: int

    @property
    def ids(self) -> list[str]:
        return [unit.id for unit in self.units]


@dataclass(frozen=True)
class Unit:
    """One allocated stock item: its id, its ciphertext and its batch's unit cost (None: unknown)."""

    id: str
    deliverable_encrypted: str | None
    unit_cost: int | None


@functools.cache
def _allocation_statement(dialect: str, selling: bool, revealing: bool):
    """The allocation UPDATE, built once per form. Raw SQL on purpose (the hottest statement of the
    shop): it names store_id itself."""
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    sold = ", is_sold = :true, sold_at = :sold_at" if selling else ""
    shown = ", first_revealed_at = :revealed_at, first_revealed_ip = :revealed_ip" if revealing else ""
    return text(f"""
        UPDATE stock_items SET order_id = :order_id, order_line_id = :line_id, reserved_until = :until{sold}{shown}
        WHERE id IN (
            SELECT id FROM stock_items
            WHERE store_id = :store_id AND variant_id = :variant_id
              AND is_sold = :false AND removed_at IS NULL AND order_id IS NULL
            ORDER BY id LIMIT :quantity {lock})
        RETURNING id, deliverable_encrypted,
            (SELECT unit_cost FROM stock_batches WHERE stock_batches.id = stock_items.batch_id)""").bindparams(
        *(bindparam(name, type_=UTCDateTime()) for name, used in
          (("until", True), ("sold_at", selling), ("revealed_at", revealing)) if used))


# the variant's count after a digital allocation (its items were just taken), built once
_TAKE_FROM_VARIANT = (update(Variant).where(Variant.id == bindparam("variant_id"))
                      .values(stock_count=Variant.stock_count - bindparam("quantity"))
                      .execution_options(synchronize_session=False)
                      .returning(Variant.stock_count, Variant.low_stock_threshold))


def allocate(order: Order, line: OrderLine, variant: Variant, quantity: int, *,
             sell_at: datetime | None = None, revealed: tuple[datetime, str | None] | None = None) -> Allocation:
    """Reserve ``quantity`` units of a variant for an order line (checkout, a late payment, a
    replacement); a shortfall raises and the caller's savepoint or transaction rolls back.

    ``sell_at``: the order is paid in this same transaction (a checkout by balance), so the units
    are sold at once instead of reserved and then sold by ``orders.mark_paid`` (one UPDATE of the
    rows, not two); ``revealed`` (when, ip): the caller shows them to the buyer in its answer, so
    their first reveal is logged by the same statement. The statement returns each unit's
    ciphertext and batch cost, and the variant's UPDATE its count left: nothing is read again."""
    if line.kind == "physical":
        left = db.session.execute(
            update(Variant).where(Variant.id == variant.id, Variant.stock_count >= quantity)
            .values(stock_count=Variant.stock_count - quantity).execution_options(synchronize_session=False)
            .returning(Variant.stock_count, Variant.low_stock_threshold)).first()
        if left is None:
            raise Conflict(f"Only {variant.stock_count} of {variant.title} left", code="out_of_stock",
                           details={"subcategory_id": variant.id, "requested": quantity})
        return Allocation([], left[0], left[1])
    statement = _allocation_statement(db.session.get_bind().dialect.name, sell_at is not None, revealed is not None)
    params = {"order_id": order.id, "line_id": line.id, "until": None if sell_at else order.expires_at,
              "store_id": order.store_id, "variant_id": variant.id, "quantity": quantity, "false": False}
    if sell_at is not None:
        params.update(true=True, sold_at=sell_at)
    if revealed is not None:
        params.update(revealed_at=revealed[0], revealed_ip=revealed[1])
    rows = db.session.execute(statement, params).all()
    if len(rows) < quantity:
        raise Conflict(f"Only {len(rows)} of {variant.title} left", code="out_of_stock",
                       details={"subcategory_id": variant.id, "requested": quantity, "available": len(rows)})
    left = db.session.execute(_TAKE_FROM_VARIANT, {"variant_id": variant.id, "quantity": quantity}).one()
    units = sorted((Unit(row[0], row[1], row[2]) for row in rows), key=lambda unit: unit.id)
    return Allocation(units, left[0], left[1])


def costs_of(units: list[Unit]) -> tuple[int, int]:
    """(summed unit cost, units with a known cost) of units just sold: what ``sold_costs`` reads
    back for an order's line, from the allocation's own answer."""
    known = [unit.unit_cost for unit in units if unit.unit_cost is not None]
    return sum(known), len(known)


def sold_costs(order: Order) -> dict[str | None, tuple[int, int]]:
    """Per order line: (the summed unit costs of the units sold to the order on it, how many of
    those units have a known cost). Replacements are not in it (they cost in the bucket of their
    own ``sold_at``); a unit whose batch has no cost adds nothing to either."""
    rows = db.session.execute(
        select(StockItem.order_line_id, func.coalesce(func.sum(StockBatch.unit_cost), 0), func.count(StockBatch.unit_cost))
        .outerjoin(StockBatch, StockBatch.id == StockItem.batch_id)
        .where(StockItem.order_id == order.id, StockItem.is_sold.is_(True), StockItem.replacement_for_id.is_(None))
        .group_by(StockItem.order_line_id)).all()
    return {line_id: (int(cost), int(known)) for line_id, cost, known in rows}
