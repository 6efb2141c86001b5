"""Fixtures for the cart, order, coupon and balance API tests: a small shop built with the services
(import ``shop_fixture`` into a test module to use the ``shop`` fixture)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models import Cart, CartItem, Order, StockItem, User, Variant
from services import balance, coupons, shipping, stock
from services import products as product_service
from tenancy import tenant_scope

DIGITAL_CODES = [f"CODE-{i}" for i in range(6)]
ADDRESS = {"name": "Ana Silva", "line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048",
           "country": "PT"}


def ship(shop) -> dict:
    """What a checkout of the physical variant adds: a Lisbon address and the free pickup method."""
    return {"shipping_address": dict(ADDRESS), "shipping_method_id": shop.method}


@pytest.fixture(name="shop")
def shop_fixture(app, store, make):
    """A digital variant (10.00, 6 codes, at most 4 per order), a physical variant (25.00, 3 in
    stock) shipped to Portugal by a free "Pickup" method (``ship(shop)``: the checkout's address and
    method) and a buyer with 50.00 of balance; ``shop.h(user)`` gives a user's auth headers."""
    with app.app_context(), tenant_scope(store):
        digital = product_service.create_product({"title": "Steam Card", "variants": [
            {"title": "10 EUR", "price": 1000, "max_quantity": 4}]})
        physical = product_service.create_product({"title": "T-Shirt", "kind": "physical", "variants": [
            {"title": "M", "price": 2500, "stock_count": 3}]})
        digital_variant = db.session.scalar(select(Variant).where(Variant.product_id == digital.id))
        physical_variant = db.session.scalar(select(Variant).where(Variant.product_id == physical.id))
        stock.import_stock(digital_variant, "\n".join(DIGITAL_CODES))
        zone = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
        method = shipping.add_method(zone, {"name": "Pickup", "kind": "flat", "price": 0})
        db.session.commit()
        ids = SimpleNamespace(digital=digital_variant.id, physical=physical_variant.id, product=digital.id,
                              physical_product=physical.id, method=method.id)
    buyer = make.user(store, username="buyer", email="buyer@example.com")
    with app.app_context(), tenant_scope(store):
        balance.credit(buyer.id, 5000, "topup", reason="test")
        db.session.commit()
    return SimpleNamespace(**vars(ids), buyer=buyer, headers=make.headers(buyer, store),
                           h=lambda user: make.headers(user, store), store=store, app=app)


def in_store(shop):
    """An app context bound to the shop's store (commit yourself)."""
    from contextlib import contextmanager

    @contextmanager
    def scope():
        with shop.app.app_context(), tenant_scope(shop.store):
            yield db.session

    return scope()


def counts(shop) -> dict:
    with in_store(shop) as session:
        return {
            "orders": session.scalar(select(func.count()).select_from(Order)),
            "cart_items": session.scalar(select(func.count()).select_from(CartItem)),
            "carts": session.scalar(select(func.count()).select_from(Cart)),
            "stock": session.get(Variant, shop.digital).stock_count,
            "physical": session.get(Variant, shop.physical).stock_count,
            "held": session.scalar(select(func.count()).select_from(StockItem).where(StockItem.order_id.isnot(None))),
            "balance": session.get(User, shop.buyer.id).balance,
        }


def set_price(shop, variant_id: str, price: int) -> None:
    with in_store(shop) as session:
        session.execute(update(Variant).where(Variant.id == variant_id).values(price=price))
        session.commit()


def make_coupon(shop, **fields):
    with in_store(shop) as session:
        coupon = coupons.create_coupon({"kind": "percent", "value": 1000, **fields})
        session.commit()
        return coupon.id
