"""Checkout with physical goods through the API: a mixed cart (one digital line, one physical
line) paid by balance, with tax and shipping as their own adjustment lines; the digital item is
delivered at once, the physical one when the admin fulfils it (the buyer gets the "shipped"
email with the tracking link)."""
from __future__ import annotations

from models import Order
from services import shipping, taxes

from .conftest import error_code
from .shop import ADDRESS, counts, in_store, shop_fixture  # noqa: F401


def add(client, headers, variant_id, quantity=1):
    assert client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                       headers=headers).status_code == 200


def with_vat_and_post(shop) -> str:
    """VAT 23 % in Portugal (prices without tax) and a 3.90 "CTT Expresso" to Portugal."""
    with in_store(shop) as session:
        taxes.create_rule({"name": "VAT", "country": "PT", "rate_bps": 2300})
        zone = shipping.zone_for("PT")
        method = shipping.add_method(zone, {"name": "CTT Expresso", "kind": "flat", "price": 390, "min_days": 1,
                                            "max_days": 2, "position": 1})
        session.commit()
        return method.id


def test_a_mixed_cart_paid_by_balance_then_shipped(client, shop, make, store, mail_outbox):
    ctt = with_vat_and_post(shop)
    add(client, shop.headers, shop.digital, 1)
    add(client, shop.headers, shop.physical, 1)

    # the options for the cart: priced for its weight and subtotal, totals with the one chosen
    quote = client.post("/api/cart/shipping-options", json={"country": "pt", "postal_code": "1100-048"},
                        headers=shop.headers).get_json()
    assert quote["needs_shipping"] is True and quote["country"] == "PT"
    assert [(o["name"], o["price"]) for o in quote["options"]] == [("Pickup", 0.0), ("CTT Expresso", 3.9)]
    quote = client.post("/api/cart/shipping-options", json={"country": "PT", "shipping_method_id": ctt},
                        headers=shop.headers).get_json()
    assert (quote["subtotal"], quote["tax_total"], quote["shipping_total"], quote["total"]) == (35.0, 8.95, 3.9, 47.85)
    assert quote["tax_lines"] == [{"label": "VAT 23% (PT)", "amount": 8.95, "included": False}]

    # a physical cart needs an address and a method; nothing changes when refused
    before = counts(shop)
    refused = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert refused.status_code == 422 and error_code(refused) == "shipping_address_required"
    address = client.post("/api/addresses", json=ADDRESS, headers=shop.headers).get_json()
    refused = client.post("/api/orders/checkout", json={"payment_method": "BALANCE", "address_id": address["id"]},
                          headers=shop.headers)
    assert refused.status_code == 422 and error_code(refused) == "shipping_method_required"
    typo = client.post("/api/orders/checkout", json={"payment_method": "BALANCE", "shipping_method_id": ctt,
                                                     "shipping_address": {**ADDRESS, "postal_code": "11"}},
                       headers=shop.headers)
    assert typo.status_code == 422 and error_code(typo) == "invalid_address"
    assert "shipping_address.postal_code" in typo.get_json()["error"]["details"]
    assert counts(shop) == before

    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE", "address_id": address["id"],
                                                       "shipping_method_id": ctt, "customer_tax_number": "PT123456789"},
                         headers=shop.headers)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    # 10.00 + 25.00, VAT (10.00 + 25.00 + 3.90) x 23 % = 8.947 -> 8.95, shipping 3.90
    assert (order["subtotal"], order["discount_total"], order["tax_total"], order["shipping_total"], order["total"]) \
        == (35.0, 0.0, 8.95, 3.9, 47.85)
    assert order["adjustments"] == [
        {"kind": "tax", "label": "VAT 23% (PT)", "amount": 8.95, "included": False},
        {"kind": "shipping", "label": "Shipping: CTT Expresso", "amount": 3.9, "included": False}]
    assert order["shipping_method_name"] == "CTT Expresso" and order["shipping_method_id"] == ctt
    assert order["shipping_address"]["postal_code"] == "1100-048" and order["shipping_address"]["name"] == "Ana Silva"
    assert order["customer_tax_number"] == "PT123456789"
    with in_store(shop) as session:
        row = session.get(Order, order["id"])
        assert (row.total, row.tax_total, row.shipping_total) == (4785, 895, 390)  # exact minor units
    assert counts(shop)["balance"] == 5000 - 4785 and counts(shop)["physical"] == 2
    # the digital item at once, the physical one waits for the parcel
    assert order["status"] == "PROCESSING" and order["payment_status"] == "PAID"
    lines = {line["kind"]: line for line in order["lines"]}
    assert lines["digital"]["delivered_count"] == 1 and len(order["deliverables"]) == 1
    assert lines["physical"]["delivered_count"] == 0 and order["fulfilled_at"] is None

    mail_outbox.clear()
    staff = make.user(store, role="STAFF")
    shipped = client.post(f"/api/orders/{order['id']}/fulfill", headers=shop.h(staff), json={
        "carrier": "CTT", "tracking_number": "RR123456789PT", "tracking_url": "https://ctt.example/RR123456789PT"})
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "COMPLETED"
    (mail,) = [m for m in mail_outbox if m.to == ["buyer@example.com"]]
    assert mail.subject == f"Order #{order['order_number']} has shipped"
    assert "https://ctt.example/RR123456789PT" in mail.body and "RR123456789PT" in mail.body
    assert "https://ctt.example/RR123456789PT" in mail.alternatives[0][0] and "Rua Augusta 1" in mail.body
    assert "\nPortugal\n" in mail.body and "<br>Portugal</p>" in mail.alternatives[0][0]  # as the order page says it
    mine = client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()
    assert mine["tracking_url"] == "https://ctt.example/RR123456789PT" and mine["shipping_address"]["country"] == "PT"
    # a list shows no addresses
    listed = client.get("/api/orders", headers=shop.h(staff)).get_json()["items"]
    assert "shipping_address" not in listed[0]


def test_a_digital_cart_asks_for_nothing_new(client, shop):
    add(client, shop.headers, shop.digital, 1)
    quote = client.post("/api/cart/shipping-options", json={}, headers=shop.headers).get_json()
    assert quote["needs_shipping"] is False and quote["options"] == [] and quote["total"] == 10.0
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert placed.status_code == 201 and placed.get_json()["status"] == "COMPLETED"
    assert placed.get_json()["adjustments"] == [] and placed.get_json()["shipping_address"] is None


def test_a_guest_types_the_address_and_cannot_use_someone_elses(client, shop):
    session = {"X-Session-ID": "guest-ship"}
    add(client, session, shop.physical, 1)
    other = client.post("/api/addresses", json=ADDRESS, headers=shop.headers).get_json()
    refused = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", "email": "g@example.com",
                                                        "address_id": other["id"], "shipping_method_id": shop.method},
                          headers=session)
    assert refused.status_code == 422 and error_code(refused) == "address_not_found"
    placed = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", "email": "g@example.com",
                                                       "shipping_address": ADDRESS, "shipping_method_id": shop.method},
                         headers=session)
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["shipping_address"]["line1"] == "Rua Augusta 1" and placed.get_json()["total"] == 25.0
    nowhere = client.post("/api/cart/shipping-options", json={"country": "JP"}, headers=shop.headers).get_json()
    assert nowhere["options"] == []
