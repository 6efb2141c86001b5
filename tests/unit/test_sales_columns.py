"""The columns the reports sum (``orders.cost_total``, ``cost_known_units``; ``order_lines.paid_at``,
``is_gift``, ``cost``, ``cost_known_units``) are written by the services that sell (a balance
checkout, a manual approval, a gift), and the overview's cost from them equals the cost computed
the old way, by joining the sold stock items to their batches."""
from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import and_, func, select, update

from extensions import db
from models import Order, OrderLine, Product, StockBatch, StockItem, Store, User, Variant
from services import analytics, balance, checkout, orders, replacements, reports, stock
from services import cart as cart_service
from services import products as product_service
from tenancy import tenant_scope

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop(app, store, make):
    """Alpha (10.00): 2 codes that cost 3.00 and 2 that cost 2.50; Beta (4.00): 3 codes of unknown
    cost; a buyer with 100.00 of balance and an admin."""
    with app.app_context(), tenant_scope(store):
        ids = {}
        for title, price, imports in (("Alpha", 1000, [("A-1\nA-2", 300), ("A-3\nA-4", 250)]),
                                      ("Beta", 400, [("B-1\nB-2\nB-3", None)])):
            product = product_service.create_product({"title": title, "variants": [{"title": "x", "price": price}]})
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            for codes, cost in imports:
                stock.import_stock(variant, codes, unit_cost=cost)
            ids[title] = (product.id, variant.id)
        db.session.execute(update(Product).where(Product.id == ids["Alpha"][0])
                           .values(auto_replace_enabled=True, auto_replace_max_before_approval=1))
        db.session.commit()
    buyer = make.user(store, username="buyer", email="buyer@example.com")
    admin = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    with app.app_context(), tenant_scope(store):
        balance.credit(buyer.id, 10000, "topup", reason="test")
        db.session.commit()
    return {"ids": ids, "buyer_id": buyer.id, "admin_id": admin.id}


def _place(store, shop, method: str, quantities: dict[str, int]) -> Order:
    buyer = db.session.get(User, shop["buyer_id"])
    cart = cart_service.get_cart(user=buyer)
    for title, quantity in quantities.items():
        cart_service.add_item(cart, shop["ids"][title][1], quantity)
    return checkout.place_order(db.session.get(Store, store.id), cart, buyer=buyer, method=method).order


def _lines(order_id: str) -> dict[str, tuple]:
    return {line.product_title: (line.paid_at, line.is_gift, line.cost, line.cost_known_units)
            for line in db.session.scalars(select(OrderLine).where(OrderLine.order_id == order_id))}


def _old_way(p) -> tuple[int, int]:
    """(cost, units with a known cost) as the reports computed them before the columns: the sold
    stock items of the period's sales joined to their batches, plus the replacements handed out."""
    sold = db.session.execute(
        select(func.coalesce(func.sum(StockBatch.unit_cost), 0), func.count(StockBatch.unit_cost))
        .select_from(Order).join(StockItem, and_(StockItem.order_id == Order.id, StockItem.is_sold.is_(True),
                                                 StockItem.replacement_for_id.is_(None)))
        .outerjoin(StockBatch, StockBatch.id == StockItem.batch_id)
        .where(analytics.sales_filter(p.start, p.end))).one()
    replaced = db.session.execute(
        select(func.coalesce(func.sum(StockBatch.unit_cost), 0), func.count(StockBatch.unit_cost))
        .select_from(StockItem).outerjoin(StockBatch, StockBatch.id == StockItem.batch_id)
        .where(StockItem.replacement_for_id.isnot(None), StockItem.is_sold.is_(True),
               StockItem.sold_at >= p.start, StockItem.sold_at < p.end)).one()
    return int(sold[0]) + int(replaced[0]), int(sold[1]) + int(replaced[1])


