"""The order total re-derived from its rows (RECONCILE.md "Money"): line subtotals -> reseller
discount -> coupon -> tax (one line per rule; ``included`` when the prices hold it) -> shipping.
A table of cases placed through ``checkout.place_order`` (BALANCE), each checking the exact
minor units, the adjustment rows, ``derive_total`` and what the balance paid."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from extensions import db
from models import OrderAdjustment, OrderLine, Store, User, Variant
from services import balance, checkout, coupons, shipping, stock, taxes
from services import cart as cart_service
from services import products as product_service
from services import stores as store_service
from services.errors import Invalid
from tenancy import tenant_scope

ADDRESS = {"name": "Ana Silva", "line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048", "country": "PT"}
MADRID = {"name": "Juan", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013", "region": "Madrid",
          "country": "ES"}


@pytest.fixture
def shop(app, store, make):
    """Digital 10.00 (codes), physical 25.00 (400 g, 5 in stock); VAT PT 23 %, ES 21 %; shipping
    to PT: "Post" 3.90 and "Free over 50" (free from 50.00); to ES: "Correos" 5.50."""
    with app.app_context(), tenant_scope(store):
        digital = product_service.create_product({"title": "Gift Card", "variants": [{"title": "10", "price": 1000}]})
        physical = product_service.create_product({"title": "Mug", "kind": "physical", "variants": [
            {"title": "White", "price": 2500, "stock_count": 5, "weight_grams": 400}]})
        d = db.session.scalar(select(Variant).where(Variant.product_id == digital.id))
        p = db.session.scalar(select(Variant).where(Variant.product_id == physical.id))
        stock.import_stock(d, "\n".join(f"CODE-{i}" for i in range(5)))
        taxes.create_rule({"name": "VAT", "country": "PT", "rate_bps": 2300})
        taxes.create_rule({"name": "VAT", "country": "ES", "rate_bps": 2100})
        pt = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
        post = shipping.add_method(pt, {"name": "Post", "kind": "flat", "price": 390})
        free = shipping.add_method(pt, {"name": "Free over 50", "kind": "free", "free_threshold": 5000, "position": 1})
        es = shipping.create_zone({"name": "Spain", "countries": ["ES"]})
        correos = shipping.add_method(es, {"name": "Correos", "kind": "flat", "price": 550})
        coupons.create_coupon({"code": "TEN", "kind": "percent", "value": 1000})
        db.session.commit()
        ids = {"digital": d.id, "physical": p.id, "post": post.id, "free": free.id, "correos": correos.id}
    buyer = make.user(store, username="buyer", email="buyer@example.com")
    with app.app_context(), tenant_scope(store):
        balance.credit(buyer.id, 100_000, "topup", reason="test")
        db.session.commit()
    return {**ids, "buyer_id": buyer.id}


# (name, prices include tax, reseller bps, coupon, digital qty, physical qty, ship to, method, billing,
#  expected total, expected adjustments (kind, label, amount, included), tax_total, shipping_total)
CASES = [
    ("exclusive: goods and shipping taxed where the parcel goes", False, 0, None, 1, 1, ADDRESS, "post", None,
     # (1000 + 2500 + 390) x 23 % = 894.7 -> 895
     4785, [("tax", "VAT 23% (PT)", 895, False), ("shipping", "Shipping: Post", 390, False)], 895, 390),
    ("inclusive: the tax is inside the prices, shown not added", True, 0, None, 1, 1, ADDRESS, "post", None,
     # 3890 x 23 / 123 = 727.39 -> 727
     3890, [("tax", "VAT 23% (PT)", 727, True), ("shipping", "Shipping: Post", 390, False)], 727, 390),
    ("reseller 10 %, then coupon 10 % spread over the lines, then tax, then shipping", False, 1000, "TEN", 1, 1,
     ADDRESS, "post", None,
     # lines 900 + 2250 after the reseller; coupon 315 -> 90 + 225; (810 + 2025 + 390) x 23 % = 741.75 -> 742
     3500 - 350 - 315 + 742 + 390,
     [("reseller_discount", "Reseller discount 10 %", -350, False), ("coupon", "Coupon TEN", -315, False),
      ("tax", "VAT 23% (PT)", 742, False), ("shipping", "Shipping: Post", 390, False)], 742, 390),
    ("digital taxed where the buyer is (billing ES), physical where it goes (PT)", False, 0, None, 1, 1, ADDRESS,
     "post", MADRID,
     # ES: 1000 x 21 % = 210; PT: (2500 + 390) x 23 % = 664.7 -> 665
     4765, [("tax", "VAT 21% (ES)", 210, False), ("tax", "VAT 23% (PT)", 665, False),
            ("shipping", "Shipping: Post", 390, False)], 875, 390),
    ("rounding half-up: 4050 x 21 % = 850.5 -> 851", False, 0, None, 1, 1, MADRID, "correos", None,
     3500 + 851 + 550, [("tax", "VAT 21% (ES)", 851, False), ("shipping", "Shipping: Correos", 550, False)], 851, 550),
    ("free shipping from 50.00: a zero shipping line", False, 0, None, 1, 2, ADDRESS, "free", None,
     6000 + 1380, [("tax", "VAT 23% (PT)", 1380, False), ("shipping", "Shipping: Free over 50", 0, False)], 1380, 0),
    ("digital only: no address asked, taxed in the store's country", False, 0, None, 2, 0, None, None, None,
     2000 + 460, [("tax", "VAT 23% (PT)", 460, False)], 460, 0),
    ("inclusive with reseller and coupon", True, 1000, "TEN", 1, 1, ADDRESS, "post", None,
     # (810 + 2025 + 390) x 23 / 123 = 603.04 -> 603
     3500 - 350 - 315 + 390,
     [("reseller_discount", "Reseller discount 10 %", -350, False), ("coupon", "Coupon TEN", -315, False),
      ("tax", "VAT 23% (PT)", 603, True), ("shipping", "Shipping: Post", 390, False)], 603, 390),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_total_is_re_derived_from_the_order_rows(app, store, shop, case):
    (_, inclusive, reseller_bps, coupon, n_digital, n_physical, ship_to, method, billing,
     total, adjustments, tax_total, shipping_total) = case
    with app.app_context(), tenant_scope(store):
        store_row = db.session.get(Store, store.id)
        store_service.update_settings(store_row, {"prices_include_tax": inclusive, "tax_country": "PT"})
        if reseller_bps:
            db.session.execute(update(User).where(User.id == shop["buyer_id"])
                               .values(role="RESELLER", discount_bps=reseller_bps))
        buyer = db.session.get(User, shop["buyer_id"])
        db.session.refresh(buyer)
        cart = cart_service.get_cart(user=buyer)
        if n_digital:
            cart_service.add_item(cart, shop["digital"], n_digital)
        if n_physical:
            cart_service.add_item(cart, shop["physical"], n_physical)
        if coupon:
            cart_service.apply_coupon(cart, coupon, buyer=buyer, customer_key=buyer.id)
        delivery = checkout.Delivery(shipping_address=dict(ship_to) if ship_to else None,
                                     method_id=shop[method] if method else None,
                                     billing_address=dict(billing) if billing else None)
        before = buyer.balance
        order = checkout.place_order(store_row, cart, buyer=buyer, method="BALANCE", delivery=delivery).order
        db.session.flush()
        rows = list(db.session.scalars(select(OrderAdjustment).where(OrderAdjustment.order_id == order.id)
                                       .order_by(OrderAdjustment.position)))
        lines = list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
        assert [(a.kind, a.label, a.amount, a.included) for a in rows] == adjustments
        assert (order.total, order.tax_total, order.shipping_total) == (total, tax_total, shipping_total)
        assert checkout.derive_total(lines, rows) == order.total
        assert order.subtotal - order.discount_total + (0 if inclusive else order.tax_total) \
            + order.shipping_total == order.total
        db.session.refresh(buyer)
        assert before - buyer.balance == total  # the balance paid all of it, tax and shipping included
        if ship_to:
            assert order.shipping_address["country"] == ship_to["country"]
            assert order.shipping_method_name == shipping.get_method(shop[method]).name
        else:
            assert order.shipping_address is None and order.shipping_method_id is None


@pytest.mark.parametrize("delivery,code", [
    ({}, "shipping_address_required"),
    ({"shipping_address": ADDRESS}, "shipping_method_required"),
    ({"shipping_address": MADRID, "method_id": "post"}, "shipping_method_unavailable"),  # a PT method to Spain
    ({"shipping_address": {**ADDRESS, "postal_code": "ABC"}, "method_id": "post"}, "invalid_address"),
])
def test_a_physical_cart_needs_an_address_and_a_method_that_ships_there(app, store, shop, delivery, code):
    with app.app_context(), tenant_scope(store):
        buyer = db.session.get(User, shop["buyer_id"])
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, shop["physical"], 1)
        if "method_id" in delivery:
            delivery = {**delivery, "method_id": shop[delivery["method_id"]]}
        with pytest.raises(Invalid) as refused:
            checkout.place_order(db.session.get(Store, store.id), cart, buyer=buyer, method="BALANCE",
                                 delivery=checkout.Delivery(**delivery))
        assert refused.value.code == code
        assert db.session.get(Variant, shop["physical"]).stock_count == 5
