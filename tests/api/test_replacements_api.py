"""Replacements through the API: every refusal, the auto-replace budget (the 3rd is automatic, the
4th waits), staff's options and decision, the outcome on the order, the rates."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from extensions import db
from models import Order, Product, ReplacementRequest, StockItem, Variant
from services import products as product_service
from services import stock
from tenancy import tenant_scope
from tests.api.shop import ship, shop_fixture  # noqa: F401 - the shop fixture


def _settings(shop, **replacement):
    with shop.app.app_context(), tenant_scope(shop.store):
        product = db.session.get(Product, shop.product)
        product_service.update_product(product, {"replacement_settings": replacement})
        db.session.commit()


def _buy(client, shop, quantity: int) -> dict:
    assert client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": quantity},
                       headers=shop.headers).status_code == 200
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert placed.status_code == 201 and placed.get_json()["status"] == "COMPLETED", placed.get_json()
    return placed.get_json()


def _items(order: dict) -> list[str]:
    return [item["id"] for line in order["lines"] for item in line["items"]]


def _replace(client, shop, order: dict, item_id: str, reason="The key says it was already redeemed"):
    return client.post(f"/api/orders/{order['id']}/replace", json={"stock_item_id": item_id, "reason": reason},
                       headers=shop.headers)


def _staff(make, store, role="STAFF", name="helper"):
    return make.headers(make.user(store, role=role, username=name, email=f"{name}@example.com"), store)


def _more_stock(shop, count: int) -> None:
    with shop.app.app_context(), tenant_scope(shop.store):
        stock.import_stock(db.session.get(Variant, shop.digital), "\n".join(f"MORE-{i}" for i in range(count)))
        db.session.commit()


def test_auto_replace_serves_the_first_three_requests_and_the_fourth_waits(client, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True, auto_replace_max_before_approval=3)
    _more_stock(shop, 4)
    order = _buy(client, shop, 4)
    items = _items(order)
    answers = [_replace(client, shop, order, item) for item in items]
    assert [a.status_code for a in answers] == [201] * 4
    assert [a.get_json()["status"] for a in answers] == ["APPROVED", "APPROVED", "APPROVED", "PENDING"]
    assert answers[3].get_json()["waiting_reason"] == "This order used its 3 automatic replacement(s)"
    fresh = client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()
    assert len(fresh["replacements"]) == 3 and not set(fresh["replacements"]) & set(fresh["deliverables"])
    replaced = [i for line in fresh["lines"] for i in line["items"] if i["replaced_at"]]
    assert {i["id"] for i in replaced} == set(items[:3])
    with shop.app.app_context(), tenant_scope(shop.store):
        assert db.session.get(Variant, shop.digital).stock_count == 10 - 4 - 3  # 4 sold, 3 replacements


def test_each_refusal_says_why_and_changes_nothing(client, make, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=False, warranty_time=3600)
    order = _buy(client, shop, 2)
    first, second = _items(order)
    assert _replace(client, shop, order, first).get_json()["status"] == "PENDING"
    again = _replace(client, shop, order, first)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "request_open"
    no_reason = _replace(client, shop, order, second, reason="  ")
    assert no_reason.status_code == 422
    not_mine = client.post(f"/api/orders/{order['id']}/replace", json={"stock_item_id": second, "reason": "x"},
                           headers=make.headers(make.user(shop.store, username="other", email="o@example.com"),
                                                shop.store))
    assert not_mine.status_code == 404
    stranger_item = _replace(client, shop, order, "00000000-0000-4000-8000-000000000000")
    assert stranger_item.status_code == 422 and stranger_item.get_json()["error"]["code"] == "item_not_found"
    with shop.app.app_context(), tenant_scope(shop.store):  # the warranty ran out
        db.session.execute(update(StockItem).where(StockItem.id == second)
                           .values(sold_at=datetime.now(UTC) - timedelta(hours=2)))
        db.session.commit()
    late = _replace(client, shop, order, second)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "warranty_expired"
    _settings(shop, replace_enabled=False)
    off = _replace(client, shop, order, second)
    assert off.status_code == 409 and off.get_json()["error"]["code"] == "replacements_off"
    with shop.app.app_context(), tenant_scope(shop.store):
        assert db.session.scalar(select(ReplacementRequest.id).where(ReplacementRequest.stock_item_id == second)) is None


def test_only_a_completed_order_and_an_unreplaced_item(client, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True)
    order = _buy(client, shop, 1)
    [item] = _items(order)
    assert _replace(client, shop, order, item).get_json()["status"] == "APPROVED"
    again = _replace(client, shop, order, item)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_replaced"
    with shop.app.app_context(), tenant_scope(shop.store):
        db.session.execute(update(Order).where(Order.id == order["id"]).values(status="REFUNDED"))
        db.session.commit()
    fresh = client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()
    new_item = [i["id"] for line in fresh["lines"] for i in line["items"] if i["replacement_for_id"]][0]
    refused = _replace(client, shop, order, new_item)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "order_not_completed"


def test_a_key_delivered_beside_a_parcel_still_to_ship_can_be_replaced(client, shop):
    """A mixed order is PROCESSING until its parcel ships; the key in it was delivered at payment and
    is the buyer's to report at once (it was refused as 'not completed' until the parcel shipped)."""
    _settings(shop, replace_enabled=True, auto_replace_enabled=True)
    for variant in (shop.digital, shop.physical):
        assert client.post("/api/cart/items", json={"subcategory_id": variant, "quantity": 1},
                           headers=shop.headers).status_code == 200
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE", **ship(shop)}, headers=shop.headers)
    assert placed.status_code == 201 and placed.get_json()["status"] == "PROCESSING", placed.get_json()
    order = placed.get_json()
    [key] = _items(order)
    replaced = _replace(client, shop, order, key)
    assert replaced.status_code == 201 and replaced.get_json()["status"] == "APPROVED", replaced.get_json()
    fresh = client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()
    assert fresh["status"] == "PROCESSING"  # the parcel is still to ship
    assert [i["id"] for line in fresh["lines"] for i in line["items"] if i["replacement_for_id"] == key]


