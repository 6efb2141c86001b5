"""Eight staff approving the same replacement request at once, on SQLite and PostgreSQL:
one wins, the others get a clear conflict, and exactly one item is delivered."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import ReplacementRequest, Role, StockItem, Variant
from services import auth as auth_service
from services import balance, checkout, replacements, stock
from services import cart as cart_service
from services import products as product_service
from services.stores import get_store
from tenancy import tenant_scope

from .conftest import call, race


def test_staff_racing_to_resolve_one_request_deliver_one_item(live):
    base, app, store_id = live
    n = 8
    with app.app_context(), tenant_scope(store_id):
        product = product_service.create_product({
            "title": "Key", "variants": [{"title": "1", "price": 500}],
            "replacement_settings": {"replace_enabled": True, "auto_replace_enabled": False}})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"KEY-{i:03d}" for i in range(20)))
        buyer = auth_service.create_user(username="buyer", email="buyer@example.com", password="race-pass-123",
                                         role=Role.USER, check_strength=False)
        balance.credit(buyer.id, 5000, "topup", reason="race")
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, variant.id, 1)
        order = checkout.place_order(get_store(store_id), cart, buyer=buyer, method="BALANCE").order
        item_id = db.session.scalar(select(StockItem.id).where(StockItem.order_id == order.id))
        request = replacements.request_replacement(order, user=buyer, stock_item_id=item_id, reason="does not work")
        tokens = []
        for i in range(n):
            staff = auth_service.create_user(username=f"staff{i}", email=f"staff{i}@example.com",
                                             password="race-pass-123", role=Role.STAFF, check_strength=False)
            tokens.append(auth_service.issue_tokens(staff)["access_token"])
        db.session.commit()
        request_id, order_id, variant_id = request.id, order.id, variant.id
    results = race(n, lambda i: call(base, "POST", f"/api/staff/requests/{request_id}/resolve", token=tokens[i],
                                     body={"action": "approve"}))

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (n - 1), [(s, b.get("error")) for s, b in results]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"already_resolved"}
    [winner] = [body for status, body in results if status == 200]
    with app.app_context(), tenant_scope(store_id):
        row = db.session.get(ReplacementRequest, request_id)
        assert row.status == winner["status"] == "APPROVED" and row.resolved_by_id is not None
        delivered = db.session.scalar(select(func.count()).select_from(StockItem).where(
            StockItem.order_id == order_id, StockItem.replacement_for_id.isnot(None)))
        assert delivered == 1 and row.replacement_item_id is not None
        sold = db.session.scalar(select(func.count()).select_from(StockItem).where(StockItem.is_sold.is_(True)))
        assert db.session.get(Variant, variant_id).stock_count == 20 - sold
