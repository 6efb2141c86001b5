"""A big store for load and scale tests (``flask --app app seed-load``, ``bench/big_store.py``):
N products (one variant each), M stock items and K orders with their lines, written in bulk.

PostgreSQL: ``COPY ... FROM STDIN`` through psycopg's copy. SQLite: ``executemany`` of the raw
driver in batches of 50,000. The rows are what the app writes itself:
- every stock item has its own deliverable, Fernet-encrypted (so a buyer can reveal it) and its
  keyed hash (``crypto.hasher``, unique per store as ``stock.import_stock`` keeps it);
- a variant's ``stock_count`` and its product's ``stock_total`` count its sellable items;
- a paid order has one line, one sold item and the sale columns ``orders.record_sale`` writes
  (``paid_at`` and ``is_gift`` on the line, the batch's unit cost); 1 in 25 orders is cancelled
  or expired unpaid (no item), 1 in 100 refunded;
- the store's order counter continues after the last number.
The store must be new (or empty): the seed does not merge with existing rows.
"""
from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from extensions import db
from models import Store

from . import crypto

SQLITE_BATCH = 50_000
SEEDED_TABLES = ("categories", "products", "variants", "stock_batches", "users", "orders", "order_lines", "stock_items")

WORDS = ("Steam", "Gift", "Card", "Netflix", "Spotify", "Office", "Game", "Key", "Premium", "Pro", "Xbox",
         "PlayStation", "Nintendo", "Wallet", "Voucher", "Licence", "Antivirus", "VPN", "Cloud", "Music",
         "Starter", "Deluxe", "Gold", "Silver", "Ultimate", "Bundle", "Pack", "Season", "Pass", "Coins")


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Writer:
    """Rows into a table: COPY on PostgreSQL, executemany on SQLite (values converted as
    SQLAlchemy stores them there: naive UTC date-times, booleans as 0/1)."""

    def __init__(self):
        self.raw = db.session.connection().connection.dbapi_connection
        self.pg = db.engine.dialect.name == "postgresql"

    def write(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        n = 0
        if self.pg:
            with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cur = self.raw.cursor()
        batch: list[tuple] = []
        for row in rows:
            batch.append(tuple(_sqlite(v) for v in row))
            if len(batch) >= SQLITE_BATCH:
                cur.executemany(sql, batch)
                n += len(batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
            n += len(batch)
        cur.close()
        return n


def _sqlite(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def seed_load(store: Store, *, products: int = 10_000, items: int = 1_000_000, orders: int = 100_000,
              customers: int = 5_000, seed: int = 16, echo=None) -> dict:
    """Fill ``store`` (new, empty) and flush; the caller commits. Returns the counts and the
    seconds each table took."""
    if items < orders:
        raise ValueError("items must be at least orders (each paid order sells one item)")
    echo = echo or (lambda _msg: None)
    rng = random.Random(f"{seed}:{store.id}")  # ids differ between stores
    now = datetime.now(UTC)
    sid = store.id
    out = _Writer()
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str, t0: float) -> None:
        timings[name] = time.perf_counter() - t0
        echo(f"  {name:<14} {timings[name]:6.1f} s")

    # categories, products, variants, one stock batch per variant
    t0 = time.perf_counter()
    cats = [(_id(rng), sid, f"Category {i}", f"category-{i}", "#6366f1", "", 0, True, now, now) for i in range(20)]
    out.write("categories", ("id", "store_id", "title", "slug", "hex_code", "description", "sort_order", "is_active",
                             "created_at", "updated_at"), cats)
    prods, variants, batches = [], [], []
    for i in range(products):
        title = f"{WORDS[i % 30]} {WORDS[(i // 30) % 30]} {i}"
        price = 100 + rng.randrange(10_000)
        created = now - timedelta(days=400) + timedelta(seconds=i * 60)
        prods.append([_id(rng), sid, title, f"product-{i}", cats[i % 20][0], price, created])
        variants.append([_id(rng), sid, prods[-1][0], "Standard", price, created])
        batches.append((_id(rng), sid, variants[-1][0], 100 + price // 3 if i % 2 == 0 else None))
    # the items: one sold per paid order, the rest sellable, spread evenly over the variants
    plans = []  # (order number, variant index, status, payment status, paid_at or None)
    for number in range(1, orders + 1):
        k = rng.randrange(products)
        placed = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        if number % 25 == 7:
            plans.append((number, k, "CANCELLED" if number % 2 else "EXPIRED", "UNPAID", placed, None))
        elif number % 100 == 3:
            plans.append((number, k, "REFUNDED", "REFUNDED", placed, placed))
        else:
            plans.append((number, k, "COMPLETED", "PAID", placed, placed))
    sold = sum(1 for p in plans if p[5] is not None)
    unsold = items - sold
    sellable = [unsold // products + (1 if i < unsold % products else 0) for i in range(products)]
    out.write("products", ("id", "store_id", "title", "slug", "description", "category_id", "is_enabled",
                           "is_featured", "kind", "tax_class", "replace_enabled", "auto_replace_enabled",
                           "auto_replace_max_before_approval", "warranty_time", "view_count", "average_rating",
                           "review_count", "starting_at", "stock_total", "primary_image_url", "sort_order",
                           "created_at", "updated_at"),
              ((p[0], sid, p[2], p[3], "", p[4], True, i % 50 == 0, "digital", "standard", True, False, 3, 86400,
                0, 0.0, 0, p[5], sellable[i], "/static/favicon.svg", 0, p[6], p[6]) for i, p in enumerate(prods)))
    out.write("variants", ("id", "store_id", "product_id", "title", "price", "min_quantity", "max_quantity",
                           "is_active", "stock_count", "low_stock_threshold", "sort_order", "created_at", "updated_at"),
              ((v[0], sid, v[2], v[3], v[4], 1, 0, True, sellable[i], 5, 0, v[5], v[5]) for i, v in enumerate(variants)))
    out.write("stock_batches", ("id", "store_id", "variant_id", "note", "unit_cost", "mode", "total_lines", "added",
                                "duplicate_in_file", "already_known", "removed", "created_at"),
              ((b[0], sid, b[2], "seed-load", b[3], "add", 0, 0, 0, 0, 0, now - timedelta(days=400)) for b in batches))
    lap("catalog", t0)

    t0 = time.perf_counter()
    users = [(_id(rng), sid, f"buyer{i}", f"buyer{i}@example.com", now - timedelta(days=rng.randint(0, 500)))
             for i in range(customers)]
    out.write("users", ("id", "store_id", "username", "full_name", "phone", "email", "password_hash", "role",
                        "discount_bps", "balance", "is_active", "token_version", "note", "created_at"),
              ((u[0], sid, u[2], "", "", u[3], "!", "USER", 0, 0, True, 0, "", u[4]) for u in users))
    lap("users", t0)

    t0 = time.perf_counter()
    order_rows, line_rows, sold_rows = [], [], []
    for number, k, status, pay, placed, paid in plans:
        oid, lid = _id(rng), _id(rng)
        p, v, b = prods[k], variants[k], batches[k]
        price = v[4]
        buyer = users[rng.randrange(customers)] if customers and number % 10 else None
        gift = number % 100 == 50
        cost, known = ((b[3], 1) if b[3] is not None else (0, 0)) if paid else (0, 0)
        refunded = price if status == "REFUNDED" else 0
        order_rows.append((oid, sid, number, buyer[0] if buyer else None, buyer[3] if buyer else f"guest{number}@example.com",
                           status, pay, "BALANCE" if buyer else "MANUAL", store.currency, price, 0, 0, 0, price, 1, gift,
                           "[]", refunded, cost, known, "", paid, paid if status != "CANCELLED" and paid else None,
                           placed if status == "CANCELLED" else None, placed, placed,
                           placed if status == "REFUNDED" else None))
        line_rows.append((lid, sid, oid, 0, p[0], v[0], "digital", p[2], v[3], 1, price, price, 1 if paid else 0,
                          paid, gift, cost, known, placed))
        if paid:
            sold_rows.append((oid, lid, k, paid))
    out.write("orders", ("id", "store_id", "order_number", "buyer_id", "email", "status", "payment_status",
                         "payment_method", "currency", "subtotal", "discount_total", "tax_total", "shipping_total",
                         "total", "item_count", "is_gift", "cart_snapshot", "amount_refunded", "cost_total",
                         "cost_known_units", "note", "paid_at", "completed_at", "cancelled_at", "created_at",
                         "updated_at", "refunded_at"), order_rows)
    out.write("order_lines", ("id", "store_id", "order_id", "position", "product_id", "variant_id", "kind",
                              "product_title", "variant_title", "quantity", "unit_price", "line_subtotal",
                              "delivered_count", "paid_at", "is_gift", "cost", "cost_known_units", "created_at"), line_rows)
    lap("orders", t0)

    t0 = time.perf_counter()
    digest, encrypt = crypto.hasher(sid), crypto.encryptor()
    created = now - timedelta(days=400)

    def item_rows():
        serial = 0
        for oid, lid, k, paid in sold_rows:
            serial += 1
            code = f"LOAD-{serial:09d}-{rng.getrandbits(32):08x}"
            yield (_id(rng), sid, variants[k][0], prods[k][0], batches[k][0], encrypt(code), digest(code), True, paid,
                   oid, lid, created)
        for k in range(products):
            v, p, b = variants[k][0], prods[k][0], batches[k][0]
            for _ in range(sellable[k]):
                serial += 1
                code = f"LOAD-{serial:09d}-{rng.getrandbits(32):08x}"
                yield (_id(rng), sid, v, p, b, encrypt(code), digest(code), False, None, None, None, created)

    n_items = out.write("stock_items", ("id", "store_id", "variant_id", "product_id", "batch_id",
                                        "deliverable_encrypted", "deliverable_hash", "is_sold", "sold_at", "order_id",
                                        "order_line_id", "created_at"), item_rows())
    lap("stock_items", t0)

    t0 = time.perf_counter()
    out.write("counters", ("name", "store_id", "value"), [("order", sid, orders)])
    db.session.expire_all()
    _analyze(out)
    lap("analyze", t0)
    timings["total"] = time.perf_counter() - started
    return {"products": products, "stock_items": n_items, "orders": orders, "customers": customers,
            "seconds": timings}


def _analyze(out: _Writer) -> None:
    """Fresh statistics, as autovacuum would gather after a bulk load (the planner needs them)."""
    cur = out.raw.cursor()
    for table in SEEDED_TABLES:
        cur.execute(f"ANALYZE {table}")
    cur.close()


def vacuum_analyze() -> None:
    """After the seed is committed: on PostgreSQL, what autovacuum does after a bulk load (the
    visibility map lets index-only scans skip the table; fresh statistics). SQLite: ANALYZE."""
    if db.engine.dialect.name != "postgresql":
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # SKIP_LOCKED: a table another transaction holds locked is left to autovacuum
        conn.exec_driver_sql(f"VACUUM (ANALYZE, SKIP_LOCKED) {', '.join(SEEDED_TABLES)}")
