"""Checkout and the order lifecycle at the service level (the API and pages build on these)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models import BalanceTransaction, Order, StockItem, Store, User, Variant
from services import balance, checkout, coupons, orders, stock
from services import cart as cart_service
from services import products as product_service
from services.errors import Conflict, Invalid
from tenancy import tenant_scope


@pytest.fixture
def shop(app, store, make):
    """A digital variant with 5 codes (price 10.00) and a buyer with 50.00 of balance."""
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Steam", "variants": [{"title": "10", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"CODE-{i}" for i in range(5)))
        db.session.commit()
        variant_id = variant.id
    buyer = make.user(store, username="buyer", email="buyer@example.com")
    with app.app_context(), tenant_scope(store):
        balance.credit(buyer.id, 5000, "topup", reason="test")
        db.session.commit()
    return {"variant_id": variant_id, "buyer_id": buyer.id}


def _store(store_id):
    return db.session.get(Store, store_id)


def test_balance_checkout_delivers_distinct_items_and_debits_once(app, store, shop):
    with app.app_context(), tenant_scope(store):
        buyer = db.session.get(User, shop["buyer_id"])
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, shop["variant_id"], 3)
        placed = checkout.place_order(_store(store.id), cart, buyer=buyer, method="BALANCE")
        db.session.commit()
        order = orders.get_order(placed.order.id)
        assert (order.status, order.payment_status, order.total, order.order_number) == ("COMPLETED", "PAID", 3000, 1)
        codes = orders.deliverables(order, viewer=buyer, ip="10.0.0.1")
        assert len({d["deliverable"] for items in codes.values() for d in items}) == 3
        assert db.session.get(User, buyer.id).balance == 2000 == balance.ledger_sum(buyer.id)
        assert db.session.get(Variant, shop["variant_id"]).stock_count == 2
        assert cart_service.load_items(cart) == []
        # paying again is a no-op
        assert orders.mark_paid(order) is False


def test_insufficient_balance_rolls_back_everything(app, store, shop):
    with app.app_context(), tenant_scope(store):
        buyer = db.session.get(User, shop["buyer_id"])
        db.session.execute(update(Variant).where(Variant.id == shop["variant_id"]).values(price=3000))
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, shop["variant_id"], 2)
        db.session.commit()
        with pytest.raises(Conflict, match="too low"):
            checkout.place_order(_store(store.id), cart, buyer=buyer, method="BALANCE")
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
        assert db.session.get(Variant, shop["variant_id"]).stock_count == 5
        assert db.session.scalar(select(func.count()).select_from(StockItem).where(StockItem.order_id.isnot(None))) == 0


def test_manual_order_waits_then_approval_delivers_and_expiry_releases(app, store, shop, make):
    admin = make.user(store, role="ADMIN")
    with app.app_context(), tenant_scope(store):
        buyer = db.session.get(User, shop["buyer_id"])
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, shop["variant_id"], 2)
        first = checkout.place_order(_store(store.id), cart, buyer=buyer, method="MANUAL").order
        cart_service.add_item(cart, shop["variant_id"], 1)
        second = checkout.place_order(_store(store.id), cart, buyer=buyer, method="MANUAL").order
        db.session.commit()
        assert db.session.get(Variant, shop["variant_id"]).stock_count == 2
        orders.approve(first, actor=db.session.get(User, admin.id))
        db.session.commit()
        assert first.status == "COMPLETED" and first.payment_status == "PAID"
        with pytest.raises(Conflict):
            orders.approve(first, actor=db.session.get(User, admin.id))
        db.session.execute(update(Order).where(Order.id == second.id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert orders.expire_due() == 1
        db.session.commit()
        assert db.session.get(Order, second.id).status == "EXPIRED"
        assert db.session.get(Variant, shop["variant_id"]).stock_count == 3
        assert [e.kind for e in orders.timeline(first)] == ["created", "paid"]


def test_price_change_is_shown_before_paying_and_coupons_count_once(app, store, shop):
    with app.app_context(), tenant_scope(store):
        buyer = db.session.get(User, shop["buyer_id"])
        coupons.create_coupon({"code": "half", "kind": "percent", "value": 5000, "max_uses": 1})
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, shop["variant_id"], 1)
        cart_service.apply_coupon(cart, "HALF", buyer=buyer, customer_key=buyer.id)
        db.session.execute(update(Variant).where(Variant.id == shop["variant_id"]).values(price=1200))
        with pytest.raises(Conflict, match="prices changed"):
            checkout.place_order(_store(store.id), cart, buyer=buyer, method="BALANCE")
        # the refusal itself recorded the new price: the shopper has now seen it
        assert [item.seen_price for item in cart_service.load_items(cart)] == [1200]
        assert cart_service.reprice(cart) == []
        order = checkout.place_order(_store(store.id), cart, buyer=buyer, method="BALANCE").order
        db.session.commit()
        assert (order.subtotal, order.discount_total, order.total) == (1200, 600, 600)
        assert coupons.find_by_code("half").uses_count == 1
        cart_service.add_item(cart, shop["variant_id"], 1)
        with pytest.raises(Conflict, match="used up"):
            cart_service.apply_coupon(cart, "HALF", buyer=buyer, customer_key=buyer.id)


def test_gift_is_free_marked_and_delivered(app, store, shop, make):
    admin = make.user(store, role="ADMIN")
    with app.app_context(), tenant_scope(store):
        recipient = db.session.get(User, shop["buyer_id"])
        order = orders.gift(recipient, db.session.get(Variant, shop["variant_id"]), 2, actor=db.session.get(User, admin.id))
        db.session.commit()
        assert order.is_gift and order.total == 0 and order.status == "COMPLETED"
        assert sum(len(v) for v in orders.deliverables(order, viewer=recipient, ip=None).values()) == 2
        assert db.session.get(User, recipient.id).balance == 5000


def test_guest_manual_order_needs_an_email_and_balance_needs_an_account(app, store, shop):
    with app.app_context(), tenant_scope(store):
        cart = cart_service.get_cart(guest_key="guest-abc")
        cart_service.add_item(cart, shop["variant_id"], 1)
        with pytest.raises(Invalid):
            checkout.place_order(_store(store.id), cart, buyer=None, method="BALANCE", email="g@example.com")
        with pytest.raises(Invalid):
            checkout.place_order(_store(store.id), cart, buyer=None, method="MANUAL")
        placed = checkout.place_order(_store(store.id), cart, buyer=None, method="MANUAL", email="g@example.com")
        db.session.commit()
        assert placed.guest_token and orders.get_by_guest_token(placed.guest_token).id == placed.order.id
        assert db.session.scalar(select(func.count()).select_from(BalanceTransaction)) == 1  # only the top-up


def test_clearing_stock_leaves_items_held_by_unpaid_orders_and_counts_stay_exact(app, store, shop):
    with app.app_context(), tenant_scope(store):
        buyer = db.session.get(User, shop["buyer_id"])
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, shop["variant_id"], 2)
        order = checkout.place_order(_store(store.id), cart, buyer=buyer, method="MANUAL").order
        variant = db.session.get(Variant, shop["variant_id"])
        assert stock.clear_stock(variant) == 3 and variant.stock_count == 0
        result = stock.import_stock(variant, "NEW-1\nNEW-2")
        assert result.stock_count == 2
        db.session.execute(update(Order).where(Order.id == order.id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert orders.expire_due() == 1
        db.session.refresh(variant)
        assert variant.stock_count == 4  # the two held codes came back beside the two new ones
        available = db.session.scalar(select(func.count()).select_from(StockItem).where(
            StockItem.variant_id == variant.id, StockItem.is_sold.is_(False), StockItem.removed_at.is_(None),
            StockItem.order_id.is_(None)))
        assert available == variant.stock_count
        db.session.rollback()