def test_an_unpaid_order_has_nothing_to_replace(client, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True)
    order = _buy(client, shop, 1)
    [item] = _items(order)
    with shop.app.app_context(), tenant_scope(shop.store):  # as if it were never paid (a PROCESSING with no payment)
        db.session.execute(update(Order).where(Order.id == order["id"]).values(status="PROCESSING", paid_at=None))
        db.session.commit()
    refused = _replace(client, shop, order, item)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "order_not_completed"


def test_staff_approve_with_one_of_three_options_or_deny_with_a_reason(client, make, shop, mail_outbox):
    _settings(shop, replace_enabled=True, auto_replace_enabled=False)
    order = _buy(client, shop, 2)
    first, second = _items(order)
    request_a = _replace(client, shop, order, first).get_json()
    request_b = _replace(client, shop, order, second).get_json()
    staff = _staff(make, shop.store)
    queue = client.get("/api/staff/replacement-requests", headers=staff).get_json()
    assert [r["id"] for r in queue["items"]] == [request_a["id"], request_b["id"]]
    assert queue["items"][0]["order_number"] == order["order_number"] and queue["items"][0]["username"] == "buyer"
    assert "•" in queue["items"][0]["original_deliverable"]  # masked in the list
    options = client.get(f"/api/staff/replacement-options/{shop.digital}", headers=staff).get_json()["items"]
    assert len(options) == 3 and len({o["id"] for o in options}) == 3
    chosen = options[1]["id"]
    approved = client.post(f"/api/staff/requests/{request_a['id']}/resolve",
                           json={"action": "approve", "stock_item_id": chosen}, headers=staff)
    assert approved.status_code == 200 and approved.get_json()["status"] == "APPROVED"
    assert approved.get_json()["replacement_item_id"] == chosen and approved.get_json()["resolved_by"] == "helper"
    twice = client.post(f"/api/staff/requests/{request_a['id']}/resolve", json={"action": "deny", "reason": "x"},
                        headers=staff)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_resolved"
    no_reason = client.post(f"/api/staff/requests/{request_b['id']}/resolve", json={"action": "deny"}, headers=staff)
    assert no_reason.status_code == 422
    denied = client.post(f"/api/staff/requests/{request_b['id']}/resolve",
                         json={"action": "deny", "reason": "The key works: redeem it on the EU store"}, headers=staff)
    assert denied.status_code == 200 and denied.get_json()["reason_denied"].startswith("The key works")
    fresh = client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()
    assert len(fresh["replacements"]) == 1
    subjects = [m.subject for m in mail_outbox]
    assert sum("Your replacement" in s for s in subjects) == 2
    events = client.get(f"/api/orders/{order['id']}/timeline?page_size=100", headers=staff)
    kinds = [e["kind"] for e in events.get_json()["items"]]
    assert kinds.count("replacement_requested") == 2 and "replaced" in kinds and "replacement_denied" in kinds


