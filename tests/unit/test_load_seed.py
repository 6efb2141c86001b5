"""``flask seed-load``: a big store's rows are what the app writes itself (counts that agree, real
encrypted deliverables with their per-store hash, sale columns), so the shop, the dashboard and a
checkout work on it; the admin orders list pages it in the same order at any depth."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Order, OrderLine, Product, StockItem, Store, User, Variant
from services import balance, checkout, crypto, orders
from services import cart as cart_service
from tenancy import tenant_scope


def test_seed_load_fills_a_valid_store(app):
    result = app.test_cli_runner().invoke(args=["seed-load", "loadshop", "--products", "40", "--items", "1000",
                                                "--orders", "300", "--customers", "20"])
    assert result.exit_code == 0, result.output
    assert "40 products, 1,000 stock items, 300 orders" in result.output
    again = app.test_cli_runner().invoke(args=["seed-load", "loadshop"])
    assert again.exit_code != 0 and "exists" in again.output

    with app.app_context():
        store = db.session.scalar(select(Store).where(Store.slug == "loadshop"))
        with tenant_scope(store):
            count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
            assert (count(Product), count(StockItem), count(Order), count(OrderLine)) == (40, 1000, 300, 300)
            paid = count(Order, Order.paid_at.is_not(None))
            assert count(StockItem, StockItem.is_sold.is_(True)) == paid
            assert count(Order, Order.status == "CANCELLED") > 0 and count(Order, Order.status == "REFUNDED") > 0
            # the cached counts agree with the sellable items
            sellable = dict(db.session.execute(select(StockItem.variant_id, func.count())
                                               .where(StockItem.is_sold.is_(False)).group_by(StockItem.variant_id)).all())
            assert {v.id: v.stock_count for v in db.session.scalars(select(Variant))} == sellable
            assert db.session.scalar(select(func.sum(Product.stock_total))) == 1000 - paid
            # a deliverable decrypts, and its hash is the store's HMAC of it (import_stock would see it)
            item = db.session.scalar(select(StockItem).where(StockItem.is_sold.is_(False)).limit(1))
            code = crypto.decrypt(item.deliverable_encrypted)
            assert code.startswith("LOAD-") and crypto.hasher(store.id)(code) == item.deliverable_hash
            assert count(StockItem, StockItem.deliverable_hash == item.deliverable_hash) == 1

            # a checkout by balance on the seeded store takes the next number and a sellable item
            buyer = db.session.scalar(select(User).where(User.username == "buyer1"))
            balance.credit(buyer.id, 10**6, "topup", reason="test")
            variant = db.session.scalar(select(Variant).where(Variant.stock_count > 0).limit(1))
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, variant.id, 1)
            placed = checkout.place_order(store, cart, buyer=buyer, method="BALANCE")
            db.session.commit()
            assert placed.order.order_number == 301 and placed.order.status == "COMPLETED"

            # every page of the list, newest first, each order once; the same for the total sort
            for sort in ("created_at", "total", "status", "order_number"):
                seen = []
                for page in range(1, 8):
                    result = orders.list_orders(sort_by=sort, sort_dir="desc", page=page, page_size=50)
                    assert result["total"] == 301
                    seen.extend(result["items"])
                assert len({o.id for o in seen}) == 301
                values = [getattr(o, sort) for o in seen]
                assert values == sorted(values, reverse=True)
