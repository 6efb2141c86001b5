"""Two shoppers check out the last physical unit at the same moment (each with an address and a
shipping method, paid by balance): it is sold once, the count never goes below zero, and the
loser's balance and cart are untouched. SQLite and PostgreSQL, through a live threaded server."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Order, Role, User, Variant
from services import auth as auth_service
from services import balance, shipping
from services import cart as cart_service
from services import products as product_service
from tenancy import tenant_scope

from .conftest import call, race

ADDRESS = {"name": "Ana Silva", "line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048", "country": "PT"}


def test_two_checkouts_of_the_last_physical_unit_sell_it_once(live):
    base, app, store_id = live
    with app.app_context(), tenant_scope(store_id):
        product = product_service.create_product({"title": "Last Mug", "kind": "physical", "variants": [
            {"title": "White", "price": 2500, "stock_count": 1, "weight_grams": 400}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        zone = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
        method = shipping.add_method(zone, {"name": "Post", "kind": "flat", "price": 390})
        tokens, users = [], []
        for i in range(2):
            user = auth_service.create_user(username=f"mugger{i}", email=f"mugger{i}@example.com",
                                            password="race-pass-123", role=Role.USER, check_strength=False)
            balance.credit(user.id, 10_000, "topup", reason="race test")
            cart_service.add_item(cart_service.get_cart(user=user), variant.id, 1)
            tokens.append(auth_service.issue_tokens(user)["access_token"])
            users.append(user.id)
        variant_id, method_id = variant.id, method.id
        db.session.commit()

    results = race(2, lambda i: call(base, "POST", "/api/orders/checkout", token=tokens[i], body={
        "payment_method": "BALANCE", "shipping_address": ADDRESS, "shipping_method_id": method_id}))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(status for status, _ in results) == [201, 409], results
    (lost,) = [body for status, body in results if status == 409]
    assert lost["error"]["code"] == "out_of_stock"
    (won,) = [body for status, body in results if status == 201]
    assert won["total"] == 28.9 and won["status"] == "PROCESSING"
    with app.app_context(), tenant_scope(store_id):
        assert db.session.get(Variant, variant_id).stock_count == 0
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        balances = sorted(db.session.get(User, uid).balance for uid in users)
        assert balances == [10_000 - 2890, 10_000]
        for uid in users:
            assert db.session.get(User, uid).balance == balance.ledger_sum(uid)