def test_approving_with_an_unknown_or_foreign_item_says_which(client, make, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=False)
    order = _buy(client, shop, 2)
    request = _replace(client, shop, order, _items(order)[0]).get_json()
    with shop.app.app_context(), tenant_scope(shop.store):
        other = product_service.create_product({"title": "Xbox Card", "variants": [{"title": "25", "price": 2500}]})
        other_variant = db.session.scalar(select(Variant).where(Variant.product_id == other.id))
        stock.import_stock(other_variant, "XBOX-1")
        foreign = db.session.scalar(select(StockItem.id).where(StockItem.variant_id == other_variant.id))
        db.session.commit()
    staff = _staff(make, shop.store)
    url = f"/api/staff/requests/{request['id']}/resolve"
    cases = [(foreign, 422, "item_wrong_subcategory"), ("00000000-0000-0000-0000-000000000000", 404,
             "stock_item_not_found"), ("bogus", 404, "stock_item_not_found"),
             (_items(order)[1], 409, "item_taken")]  # sold: this one really is taken
    for item_id, status, code in cases:
        answer = client.post(url, json={"action": "approve", "stock_item_id": item_id}, headers=staff)
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (status, code), item_id
    with shop.app.app_context(), tenant_scope(shop.store):
        assert db.session.get(ReplacementRequest, request["id"]).status == "PENDING"
        assert db.session.get(StockItem, foreign).order_id is None
        assert db.session.get(Variant, other_variant.id).stock_count == 1
    approved = client.post(url, json={"action": "approve"}, headers=staff)
    assert approved.status_code == 200 and approved.get_json()["status"] == "APPROVED"


def test_a_custom_deliverable_is_for_admins(client, make, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=False)
    order = _buy(client, shop, 1)
    request = _replace(client, shop, order, _items(order)[0]).get_json()
    body = {"action": "approve", "custom_deliverable": "HAND-TYPED-KEY-001"}
    staff = client.post(f"/api/staff/requests/{request['id']}/resolve", json=body, headers=_staff(make, shop.store))
    assert staff.status_code == 403
    admin = _staff(make, shop.store, role="ADMIN", name="owner")
    approved = client.post(f"/api/staff/requests/{request['id']}/resolve", json=body, headers=admin)
    assert approved.status_code == 200, approved.get_json()
    assert client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()["replacements"] == [
        "HAND-TYPED-KEY-001"]


def test_out_of_stock_waits_and_staff_see_why(client, make, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True)
    order = _buy(client, shop, 4)
    with shop.app.app_context(), tenant_scope(shop.store):  # the last two codes go elsewhere
        db.session.execute(update(StockItem).where(StockItem.order_id.is_(None)).values(removed_at=datetime.now(UTC)))
        db.session.execute(update(Variant).where(Variant.id == shop.digital).values(stock_count=0))
        db.session.commit()
    waiting = _replace(client, shop, order, _items(order)[0]).get_json()
    assert waiting["status"] == "PENDING" and waiting["waiting_reason"].startswith("Out of stock")
    staff = _staff(make, shop.store)
    refused = client.post(f"/api/staff/requests/{waiting['id']}/resolve", json={"action": "approve"}, headers=staff)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "out_of_stock"
    again = client.get("/api/staff/replacement-requests", headers=staff).get_json()["items"]
    assert again[0]["status"] == "PENDING"


@pytest.mark.parametrize("role,status", [("USER", 403), ("STAFF", 200)])
def test_the_queue_and_rates_are_for_staff(client, make, shop, role, status):
    headers = _staff(make, shop.store, role=role, name=f"r{role.lower()}")
    assert client.get("/api/staff/replacement-requests", headers=headers).status_code == status
    assert client.get("/api/staff/replacement-rates", headers=headers).status_code == status


def test_the_replacement_rate_shows_per_batch_and_product(client, make, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True)
    order = _buy(client, shop, 4)
    for item in _items(order)[:2]:
        _replace(client, shop, order, item)
    rates = client.get("/api/staff/replacement-rates", headers=_staff(make, shop.store)).get_json()
    [product] = [p for p in rates["products"] if p["product_id"] == shop.product]
    assert (product["sold"], product["replaced"], product["rate"]) == (4, 2, 0.5)
    assert sum(b["replaced"] for b in rates["batches"]) == 2


def test_a_replacement_keeps_the_warranty_of_the_item_first_sold(client, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True, warranty_time=3600)
    order = _buy(client, shop, 1)
    [item] = _items(order)
    with shop.app.app_context(), tenant_scope(shop.store):  # sold 50 minutes ago: 10 minutes of warranty left
        db.session.execute(update(StockItem).where(StockItem.id == item)
                           .values(sold_at=datetime.now(UTC) - timedelta(minutes=50)))
        db.session.commit()
    assert _replace(client, shop, order, item).get_json()["status"] == "APPROVED"
    fresh = client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()
    [new_item] = [i["id"] for line in fresh["lines"] for i in line["items"] if i["replacement_for_id"]]
    with shop.app.app_context(), tenant_scope(shop.store):  # 15 minutes on: the first sale's hour is over
        db.session.execute(update(StockItem).where(StockItem.id == item)
                           .values(sold_at=datetime.now(UTC) - timedelta(minutes=65)))
        db.session.commit()
    late = _replace(client, shop, order, new_item)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "warranty_expired"