def test_a_balance_checkout_writes_the_cost_and_the_lines_sale_and_a_replacement_adds_only_its_own(app, store, shop):
    with app.app_context(), tenant_scope(store):
        order = _place(store, shop, "BALANCE", {"Alpha": 4, "Beta": 2})  # every Alpha code: 2 x 3.00 + 2 x 2.50
        db.session.commit()
        order = db.session.get(Order, order.id)
        assert (order.payment_status, order.cost_total, order.cost_known_units) == ("PAID", 1100, 4)
        assert _lines(order.id) == {"Alpha": (order.paid_at, False, 1100, 4), "Beta": (order.paid_at, False, 0, 0)}
        shop_row = db.session.get(Store, store.id)
        p = analytics.period(shop_row, "30d")
        k = analytics.kpis(shop_row, p)
        assert (k["revenue"], k["items_sold"], k["cost"], k["profit"]) == (4800, 6, 1100, 3700)
        assert k["cost_coverage"] == round(4 / 6, 4) and (k["cost"], 4) == _old_way(p)

        # a replacement (auto-approved) costs in its own time; the sale's cost stays what it was
        variant = db.session.get(Variant, shop["ids"]["Alpha"][1])
        stock.import_stock(variant, "A-5", unit_cost=200)
        item = db.session.scalar(select(StockItem).where(StockItem.order_id == order.id,
                                                         StockItem.product_id == shop["ids"]["Alpha"][0]).limit(1))
        request = replacements.request_replacement(order, user=db.session.get(User, shop["buyer_id"]),
                                                   stock_item_id=item.id, reason="does not work")
        db.session.commit()
        assert request.status == "APPROVED"
        order = db.session.get(Order, order.id)
        assert (order.cost_total, order.cost_known_units) == (1100, 4)
        k = analytics.kpis(shop_row, p)
        assert (k["cost"], k["replacements"], k["replacement_cost"], k["cost_coverage"]) == (1300, 1, 200, round(5 / 7, 4))
        assert (k["cost"], 5) == _old_way(p)
        by_product = {row["title"]: row for row in reports.products(shop_row, p)["items"]}
        assert (by_product["Alpha"]["cost"], by_product["Alpha"]["replacements"], by_product["Beta"]["cost"]) == (1300, 1, 0)
        assert sum(pt["cost"] for pt in reports.sales(shop_row, p)["points"]) == 1300


def test_a_manual_order_gets_its_sale_columns_when_approved_and_a_gift_is_marked(app, store, shop):
    with app.app_context(), tenant_scope(store):
        order = _place(store, shop, "MANUAL", {"Alpha": 2, "Beta": 1})
        db.session.commit()
        assert _lines(order.id) == {"Alpha": (None, False, 0, 0), "Beta": (None, False, 0, 0)}  # not a sale yet
        orders.approve(db.session.get(Order, order.id), actor=db.session.get(User, shop["admin_id"]))
        db.session.commit()
        order = db.session.get(Order, order.id)
        alpha = _lines(order.id)["Alpha"]
        assert order.paid_at is not None and alpha[:2] == (order.paid_at, False) and alpha[3] == 2
        assert alpha[2] in (500, 550, 600) and order.cost_total == alpha[2] and order.cost_known_units == 2
        assert _lines(order.id)["Beta"] == (order.paid_at, False, 0, 0)

        gift = orders.gift(db.session.get(User, shop["buyer_id"]), db.session.get(Variant, shop["ids"]["Beta"][1]), 1,
                           actor=db.session.get(User, shop["admin_id"]))
        db.session.commit()
        assert _lines(gift.id) == {"Beta": (db.session.get(Order, gift.id).paid_at, True, 0, 0)}
        shop_row = db.session.get(Store, store.id)
        p = analytics.period(shop_row, "30d")
        k = analytics.kpis(shop_row, p)
        assert (k["orders"], k["items_sold"], k["cost"]) == (1, 3, order.cost_total)  # the gift is not a sale
        assert (k["cost"], 2) == _old_way(p)
        top = analytics.breakdown(shop_row, p)["top_products"]
        assert [(t["title"], t["units"]) for t in top] == [("Alpha", 2), ("Beta", 1)]
        stats = analytics.product_sales(shop_row, p, product_id=shop["ids"]["Beta"][0])
        assert (stats["units"], stats["orders"], stats["revenue"]) == (1, 1, 400)


def test_the_migration_backfill_gives_the_same_numbers(app, store, shop):
    """The 0014 backfill's statements, run again over rows the services wrote, change nothing."""
    spec = importlib.util.spec_from_file_location("migration_0014", ROOT / "migrations/versions/0014_sales_columns.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with app.app_context(), tenant_scope(store):
        order = _place(store, shop, "BALANCE", {"Alpha": 3, "Beta": 1})
        db.session.commit()
        before = (db.session.get(Order, order.id).cost_total, _lines(order.id))
        db.session.execute(update(Order).values(cost_total=0, cost_known_units=0))
        db.session.execute(update(OrderLine).values(paid_at=None, cost=0, cost_known_units=0))
        for sql in migration.backfill_statements():
            db.session.execute(db.text(sql))
        db.session.commit()
        db.session.expire_all()
        assert (db.session.get(Order, order.id).cost_total, _lines(order.id)) == before
        assert before[0] in (800, 850) and before[1]["Beta"][0] == db.session.get(Order, order.id).paid_at
        assert before[1]["Beta"][0] <= datetime.now(UTC)
