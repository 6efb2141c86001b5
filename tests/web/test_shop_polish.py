"""Issue 12, the shop itself: stock states in words (cards, options, buy panel), the delivery
promise, the sold count a merchant turns on (page, API, settings form), the gallery's markup (links
without JavaScript) and the category-coloured placeholders."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import select

from extensions import db
from models import Order, OrderLine, Product, Store, Variant
from services import categories as category_service
from services import images
from services import products as product_service
from services import stores as store_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import as_role
from tests.web.test_settings_pages import form_data

PAID = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def in_store(app, store, fn):
    with app.app_context(), tenant_scope(store):
        result = fn()
        db.session.commit()
        return result


def card_of(html: str, title: str) -> str:
    start = html.rindex('<article class="product-card"', 0, html.index(f">{title}</a>"))
    return html[start:html.index("</article>", start)]


def badges(html: str) -> list[str]:
    return re.findall(r'<span class="stock-badge is-(\w+)"[^>]*>([^<]+)</span>', html)


@pytest.fixture
def catalog(app, store):
    def build():
        keys = category_service.create_category(title="Keys", hex_code="#F59E0B")
        mixed = product_service.create_product({"title": "Mixed Bag", "kind": "physical", "category_id": keys.id, "variants": [
            {"title": "Plenty", "price": 100, "stock_count": 10},
            {"title": "Few", "price": 200, "stock_count": 2},
            {"title": "Custom", "price": 300, "stock_count": 8, "low_stock_threshold": 10},
            {"title": "None", "price": 400, "stock_count": 0}]})
        product_service.create_product({"title": "Last Two", "kind": "physical", "category_id": keys.id,
                                        "variants": [{"title": "Only", "price": 500, "stock_count": 2}]})
        product_service.create_product({"title": "Sold Out", "kind": "physical",
                                        "variants": [{"title": "Only", "price": 600, "stock_count": 0}]})
        product_service.create_product({"title": "Game Key", "category_id": keys.id,
                                        "variants": [{"title": "Key", "price": 700}]})
        db.session.flush()
        return mixed.slug

    return in_store(app, store, build)


def test_cards_say_in_stock_only_n_left_or_out_of_stock(client, catalog):
    html = client.get("/search").get_data(as_text=True)
    # Mixed Bag: 20 in stock in all, above its variants' highest threshold (10)
    assert badges(card_of(html, "Mixed Bag")) == [("in", "In stock")]
    assert badges(card_of(html, "Last Two")) == [("low", "Only 2 left")]
    assert badges(card_of(html, "Sold Out")) == [("out", "Out of stock")]
    assert badges(card_of(html, "Game Key")) == [("out", "Out of stock")]  # digital, no codes yet


def test_variant_options_and_the_buy_panel_use_each_variants_threshold(client, catalog):
    html = client.get(f"/p/{catalog}").get_data(as_text=True)
    options = re.findall(r'<span class="variant-title">([^<]+)</span>.*?<span class="stock-badge is-(\w+)"[^>]*>([^<]+)<',
                         html, re.S)
    assert options == [("Plenty", "in", "In stock"), ("Few", "low", "Only 2 left"),
                       ("Custom", "low", "Only 8 left"), ("None", "out", "Out of stock")]
    panel = html[html.index('id="buy-panel"'):]
    assert re.search(r'data-testid="stock">In stock<', panel)  # the first option in stock is chosen


def test_the_buy_panel_of_a_nearly_sold_out_option(app, store, client, catalog):
    few = in_store(app, store, lambda: db.session.scalar(select(Variant.id).where(Variant.title == "Few")))
    panel = client.get(f"/p/{catalog}/variant/{few}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'class="stock-badge is-low" data-testid="stock">Only 2 left<', panel)


def test_digital_products_promise_instant_delivery_physical_ones_promise_nothing(client, catalog):
    digital = client.get("/p/game-key").get_data(as_text=True)
    assert 'data-testid="delivery-promise"' in digital and "Instant delivery" in digital
    physical = client.get(f"/p/{catalog}").get_data(as_text=True)
    assert "delivery-promise" not in physical and "Ships in" not in physical


# --- the sold count ---------------------------------------------------------------------------

def _order(number, lines, *, paid=True, gift=False, payment_status=None):
    order = Order(order_number=number, email=f"b{number}@example.com", payment_method="BALANCE", currency="EUR",
                  total=100, subtotal=100, item_count=sum(q for _, q in lines), is_gift=gift,
                  status="COMPLETED" if paid else "PENDING",
                  payment_status=payment_status or ("PAID" if paid else "UNPAID"), paid_at=PAID if paid else None)
    db.session.add(order)
    db.session.flush()
    for variant, quantity in lines:
        db.session.add(OrderLine(order_id=order.id, product_id=variant.product_id, variant_id=variant.id,
                                 product_title="x", variant_title=variant.title, quantity=quantity,
                                 unit_price=10, line_subtotal=10 * quantity))


@pytest.fixture
def sales(app, store, catalog):
    def build():
        variants = {v.title: v for v in db.session.scalars(select(Variant).join(Product).where(Product.slug == catalog))}
        other = db.session.scalar(select(Variant).join(Product).where(Product.title == "Last Two"))
        _order(1, [(variants["Plenty"], 3), (variants["Few"], 4)])   # 7 units
        _order(2, [(variants["Custom"], 2), (other, 9)])              # 2 units (9 are another product's)
        _order(3, [(variants["Plenty"], 5)], paid=False)              # never paid
        _order(4, [(variants["Plenty"], 6)], gift=True)               # a gift is not a sale
        _order(5, [(variants["Plenty"], 8)], payment_status="REFUNDED")  # refunded in full
        _order(6, [(variants["Few"], 1)], payment_status="PARTIALLY_REFUNDED")  # still a sale: 1 unit

    in_store(app, store, build)
    return catalog


def show_sold(app, store, on: bool):
    in_store(app, store, lambda: store_service.update_settings(db.session.get(Store, store.id), {"show_sold_count": on}))


def test_the_sold_count_shows_only_when_the_store_turns_it_on(app, store, client, sales):
    page = client.get(f"/p/{sales}").get_data(as_text=True)
    assert "sold-count" not in page  # off by default
    show_sold(app, store, True)
    page = client.get(f"/p/{sales}").get_data(as_text=True)
    assert re.search(r'data-testid="sold-count">10 sold<', page)  # 7 + 2 + 1
    assert "sold-count" not in client.get("/p/sold-out").get_data(as_text=True)  # nothing sold: nothing said


def test_the_sold_count_costs_the_product_page_one_query(app, store, client, sales):
    from tests.web.test_catalog_query_count import count_statements

    show_sold(app, store, True)
    client.get(f"/p/{sales}")  # warm the store cache
    with count_statements(app) as on:
        client.get(f"/p/{sales}")
    show_sold(app, store, False)
    client.get(f"/p/{sales}")
    with count_statements(app) as off:
        client.get(f"/p/{sales}")
    assert len(on) == len(off) + 1, (on, off)


def test_the_setting_in_the_config_api_and_on_the_settings_page(app, make, store, client):
    user = make.user(store, role="ADMIN")
    headers = make.headers(user, store)
    assert client.get("/api/admin/config", headers=headers).get_json()["show_sold_count"] is False
    response = client.post("/api/admin/config/update", headers=headers, json={"show_sold_count": True})
    assert response.status_code == 200 and response.get_json()["show_sold_count"] is True
    refused = client.post("/api/admin/config/update", headers=headers, json={"show_sold_count": "maybe"})
    assert refused.status_code == 422 and "show_sold_count" in str(refused.get_json()["error"])

    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/settings")
    assert re.search(r'<input[^>]*checked[^>]*name="show_sold_count"|<input[^>]*name="show_sold_count"[^>]*checked',
                     page.get_data(as_text=True))
    assert admin.post("/admin/settings", data=form_data(page)).status_code == 303  # unticked
    assert client.get("/api/admin/config", headers=headers).get_json()["show_sold_count"] is False
    page = admin.get("/admin/settings")
    assert admin.post("/admin/settings", data=form_data(page, show_sold_count="y")).status_code == 303
    assert client.get("/api/admin/config", headers=headers).get_json()["show_sold_count"] is True


# --- gallery and placeholders -----------------------------------------------------------------

def picture(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def test_the_gallery_thumbnails_are_links_to_each_picture_without_javascript(app, store, client, catalog):
    def build():
        product = db.session.scalar(select(Product).where(Product.slug == catalog))
        added = [images.add_image(product, images.prepare_image(product, picture(c))) for c in ("red", "green", "blue")]
        db.session.flush()
        return [i.url for i in added]

    urls = in_store(app, store, build)
    html = client.get(f"/p/{catalog}").get_data(as_text=True)
    gallery = html[html.index("data-gallery>"):html.index('<div class="product-info">')]
    assert re.search(rf'<img src="{re.escape(urls[0])}" alt="Mixed Bag" data-gallery-main width="40" height="30"', gallery)
    thumbs = re.findall(r'<a class="gallery-thumb" href="([^"]+)" target="_blank" rel="noopener" data-gallery-src="([^"]+)"'
                        r' data-gallery-width="40" data-gallery-height="30"( aria-current="true")?><img', gallery)
    assert thumbs == [(urls[0], urls[0], ' aria-current="true"'), (urls[1], urls[1], ""), (urls[2], urls[2], "")]
    assert re.findall(r'alt="(Picture \d of 3)"', gallery) == ["Picture 1 of 3", "Picture 2 of 3", "Picture 3 of 3"]
    # one picture: no thumbnails
    assert "gallery-thumb" not in client.get("/p/game-key").get_data(as_text=True)


def test_a_product_without_a_picture_gets_its_categorys_colour_not_just_an_initial(app, store, client, catalog):
    html = client.get("/search").get_data(as_text=True)
    card = card_of(html, "Game Key")
    assert 'class="product-placeholder placeholder-card" aria-hidden="true" style="--chip: #F59E0B; --chip-contrast: #0f172a"' in card
    assert '<span class="placeholder-disc">G</span>' in card and '<svg class="placeholder-icon"' in card
    # no category: the brand's colour (no style of its own), a box icon for a physical product
    sold_out = card_of(html, "Sold Out")
    assert 'class="product-placeholder placeholder-card" aria-hidden="true">' in sold_out and "M21 16V8" in sold_out
    # the product page's large one
    page = client.get("/p/game-key").get_data(as_text=True)
    assert 'class="product-placeholder placeholder-large"' in page


def test_a_category_picture_stands_in_for_a_product_without_one(app, store, client, catalog):
    def build():
        keys = category_service.create_category(title="Art", hex_code="#111111", image_url="/static/favicon.svg")
        product_service.create_product({"title": "Framed", "category_id": keys.id, "variants": [{"title": "x", "price": 1}]})

    in_store(app, store, build)
    card = card_of(client.get("/search").get_data(as_text=True), "Framed")
    assert '<img src="/static/favicon.svg"' in card and "product-placeholder" not in card


def test_rating_and_review_count_show_on_the_card(app, store, client, catalog):
    def rate():
        product = db.session.scalar(select(Product).where(Product.slug == catalog))
        product.average_rating, product.review_count = 4.5, 2  # the cache the review service keeps

    in_store(app, store, rate)
    card = card_of(client.get("/search").get_data(as_text=True), "Mixed Bag")
    assert re.search(r'class="rating" title="4.5 out of 5 from 2 reviews"><span aria-hidden="true">★</span> 4.5 '
                     r'<span class="muted" aria-hidden="true">\(2\)</span>', card)
    # (the product page's rating and summary: tests/web/test_review_pages.py, from real reviews)
