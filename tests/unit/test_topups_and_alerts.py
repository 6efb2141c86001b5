"""Top-ups are credited once however often the provider confirms; low stock alerts the admins."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import BalanceTopUp, User, Variant
from services import balance, checkout, stock, topups
from services import cart as cart_service
from services import products as product_service
from services.errors import Invalid
from tenancy import tenant_scope


def test_topup_is_credited_exactly_once(app, make):
    store = make.store("topup", "Topup", default=True,
                       payment_methods=[{"name": "BALANCE", "enabled": True}, {"name": "STRIPE", "enabled": True}])
    user = make.user(store)
    with app.app_context(), tenant_scope(store):
        from models import Store

        shop = db.session.get(Store, store.id)
        with pytest.raises(Invalid):
            topups.start_topup(shop, db.session.get(User, user.id), 2500, "HOODPAY")  # not enabled
        with pytest.raises(Invalid):
            topups.start_topup(shop, db.session.get(User, user.id), 0, "STRIPE")
        topup = topups.start_topup(shop, db.session.get(User, user.id), 2500, "stripe")
        db.session.commit()
        assert topups.complete_topup(topup.id, provider_ref="pi_1") is True
        assert topups.complete_topup(topup.id, provider_ref="pi_1") is False  # replayed confirmation
        db.session.commit()
        assert db.session.get(User, user.id).balance == 2500 == balance.ledger_sum(user.id)
        assert db.session.scalar(select(BalanceTopUp)).status == "PAID"
        assert topups.fail_topup(topup.id) is False


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
