"""A sale that takes a subcategory below its low-stock threshold emails the admins, once."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import User, Variant
from services import balance, checkout, stock
from services import cart as cart_service
from services import products as product_service
from tenancy import tenant_scope


def test_a_sale_below_the_threshold_emails_the_admins(app, store, make, mail_outbox):
    make.user(store, role="ADMIN", email="boss@example.com")
    buyer = make.user(store, email="low@example.com")
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Rare key", "variants": [{"title": "x", "price": 100}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        variant.low_stock_threshold = 3
        stock.import_stock(variant, "A\nB\nC\nD")
        balance.credit(buyer.id, 1000, "topup", reason="t")
        user = db.session.get(User, buyer.id)
        cart = cart_service.get_cart(user=user)
        cart_service.add_item(cart, variant.id, 1)
        from models import Store

        checkout.place_order(db.session.get(Store, store.id), cart, buyer=user, method="BALANCE")
        db.session.commit()  # 3 left: not under the threshold yet
        assert [m.to for m in mail_outbox if "Low stock" in m.subject] == []
        cart_service.add_item(cart, variant.id, 1)
        checkout.place_order(db.session.get(Store, store.id), cart, buyer=user, method="BALANCE")
        db.session.commit()  # 2 left
    alerts = [m for m in mail_outbox if m.subject.startswith("Low stock")]
    assert [m.to for m in alerts] == [["boss@example.com"]]
    assert "has 2 left" in alerts[0].body
