"""Money on pages and in emails reads as the store's locale says (Babel): €10.99 in English,
10,99 € in Portuguese, $10.99 for a US store; the JSON API keeps plain numbers."""
from __future__ import annotations

import pytest

from extensions import db
from jobs.emails import render_email
from models import Order
from services import products as product_service
from services.money import display_money
from tenancy import tenant_scope


@pytest.fixture
def admin_headers(make, store):
    return make.headers(make.user(store, role="ADMIN"), store)


@pytest.fixture
def product(app, store):
    with app.app_context(), tenant_scope(store):
        product_service.create_product({"title": "Steam Wallet", "variants": [{"title": "Code", "price": 123_456}]})
        db.session.commit()


@pytest.mark.parametrize("locale,shown", [("en", "€1,234.56"), ("pt_PT", "1\xa0234,56\xa0€"), ("de_DE", "1.234,56\xa0€"),
                                          ("fr_FR", "1\u202f234,56\xa0€")])
def test_the_shop_shows_prices_in_the_stores_locale(client, store, product, admin_headers, locale, shown):
    response = client.post("/api/admin/config/update", headers=admin_headers, json={"locale": locale})
    assert response.status_code == 200 and response.get_json()["locale"] == locale
    html = client.get("/").get_data(as_text=True)
    assert f"from <strong>{shown}</strong>" in html
    assert f'<html lang="{locale.replace("_", "-")}"' in html
    assert "1234.56" in client.get("/api/products/all").get_data(as_text=True)  # the API keeps plain numbers


def test_a_us_store_in_dollars(app, make, client):
    make.store("us", "US Store", default=True, locale="en_US")
    with app.app_context():
        from models import Store
        us = db.session.query(Store).filter_by(slug="us").one()
        us.currency = "USD"
        db.session.commit()
        with tenant_scope(us):
            product_service.create_product({"title": "Gift", "variants": [{"title": "Code", "price": 1099}]})
            db.session.commit()
    assert "from <strong>$10.99</strong>" in client.get("/").get_data(as_text=True)


def test_a_locale_babel_does_not_know_is_refused(client, store, admin_headers):
    response = client.post("/api/admin/config/update", headers=admin_headers, json={"locale": "xx_YY"})
    assert response.status_code == 422 and "locale" in response.get_json()["error"]["details"]
    assert client.get("/api/admin/config", headers=admin_headers).get_json()["locale"] == "en"


def test_emails_use_the_stores_locale(app, store, admin_headers, client):
    client.post("/api/admin/config/update", headers=admin_headers, json={"locale": "pt_PT"})
    with app.test_request_context(), tenant_scope(store):
        order = Order(order_number=7, email="b@example.com", payment_method="BALANCE", currency="EUR", total=2599,
                      item_count=1)
        _, text, html = render_email("order_pending", {"order": order, "link": "http://x/orders/7"})
    assert "25,99\xa0€" in text and "25,99\xa0€" in html


def test_display_money_handles_zero_decimal_currencies_and_negatives():
    assert display_money(1500, "JPY", "ja_JP") == "￥1,500"
    assert display_money(-500, "EUR", "en") == "-€5.00"
    assert display_money(0, "EUR", "nonsense") == "€0.00"  # an unknown locale falls back to English
