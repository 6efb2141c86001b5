"""Dashboard shipping and taxes (Admin, as the API): zones and methods, tax rules and the tax
settings, add/edit/delete, refusals next to their field with 422 and nothing saved, the htmx
calculators, and the nav links."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import ShippingMethod, ShippingZone, Store, TaxRule
from services import stores as store_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import as_role, page_token

ZONE = {"name": "Portugal", "countries": "pt, es", "postal_prefixes": "", "position": "0"}
METHOD = {"name": "Post", "kind": "weight", "price": "", "weight_bands": "500: 4.50\n2000 g: 7.90",
          "free_threshold": "50", "min_days": "2", "max_days": "4", "position": "0", "is_active": "y"}
RULE = {"name": "IVA", "country": "pt", "region": "", "tax_class": "standard", "rate": "23", "priority": "0",
        "is_active": "y"}


def rows(app, store, model):
    with app.app_context(), tenant_scope(store):
        return list(db.session.scalars(select(model).order_by(model.created_at)))


def post_form(client, url, fields):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={**fields, "csrf_token": page_token(page)})


@pytest.fixture
def admin(app, make, store):
    return as_role(app, make, store, "ADMIN")[0]


@pytest.mark.parametrize("url", ["/admin/shipping", "/admin/shipping/zones/new", "/admin/taxes", "/admin/taxes/new"])
def test_only_admins_see_the_pages(app, make, store, client, url):
    assert client.get(url).status_code == 302
    for role in ("USER", "STAFF", "MANAGER"):
        assert as_role(app, make, store, role)[0].get(url).status_code == 403
    page = as_role(app, make, store, "ADMIN")[0].get(url)
    assert page.status_code == 200
    assert b'href="/admin/shipping"' in page.data and b'href="/admin/taxes"' in page.data  # the nav links


def test_a_manager_cannot_post_either(app, make, store):
    manager, _ = as_role(app, make, store, "MANAGER")
    token = page_token(manager.get("/admin/coupons"))
    assert manager.post("/admin/shipping/zones/new", data={**ZONE, "csrf_token": token}).status_code == 403
    assert manager.post("/admin/taxes/new", data={**RULE, "csrf_token": token}).status_code == 403
    assert rows(app, store, ShippingZone) == [] and rows(app, store, TaxRule) == []


def test_zones_and_methods_are_added_edited_and_deleted(app, store, admin):
    empty = admin.get("/admin/shipping")
    assert b"No shipping zones yet" in empty.data
    created = post_form(admin, "/admin/shipping/zones/new", ZONE)
    assert created.status_code == 302
    (zone,) = rows(app, store, ShippingZone)
    assert (zone.name, zone.countries) == ("Portugal", ["ES", "PT"])
    assert created.headers["Location"].endswith(f"/admin/shipping/zones/{zone.id}/methods/new")
    assert post_form(admin, f"/admin/shipping/zones/{zone.id}/methods/new", METHOD).status_code == 302
    (method,) = rows(app, store, ShippingMethod)
    assert (method.kind, method.weight_bands, method.free_threshold, method.min_days) == (
        "weight", [{"up_to_grams": 500, "price": 450}, {"up_to_grams": 2000, "price": 790}], 5000, 2)
    page = admin.get("/admin/shipping").data.decode()
    assert "Portugal" in page and "up to 500 g: €4.50" in page and "2–4 days" in page and "€50.00" in page

    edit = admin.get(f"/admin/shipping/methods/{method.id}").data.decode()
    assert "500: 4.50" in edit and 'value="50.00"' in edit
    changed = post_form(admin, f"/admin/shipping/methods/{method.id}",
                        {**METHOD, "kind": "flat", "price": "3.99", "weight_bands": "", "is_active": ""})
    assert changed.status_code == 302
    (method,) = rows(app, store, ShippingMethod)
    assert (method.kind, method.price, method.is_active) == ("flat", 399, False)
    assert post_form(admin, f"/admin/shipping/zones/{zone.id}",
                     {**ZONE, "name": "Iberia", "postal_prefixes": "1000-1, 4"}).status_code == 302
    (zone,) = rows(app, store, ShippingZone)
    assert (zone.name, zone.postal_prefixes) == ("Iberia", ["10001", "4"])

    token = page_token(admin.get("/admin/shipping"))
    assert admin.post(f"/admin/shipping/methods/{method.id}/delete", data={"csrf_token": token}).status_code == 302
    assert rows(app, store, ShippingMethod) == []
    assert admin.post(f"/admin/shipping/zones/{zone.id}/delete", data={"csrf_token": token}).status_code == 302
    assert rows(app, store, ShippingZone) == []


@pytest.mark.parametrize("fields,field,message", [
    ({"countries": ""}, "countries", "at least one country"),
    ({"countries": "Portugal"}, "countries", "two-letter ISO code"),
    ({"postal_prefixes": "12!"}, "postal_prefixes", "letters or digits"),
])
def test_bad_zones_are_refused_next_to_their_field(app, store, admin, fields, field, message):
    response = post_form(admin, "/admin/shipping/zones/new", {**ZONE, **fields})
    assert response.status_code == 422
    page = response.data.decode()
    assert re.search(rf'id="{field}-err"[^>]*>[^<]*{message}', page), page[page.find("form-card"):][:2000]
    assert rows(app, store, ShippingZone) == []


@pytest.mark.parametrize("fields,field", [
    ({"weight_bands": "heavy: 4"}, "weight_bands"),
    ({"weight_bands": ""}, "weight_bands"),
    ({"kind": "flat", "price": "-1"}, "price"),
    ({"kind": "flat", "price": "1.001"}, "price"),
    ({"kind": "free", "free_threshold": ""}, "free_threshold"),
    ({"min_days": "5", "max_days": "1"}, "max_days"),
])
def test_bad_methods_are_refused_next_to_their_field(app, store, admin, fields, field):
    assert post_form(admin, "/admin/shipping/zones/new", ZONE).status_code == 302
    (zone,) = rows(app, store, ShippingZone)
    response = post_form(admin, f"/admin/shipping/zones/{zone.id}/methods/new", {**METHOD, **fields})
    assert response.status_code == 422
    assert f'id="{field}-err"' in response.data.decode()
    assert rows(app, store, ShippingMethod) == []


def test_the_shipping_calculator_answers_in_a_fragment(app, store, admin):
    post_form(admin, "/admin/shipping/zones/new", ZONE)
    (zone,) = rows(app, store, ShippingZone)
    post_form(admin, f"/admin/shipping/zones/{zone.id}/methods/new", METHOD)
    page = admin.get("/admin/shipping").data.decode()
    assert 'hx-get="/admin/shipping/preview"' in page and 'hx-target="#shipping-preview"' in page
    at_edge = admin.get("/admin/shipping/preview?country=PT&postal_code=&weight=500&subtotal=49.99",
                        headers={"HX-Request": "true"}).data.decode()
    assert "<html" not in at_edge and "Post: €4.50 · 2–4 days" in at_edge
    over = admin.get("/admin/shipping/preview?country=es&weight=501&subtotal=50").data.decode()
    assert "Post: Free" in over
    nowhere = admin.get("/admin/shipping/preview?country=JP&weight=1&subtotal=1").data.decode()
    assert "No zone ships to JP" in nowhere
    bad = admin.get("/admin/shipping/preview?country=Japan&weight=x").data.decode()
    assert 'role="alert"' in bad


def test_tax_rules_are_added_edited_and_deleted(app, store, admin):
    assert b"No tax rules yet" in admin.get("/admin/taxes").data
    assert post_form(admin, "/admin/taxes/new", RULE).status_code == 302
    (rule,) = rows(app, store, TaxRule)
    assert (rule.name, rule.country, rule.tax_class, rule.rate_bps) == ("IVA", "PT", "standard", 2300)
    page = admin.get("/admin/taxes").data.decode()
    assert "IVA" in page and "23 %" in page
    assert 'value="23"' in admin.get(f"/admin/taxes/{rule.id}").data.decode()
    assert post_form(admin, f"/admin/taxes/{rule.id}", {**RULE, "rate": "6.5", "tax_class": "reduced",
                                                        "region": "Madeira"}).status_code == 302
    (rule,) = rows(app, store, TaxRule)
    assert (rule.rate_bps, rule.tax_class, rule.region) == (650, "reduced", "Madeira")
    token = page_token(admin.get("/admin/taxes"))
    assert admin.post(f"/admin/taxes/{rule.id}/delete", data={"csrf_token": token}).status_code == 302
    assert rows(app, store, TaxRule) == []


@pytest.mark.parametrize("fields,field", [({"rate": "23.456"}, "rate"), ({"rate": "abc"}, "rate"),
                                          ({"rate": "-1"}, "rate"), ({"country": "P1"}, "country"),
                                          ({"tax_class": "Big Class"}, "tax_class")])
def test_bad_tax_rules_are_refused_next_to_their_field(app, store, admin, fields, field):
    response = post_form(admin, "/admin/taxes/new", {**RULE, **fields})
    assert response.status_code == 422 and f'id="{field}-err"' in response.data.decode()
    assert rows(app, store, TaxRule) == []


def test_the_tax_settings_and_calculator(app, store, admin):
    post_form(admin, "/admin/taxes/new", RULE)
    page = admin.get("/admin/taxes")
    exclusive = admin.get("/admin/taxes/preview?country=PT&amount=10&tax_class=standard").data.decode()
    assert "€2.30" in exclusive and "€12.30" in exclusive
    saved = admin.post("/admin/taxes/settings", data={"settings-csrf_token": page_token(page),
                                                      "settings-prices_include_tax": "y", "settings-tax_country": "pt"})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(store):
        settings = store_service.settings_of(db.session.get(Store, store.id))
        assert (settings.prices_include_tax, settings.tax_country) == (True, "PT")
    assert re.search(r'<input[^>]*checked[^>]*name="settings-prices_include_tax"|'
                     r'<input[^>]*name="settings-prices_include_tax"[^>]*checked', admin.get("/admin/taxes").data.decode())
    inclusive = admin.get("/admin/taxes/preview?country=PT&amount=12.30").data.decode()
    assert "€2.30" in inclusive and "Net: €10.00" in inclusive and "prices include tax" in inclusive
    refused = admin.post("/admin/taxes/settings", data={"settings-csrf_token": page_token(page),
                                                        "settings-tax_country": "P1"})
    assert refused.status_code == 422 and 'id="settings-tax_country-err"' in refused.data.decode()


@pytest.mark.parametrize("fields,field,message", [
    ({"kind": "flat", "price": "20000000000"}, "price", "The price must be from €0.00 to €10,000,000,000.00"),
    ({"free_threshold": "20000000000"}, "free_threshold",
     "The free-shipping threshold must be from €0.00 to €10,000,000,000.00"),
])
def test_an_amount_out_of_range_is_refused_in_money_not_cents(app, store, admin, fields, field, message):
    """The merchant types euros: the bounds read as the page shows money ("€10,000,000,000.00"), not
    as "a whole number from 0 to 1000000000000" (cents)."""
    assert post_form(admin, "/admin/shipping/zones/new", ZONE).status_code == 302
    (zone,) = rows(app, store, ShippingZone)
    response = post_form(admin, f"/admin/shipping/zones/{zone.id}/methods/new", {**METHOD, **fields})
    html = response.data.decode()
    assert response.status_code == 422 and f'id="{field}-err">{message}<' in html
    assert "1000000000000" not in html and rows(app, store, ShippingMethod) == []
