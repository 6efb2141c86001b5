"""Shop browsing pages and the dashboard's catalog screens: rendering, filters, fragments,
role guards, forms (with CSRF), error re-renders (422), stock import/reveal and store isolation."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from PIL import Image
from sqlalchemy import func, select

from extensions import db
from models import Category, Product, ProductImage, StockBatch, StockItem, Variant
from services import categories as category_service
from services import products as product_service
from services import stock
from tenancy import tenant_scope
from tests.web.test_auth_pages import csrf, login

HX = {"HX-Request": "true"}


@dataclass
class Shop:
    cards: str  # category ids
    steam: str
    games: str
    wallet: str  # product ids
    mug: str
    hidden: str
    wallet_10: str  # variant ids
    wallet_50: str
    mug_blue: str


def in_store(app, store, fn):
    with app.app_context(), tenant_scope(store):
        result = fn()
        db.session.commit()
        return result


@pytest.fixture
def shop(app, store):
    def build():
        cards = category_service.create_category(title="Gift Cards", hex_code="#F59E0B")
        steam = category_service.create_category(title="Steam", parent_id=cards.id, hex_code="#1B2838")
        games = category_service.create_category(title="Games", hex_code="#6366F1")
        wallet = product_service.create_product({
            "title": "Steam Wallet", "category_id": steam.id, "is_featured": True,
            "description": "<p>Top up <strong>any</strong> account.</p>",
            "variants": [{"title": "$10", "price": 1099, "max_quantity": 5},
                         {"title": "$50", "price": 5199}]})
        mug = product_service.create_product({"title": "Logo Mug", "kind": "physical", "category_id": games.id,
                                      "variants": [{"title": "Blue", "price": 900, "stock_count": 4, "min_quantity": 2}]})
        hidden = product_service.create_product({"title": "Secret Beta", "is_enabled": False, "category_id": games.id,
                                         "variants": [{"title": "Key", "price": 2500}]})
        variants = {v.title: v for v in db.session.scalars(select(Variant))}
        stock.import_stock(variants["$10"], "CODE-AAA-111\nCODE-BBB-222\nCODE-CCC-333")
        return Shop(cards.id, steam.id, games.id, wallet.id, mug.id, hidden.id,
                    variants["$10"].id, variants["$50"].id, variants["Blue"].id)

    return in_store(app, store, build)


def signed_in(client, make, store, role: str):
    user = make.user(store, role=role)
    assert login(client, user.username).status_code == 302
    return user


def token(client, url="/admin/products") -> str:
    return csrf(client.get(url).data)


# --- storefront -------------------------------------------------------------------------

def test_home_shows_featured_newest_and_coloured_categories(client, shop):
    html = client.get("/").data.decode()
    assert "Featured" in html and "Newest" in html and "Categories" in html
    assert "Steam Wallet" in html and "Logo Mug" in html and "Secret Beta" not in html
    assert "--chip: #F59E0B" in html  # Gift Cards coloured by its hex code
    assert "from <strong>€10.99</strong>" in html
    assert "Only 3 left" in html and "Only 4 left" in html  # 3 codes, 4 mugs: at or below the threshold of 5
    assert 'href="/search"' in html and 'href="/categories"' in html  # nav links
    assert 'class="header-search"' in html


def test_product_card_shows_placeholder_letter_and_out_of_stock(client, app, store):
    in_store(app, store, lambda: product_service.create_product({"title": "zebra pack", "variants": [{"title": "A", "price": 100}]}))
    html = client.get("/").data.decode()
    card = html[html.index("zebra pack") - 1500:html.index("zebra pack") + 800]
    assert 'class="product-placeholder placeholder-card"' in card and 'class="placeholder-disc">Z</span>' in card
    assert "Out of stock" in card


def test_categories_page_and_category_page_with_subcategories(client, shop):
    assert b"Gift Cards" in client.get("/categories").data
    page = client.get("/c/gift-cards")
    html = page.data.decode()
    assert page.status_code == 200 and "<h1>Gift Cards</h1>" in html
    assert "Steam Wallet" in html  # a product of the subcategory Steam
    assert "Logo Mug" not in html
    assert 'href="/c/steam"' in html  # subcategory chip
    assert 'name="sort"' in html
    assert client.get("/c/no-such-category").status_code == 404


def test_category_page_paginates_24_per_page(client, app, store):
    def build():
        category = category_service.create_category(title="Bulk")
        for n in range(26):
            product_service.create_product({"title": f"Bulk {n:02d}", "category_id": category.id,
                                    "variants": [{"title": "x", "price": 100 + n}]})
    in_store(app, store, build)
    first = client.get("/c/bulk").data.decode()
    assert first.count('data-testid="product-card"') == 24 and "Page 1 of 2" in first
    second = client.get("/c/bulk?page=2&sort=price_asc").data.decode()
    assert second.count('data-testid="product-card"') == 2 and "Page 2 of 2" in second


def test_search_filters(client, shop):
    def titles(url):
        response = client.get(url)
        assert response.status_code == 200
        return set(re.findall(r'class="stretched" href="[^"]+">([^<]+)</a>', response.data.decode()))

    assert titles("/search") == {"Steam Wallet", "Logo Mug"}
    assert titles("/search?q=wallet") == {"Steam Wallet"}
    assert titles("/search?q=ANY") == {"Steam Wallet"}  # description, case-insensitive
    assert titles("/search?min_price=10&max_price=20") == {"Steam Wallet"}  # starting at 10.99
    assert titles("/search?max_price=9") == {"Logo Mug"}
    assert titles("/search?category=gift-cards") == {"Steam Wallet"}
    assert titles("/search?category=steam") == {"Steam Wallet"}
    assert titles("/search?category=unknown") == set()
    assert titles("/search?featured=1") == {"Steam Wallet"}
    assert titles("/search?in_stock=1") == {"Steam Wallet", "Logo Mug"}
    html = client.get("/search?sort=price_asc").data.decode()
    assert html.index("Logo Mug") < html.index("Steam Wallet")
    html = client.get("/search?sort=price_desc").data.decode()
    assert html.index("Steam Wallet") < html.index("Logo Mug")
    bad = client.get("/search?min_price=abc&max_price=1.999")
    assert bad.status_code == 200 and b"Enter an amount" in bad.data


def test_search_in_stock_hides_sold_out_products(client, app, store, shop):
    in_store(app, store, lambda: product_service.create_product({"title": "Empty Shelf", "variants": [{"title": "x", "price": 5}]}))
    assert b"Empty Shelf" in client.get("/search").data
    assert b"Empty Shelf" not in client.get("/search?in_stock=1").data


def test_htmx_search_returns_only_the_results_fragment(client, shop):
    full = client.get("/search?q=wallet")
    assert b"<html" in full.data and b'id="results"' in full.data
    fragment = client.get("/search?q=wallet", headers=HX)
    assert fragment.status_code == 200
    assert b"<html" not in fragment.data and b"site-header" not in fragment.data
    assert b"Steam Wallet" in fragment.data and b"1 product" in fragment.data
    assert "HX-Request" in fragment.headers.get("Vary", "")
    restore = client.get("/search?q=wallet", headers={**HX, "HX-History-Restore-Request": "true"})
    assert b"<html" in restore.data  # a history cache miss needs the whole page
    category = client.get("/c/gift-cards", headers=HX)
    assert b"<html" not in category.data and b"Steam Wallet" in category.data
    assert b"page-title" not in category.data  # the category page keeps its own heading


def test_an_htmx_search_brings_the_heading_and_tab_title_along(client, shop):
    """Typed into the page's filters, a search swaps the results only: the heading ("All products"
    on the bare page) and the tab's title come with them, out of band."""
    assert '<h1 class="page-title" id="page-title">All products</h1>' in client.get("/search").data.decode()
    searched = client.get("/search?q=wallet", headers=HX).data.decode()
    assert '<h1 class="page-title" id="page-title" hx-swap-oob="true">Search</h1>' in searched
    assert "<title>Search: wallet · " in searched
    cleared = client.get("/search?q=", headers=HX).data.decode()
    assert 'hx-swap-oob="true">All products</h1>' in cleared and "<title>All products · " in cleared


def test_a_price_filter_that_is_not_an_amount_is_flagged_in_an_htmx_search_too(client, shop):
    """Typed into the filters (htmx: only the results are swapped), "abc" used to be dropped with
    no word; its message now comes along out of band, and clears once the amount is fine. A max
    below the min says so rather than "Nothing matches"."""
    def error(html, name):
        match = re.search(rf'<small class="error" id="{name}-error" hx-swap-oob="true"( hidden)?>([^<]*)<', html)
        assert match, html[:500]
        return None if match.group(1) else match.group(2)

    typed = client.get("/search?q=wallet&min_price=abc", headers=HX).data.decode()
    assert error(typed, "min_price") == "Enter an amount such as 9.99" and error(typed, "max_price") is None
    fixed = client.get("/search?q=wallet&min_price=5", headers=HX).data.decode()
    assert error(fixed, "min_price") is None
    swapped = client.get("/search?min_price=20&max_price=10", headers=HX).data.decode()
    assert error(swapped, "max_price") == "Enter a max price of at least the min price"
    full = client.get("/search?min_price=20&max_price=10").data.decode()
    assert 'id="max_price-error">Enter a max price of at least the min price<' in full
    assert 'aria-describedby="min_price-error"' in full and '<small class="error" id="min_price-error" hidden>' in full


def test_product_page_variant_selector_and_buy_panel(client, app, store, shop):
    page = client.get("/p/steam-wallet")
    html = page.data.decode()
    assert page.status_code == 200
    assert "<h1 class=\"product-name\">Steam Wallet</h1>" in html
    assert "<strong>any</strong>" in html  # sanitised description rendered as HTML
    assert 'href="/c/steam"' in html
    assert "Cart opens soon" not in html and 'hx-post="/cart/add"' in html
    assert f'name="variant_id" value="{shop.wallet_10}"' in html and ">Add to cart<" in " ".join(html.split())
    panel = html[html.index('id="buy-panel"'):]
    assert "€10.99" in panel and "Only 3 left" in panel  # 3 codes, the threshold is 5
    assert 'min="1" max="3"' in panel  # max 5 capped at the 3 codes in stock
    # the $50 variant has no stock: shown, not selectable
    option = html[html.index(shop.wallet_50) - 200:html.index(shop.wallet_50) + 400]
    assert "disabled" in option and "Out of stock" in html
    assert f'hx-get="/p/steam-wallet/variant/{shop.wallet_10}"' in html
    fragment = client.get(f"/p/steam-wallet/variant/{shop.wallet_50}", headers=HX)
    assert fragment.status_code == 200 and b"<html" not in fragment.data
    assert b'id="buy-panel"' in fragment.data and "€51.99".encode() in fragment.data and b"Out of stock" in fragment.data
    assert re.search(rb'class="button buy-button" disabled', fragment.data)  # nothing to add
    no_js = client.get(f"/p/steam-wallet/variant/{shop.wallet_10}")
    assert no_js.status_code == 302 and no_js.headers["Location"].endswith(f"/p/steam-wallet?variant={shop.wallet_10}")
    chosen = client.get(f"/p/steam-wallet?variant={shop.wallet_50}").data.decode()
    assert "€51.99" in chosen[chosen.index('id="buy-panel"'):]
    assert client.get("/p/steam-wallet/variant/not-a-variant", headers=HX).status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Product, shop.wallet).view_count == 2  # two full page views; fragments do not count


def test_physical_product_quantity_respects_min_and_inventory(client, shop):
    html = client.get("/p/logo-mug").data.decode()
    panel = html[html.index('id="buy-panel"'):]
    assert 'min="2" max="4" value="2"' in panel and "Min 2" in panel


def test_disabled_or_deleted_product_is_404_for_shoppers_and_preview_for_staff(client, app, store, make, shop):
    assert client.get("/p/secret-beta").status_code == 404
    assert b"Secret Beta" not in client.get("/search?q=secret").data
    user_client = client.application.test_client()
    user_client.environ_base["REMOTE_ADDR"] = "10.250.0.1"
    signed_in(user_client, make, store, "USER")
    assert user_client.get("/p/secret-beta").status_code == 404
    signed_in(client, make, store, "STAFF")
    preview = client.get("/p/secret-beta")
    assert preview.status_code == 200 and b"Hidden from shoppers" in preview.data
    assert b"Hidden from shoppers" not in client.get("/p/steam-wallet").data
    in_store(app, store, lambda: product_service.delete_product(db.session.get(Product, shop.mug)))
    assert client.get("/p/logo-mug").status_code == 404


def test_another_stores_product_is_404_in_the_shop(client, app, other_store, shop):
    assert client.get("/p/steam-wallet", base_url="http://other.example.com").status_code == 404
    assert client.get("/c/gift-cards", base_url="http://other.example.com").status_code == 404
    assert b"Steam Wallet" not in client.get("/search", base_url="http://other.example.com").data


# --- dashboard: access ----------------------------------------------------------------------

def admin_urls(shop: Shop) -> list[str]:
    return ["/admin/products", "/admin/products/new", f"/admin/products/{shop.wallet}", "/admin/categories",
            f"/admin/categories/{shop.cards}", f"/admin/subcategories/{shop.wallet_10}",
            f"/admin/subcategories/{shop.wallet_10}/stock"]


def test_catalog_admin_pages_need_a_manager(client, app, store, make, shop):
    for url in admin_urls(shop):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for n, role in enumerate(("USER", "STAFF")):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"10.251.0.{n + 1}"
        signed_in(c, make, store, role)
        for url in admin_urls(shop):
            assert c.get(url).status_code == 403, (role, url)
        assert b"/admin/products" not in c.get("/admin/").data if role == "STAFF" else True
    for n, role in enumerate(("MANAGER", "ADMIN")):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"10.252.0.{n + 1}"
        signed_in(c, make, store, role)
        for url in admin_urls(shop):
            assert c.get(url).status_code == 200, (role, url)
        assert b'href="/admin/products"' in c.get("/admin/").data


def test_another_stores_ids_are_404_in_the_dashboard(client, app, store, other_store, make, shop):
    def build():
        product = product_service.create_product({"title": "Foreign", "variants": [{"title": "x", "price": 100}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "FOREIGN-1")
        category = category_service.create_category(title="Foreign cat")
        item = db.session.scalar(select(StockItem))
        return product.id, variant.id, category.id, item.id

    product_id, variant_id, category_id, item_id = in_store(app, other_store, build)
    signed_in(client, make, store, "ADMIN")
    tok = token(client)
    for url in (f"/admin/products/{product_id}", f"/admin/subcategories/{variant_id}",
                f"/admin/subcategories/{variant_id}/stock", f"/admin/categories/{category_id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/stock/{item_id}/reveal", data={"csrf_token": tok}).status_code == 404
    assert client.post(f"/admin/products/{product_id}/delete", data={"csrf_token": tok}).status_code == 404
    assert client.post(f"/admin/subcategories/{variant_id}/stock", data={"csrf_token": tok, "deliverables": "X",
                                                                         "delimiter": "newline", "mode": "add"}).status_code == 404
    with app.app_context(), tenant_scope(other_store):
        assert db.session.get(Product, product_id).deleted_at is None


# --- dashboard: the admin flow through the forms ---------------------------------------------

def test_admin_creates_category_product_subcategory_and_imports_stock(client, app, store, make):
    admin = signed_in(client, make, store, "ADMIN")
    tok = token(client, "/admin/categories")
    created = client.post("/admin/categories", data={"csrf_token": tok, "title": "Vouchers", "hex_code": "#10b981",
                                                     "sort_order": "1", "is_active": "y", "parent_id": ""})
    assert created.status_code == 302
    with app.app_context(), tenant_scope(store):
        category = db.session.scalar(select(Category).where(Category.slug == "vouchers"))
        assert category.hex_code == "#10B981"
    page = client.get("/admin/products/new")
    assert page.status_code == 200 and b"Vouchers" in page.data
    response = client.post("/admin/products/new", data={
        "csrf_token": csrf(page.data), "title": "Cinema Voucher", "description": "<p>Any film</p><script>x()</script>",
        "category_id": category.id, "kind": "digital", "is_enabled": "y", "replace_enabled": "y",
        "auto_replace_max_before_approval": "2", "warranty_amount": "48", "warranty_unit": "hours"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(store):
        product = db.session.scalar(select(Product).where(Product.slug == "cinema-voucher"))
        assert product.category_id == category.id and product.warranty_time == 48 * 3600
        assert product.auto_replace_max_before_approval == 2 and "<script>" not in product.description
        assert "x()" not in product.description  # the script's text goes with it
        assert product.is_enabled and not product.is_featured and product.kind == "digital"
    assert response.headers["Location"] == f"/admin/products/{product.id}"
    edit = client.get(response.headers["Location"])
    assert edit.status_code == 200 and b"Add a subcategory" in edit.data
    added = client.post(f"/admin/products/{product.id}/subcategories", data={
        "sub-csrf_token": csrf(edit.data), "sub-title": "Adult ticket", "sub-price": "12.50",
        "sub-min_quantity": "1", "sub-max_quantity": "4", "sub-is_active": "y"})
    assert added.status_code == 302
    with app.app_context(), tenant_scope(store):
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        assert (variant.title, variant.price, variant.max_quantity) == ("Adult ticket", 1250, 4)
    stock_page = client.get(f"/admin/subcategories/{variant.id}/stock")
    assert stock_page.status_code == 200 and b"Import stock" in stock_page.data
    imported = client.post(f"/admin/subcategories/{variant.id}/stock", headers=HX, data={
        "csrf_token": csrf(stock_page.data), "deliverables": "TICKET-0001\nTICKET-0002\n\nTICKET-0001\nTICKET-0003\n",
        "delimiter": "newline", "mode": "add", "note": "first batch", "supplier": "Acme", "unit_cost": "8.00"})
    html = imported.data.decode()
    assert imported.status_code == 200 and "<html" not in html
    assert "<strong>3</strong> added" in html and "<strong>1</strong> duplicate in file" in html
    assert "Acme" in html and "first batch" in html and admin.username in html
    with app.app_context(), tenant_scope(store):
        batch = db.session.scalar(select(StockBatch).where(StockBatch.variant_id == variant.id))
        assert (batch.added, batch.duplicate_in_file, batch.unit_cost, batch.created_by_id) == (3, 1, 800, admin.id)
        assert db.session.get(Variant, variant.id).stock_count == 3
        assert db.session.get(Product, product.id).stock_total == 3
    # the product now shows in the shop with its subcategory in stock
    shop_page = client.get("/p/cinema-voucher").data.decode()
    assert "€12.50" in shop_page and "Only 3 left" in shop_page


def test_stock_import_from_a_file_with_a_delimiter_and_replace_mode(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    url = f"/admin/subcategories/{shop.wallet_10}/stock"
    tok = token(client, url)
    upload = client.post(url, content_type="multipart/form-data", data={
        "csrf_token": tok, "delimiter": "pipe", "mode": "add",
        "file": (io.BytesIO(b"NEW-1|NEW-2|CODE-AAA-111\nNEW-3"), "codes.txt")})
    assert upload.status_code == 302  # without htmx: flash and redirect
    assert b"3 added, 0 duplicate in file, 1 already known" in client.get(url).data
    refused = client.post(url, data={"csrf_token": tok, "deliverables": "ONLY-ONE", "delimiter": "newline", "mode": "set"})
    assert refused.status_code == 422 and b"Confirm that the list replaces" in refused.data
    replaced = client.post(url, headers=HX, data={"csrf_token": tok, "deliverables": "ONLY-ONE", "delimiter": "newline",
                                                  "mode": "set", "confirm_replace": "y"})
    assert replaced.status_code == 200 and b"<strong>6</strong> removed" in replaced.data
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, shop.wallet_10).stock_count == 1
    wrong_type = client.post(url, content_type="multipart/form-data", data={
        "csrf_token": tok, "delimiter": "newline", "mode": "add", "file": (io.BytesIO(b"A"), "codes.exe")})
    assert wrong_type.status_code == 422 and b".txt or .csv" in wrong_type.data


def test_reveal_shows_the_plain_code_to_admins_and_the_list_stays_masked(client, app, store, make, shop):
    signed_in(client, make, store, "ADMIN")
    url = f"/admin/subcategories/{shop.wallet_10}/stock"
    page = client.get(url).data.decode()
    assert "CODE-AAA-111" not in page and "CODE-BBB-222" not in page
    assert "CO" + "•" * 8 + "11" in page  # masked: the shape, not the secret
    with app.app_context(), tenant_scope(store):
        item = db.session.scalar(select(StockItem).where(StockItem.variant_id == shop.wallet_10)
                                 .order_by(StockItem.created_at, StockItem.id))
        plain = stock.reveal(item)
    revealed = client.post(f"/admin/stock/{item.id}/reveal", headers=HX, data={"csrf_token": csrf(page.encode())})
    assert revealed.status_code == 200 and plain.encode() in revealed.data and b"<html" not in revealed.data
    no_js = client.post(f"/admin/stock/{item.id}/reveal", data={"csrf_token": csrf(page.encode())})
    assert no_js.status_code == 200 and plain.encode() in no_js.data and b"<html" in no_js.data
    manager = app.test_client()
    manager.environ_base["REMOTE_ADDR"] = "10.253.0.1"
    signed_in(manager, make, store, "MANAGER")
    manager_page = manager.get(url).data
    assert b"Reveal" not in manager_page and b"Withdraw" in manager_page
    assert manager.post(f"/admin/stock/{item.id}/reveal", headers=HX, data={"csrf_token": csrf(manager_page)}).status_code == 403


def test_withdraw_one_item_and_clear_all_unsold_stock(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    url = f"/admin/subcategories/{shop.wallet_10}/stock"
    tok = token(client, url)
    with app.app_context(), tenant_scope(store):
        item_id = db.session.scalar(select(StockItem.id).where(StockItem.variant_id == shop.wallet_10).limit(1))
    withdrawn = client.post(f"/admin/stock/{item_id}/withdraw", headers=HX, data={"csrf_token": tok})
    assert withdrawn.status_code == 200 and b"Item withdrawn." in withdrawn.data and b"<html" not in withdrawn.data
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, shop.wallet_10).stock_count == 2
    cleared = client.post(f"/admin/subcategories/{shop.wallet_10}/stock/clear", data={"csrf_token": tok})
    assert cleared.status_code == 302
    assert b"2 unsold items withdrawn." in client.get(url).data
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, shop.wallet_10).stock_count == 0
        assert db.session.get(Product, shop.wallet).stock_total == 0


def test_physical_subcategories_have_an_inventory_count_not_a_stock_panel(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    assert client.get(f"/admin/subcategories/{shop.mug_blue}/stock").status_code == 302
    edit = client.get(f"/admin/products/{shop.mug}").data.decode()
    assert "Inventory count" in edit and f"/admin/subcategories/{shop.mug_blue}/stock" not in edit
    prefix = f"v{shop.mug_blue[:8]}"
    saved = client.post(f"/admin/subcategories/{shop.mug_blue}", data={
        f"{prefix}-csrf_token": csrf(edit.encode()), f"{prefix}-title": "Blue", f"{prefix}-price": "9.00",
        f"{prefix}-min_quantity": "1", f"{prefix}-max_quantity": "0", f"{prefix}-stock_count": "11",
        f"{prefix}-is_active": "y"})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, shop.mug_blue).stock_count == 11
        assert db.session.get(Product, shop.mug).stock_total == 11


def test_subcategory_inline_edit_and_delete_with_htmx(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    edit_row = client.get(f"/admin/subcategories/{shop.wallet_50}", headers=HX)
    assert edit_row.status_code == 200 and edit_row.data.lstrip().startswith(b"<tr")
    prefix = f"v{shop.wallet_50[:8]}"
    tok = token(client)
    data = {f"{prefix}-csrf_token": tok, f"{prefix}-title": "$50 card", f"{prefix}-price": "49.99",
            f"{prefix}-min_quantity": "1", f"{prefix}-max_quantity": "2", f"{prefix}-is_active": "y"}
    bad = client.post(f"/admin/subcategories/{shop.wallet_50}", headers=HX, data={**data, f"{prefix}-min_quantity": "3"})
    assert bad.status_code == 422 and bad.data.lstrip().startswith(b"<tr") and b"cannot be above the maximum" in bad.data
    saved = client.post(f"/admin/subcategories/{shop.wallet_50}", headers=HX, data=data)
    assert saved.status_code == 200 and saved.headers["HX-Retarget"] == "#subcategories"
    assert b'id="subcategories"' in saved.data and b"$50 card" in saved.data and "€49.99".encode() in saved.data
    deleted = client.post(f"/admin/subcategories/{shop.wallet_50}/delete", headers=HX, data={"csrf_token": tok})
    assert deleted.status_code == 200 and b"$50 card" not in deleted.data
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, shop.wallet_50).deleted_at is not None
        assert db.session.get(Product, shop.wallet).starting_at == 1099


@pytest.mark.parametrize(("price", "minimum", "maximum", "message"), [
    ("-5", "1", "0", b"price cannot be negative"),
    ("1.999", "1", "0", b"More decimals than EUR allows: enter an amount such as 5.00"),
    ("ten", "1", "0", b"Not a number: enter an amount such as 5.00"),
    ("1,5", "1", "0", b"Not a number: use a dot before the decimals (1.5, not 1,5)"),
    ("1e5", "1", "0", b"Not a number: enter an amount such as 5.00"),  # not 100,000.00
    # beyond the INTEGER columns (PostgreSQL refused the row: a 500)
    ("5.00", "99999999999999", "0", b"A quantity limit is at most 2,147,483,647"),
    ("5.00", "1", "2147483648", b"A quantity limit is at most 2,147,483,647"),
    ("5.00", "4", "2", b"The minimum quantity per order cannot be above the maximum"),
])
def test_bad_subcategory_input_rerenders_the_form_with_422(client, app, store, make, shop, price, minimum, maximum, message):
    signed_in(client, make, store, "MANAGER")
    tok = token(client, f"/admin/products/{shop.wallet}")
    data = {"sub-csrf_token": tok, "sub-title": "Broken", "sub-price": price,
            "sub-min_quantity": minimum, "sub-max_quantity": maximum, "sub-is_active": "y"}
    full = client.post(f"/admin/products/{shop.wallet}/subcategories", data=data)
    assert full.status_code == 422 and message in full.data and b"<html" in full.data
    assert b'value="Broken"' in full.data and b'class="field has-error"' in full.data
    fragment = client.post(f"/admin/products/{shop.wallet}/subcategories", data=data, headers=HX)
    assert fragment.status_code == 422 and message in fragment.data and b"<html" not in fragment.data
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Variant).where(Variant.title == "Broken")) == 0


def test_bad_product_category_and_import_input_rerenders_with_422(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    tok = token(client, "/admin/products/new")
    base = {"csrf_token": tok, "kind": "digital", "category_id": "", "auto_replace_max_before_approval": "3",
            "warranty_amount": "1", "warranty_unit": "days"}
    taken = client.post("/admin/products/new", data={**base, "title": "Another", "slug": "steam-wallet"})
    assert taken.status_code == 422 and b"already used" in taken.data and b'value="Another"' in taken.data
    empty = client.post("/admin/products/new", data={**base, "title": ""})
    assert empty.status_code == 422 and b"This field is required" in empty.data
    edit = client.post(f"/admin/products/{shop.mug}", data={**base, "title": "Logo Mug", "slug": "steam-wallet"})
    assert edit.status_code == 422 and b"already used" in edit.data
    cat = client.post("/admin/categories", data={"csrf_token": tok, "title": "Dup", "slug": "gift-cards",
                                                 "hex_code": "#123456", "sort_order": "0", "parent_id": ""})
    assert cat.status_code == 422 and b"already used" in cat.data
    url = f"/admin/subcategories/{shop.wallet_10}/stock"
    empty_import = client.post(url, data={"csrf_token": tok, "deliverables": "  \n \n", "delimiter": "newline", "mode": "add"})
    assert empty_import.status_code == 422 and b"nothing to import" in empty_import.data
    bad_cost = client.post(url, headers=HX, data={"csrf_token": tok, "deliverables": "Z-1", "delimiter": "newline",
                                                  "mode": "add", "unit_cost": "1.234"})
    assert bad_cost.status_code == 422 and b"More decimals than EUR allows" in bad_cost.data and b"<html" not in bad_cost.data
    comma = client.post(url, headers=HX, data={"csrf_token": tok, "deliverables": "Z-1", "delimiter": "newline",
                                               "mode": "add", "unit_cost": "1,5"})  # the field's message, not its name
    assert comma.status_code == 422 and b"Not a number: use a dot before the decimals (1.5, not 1,5)" in comma.data
    assert b"unit_cost must" not in comma.data and b"Z-1" in comma.data
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Product).where(Product.title == "Another")) == 0
        assert db.session.get(Variant, shop.wallet_10).stock_count == 3


def test_products_table_filters_sorts_and_swaps_in_place(client, make, store, shop):
    signed_in(client, make, store, "MANAGER")
    page = client.get("/admin/products").data.decode()
    assert all(t in page for t in ("Steam Wallet", "Logo Mug", "Secret Beta")) and 'id="products-table"' in page
    disabled = client.get("/admin/products?status=disabled", headers=HX)
    assert b"<html" not in disabled.data and b"Secret Beta" in disabled.data and b"Steam Wallet" not in disabled.data
    searched = client.get("/admin/products?q=mug", headers=HX).data
    assert b"Logo Mug" in searched and b"Steam Wallet" not in searched
    by_category = client.get(f"/admin/products?category={shop.cards}", headers=HX).data
    assert b"Steam Wallet" in by_category and b"Logo Mug" not in by_category
    by_price = client.get("/admin/products?sort=price&dir=asc", headers=HX).data.decode()
    assert by_price.index("Logo Mug") < by_price.index("Steam Wallet") < by_price.index("Secret Beta")
    by_title = client.get("/admin/products?sort=title&dir=desc", headers=HX).data.decode()
    assert by_title.index("Steam Wallet") < by_title.index("Secret Beta") < by_title.index("Logo Mug")


def test_edit_and_soft_delete_a_product(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    page = client.get(f"/admin/products/{shop.wallet}")
    html = page.data.decode()
    assert 'value="Steam Wallet"' in html and 'name="kind"' not in html  # the kind is set once
    assert 'value="1"' in html and '<option selected value="days">' in html  # 1 day warranty
    saved = client.post(f"/admin/products/{shop.wallet}", data={
        "csrf_token": csrf(page.data), "title": "Steam Wallet Code", "slug": "", "category_id": shop.games,
        "is_featured": "y", "auto_replace_max_before_approval": "0", "warranty_amount": "3", "warranty_unit": "days"})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(store):
        product = db.session.get(Product, shop.wallet)
        assert (product.title, product.slug, product.category_id) == ("Steam Wallet Code", "steam-wallet", shop.games)
        assert product.is_enabled is False and product.warranty_time == 3 * 86400  # "Visible" left unticked
    deleted = client.post(f"/admin/products/{shop.wallet}/delete", data={"csrf_token": csrf(page.data)})
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/admin/products"
    with app.app_context(), tenant_scope(store):
        product = db.session.get(Product, shop.wallet)
        assert product.deleted_at is not None and product.stock_total == 0
    listing = client.get("/admin/products").data
    assert b"was deleted" in listing and b"/admin/products/" + shop.wallet.encode() not in listing
    assert client.get(f"/admin/products/{shop.wallet}").status_code == 404


def test_image_upload_and_removal(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    tok = token(client, f"/admin/products/{shop.wallet}")
    png = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(png, format="PNG")
    uploaded = client.post(f"/admin/products/{shop.wallet}/images", content_type="multipart/form-data",
                           data={"csrf_token": tok, "image": (io.BytesIO(png.getvalue()), "card.png")})
    assert uploaded.status_code == 302
    with app.app_context(), tenant_scope(store):
        image = db.session.scalar(select(ProductImage).where(ProductImage.product_id == shop.wallet))
        assert image.is_primary and db.session.get(Product, shop.wallet).primary_image_url == image.url
    assert image.url.encode() in client.get("/").data
    not_image = client.post(f"/admin/products/{shop.wallet}/images", content_type="multipart/form-data",
                            data={"csrf_token": tok, "image": (io.BytesIO(b"GIF89a-nope"), "x.gif")})
    assert not_image.status_code == 422 and b"not an image" in not_image.data
    removed = client.post(f"/admin/products/{shop.wallet}/images/{image.id}/delete", data={"csrf_token": tok})
    assert removed.status_code == 302
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Product, shop.wallet).primary_image_url is None


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns above its limit, too
def test_image_upload_refuses_too_many_pixels(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    tok = token(client, f"/admin/products/{shop.wallet}")
    png = io.BytesIO()
    Image.new("RGB", (6000, 5000), "orange").save(png, format="PNG")  # 30 megapixels, a few KB
    refused = client.post(f"/admin/products/{shop.wallet}/images", content_type="multipart/form-data",
                          data={"csrf_token": tok, "image": (io.BytesIO(png.getvalue()), "poster.png")})
    assert refused.status_code == 422
    assert "at most 25 megapixels (this one is 6000×5000)" in refused.get_data(as_text=True)
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(ProductImage).where(ProductImage.product_id == shop.wallet)) is None


def test_category_tree_edit_and_delete(client, app, store, make, shop):
    signed_in(client, make, store, "MANAGER")
    page = client.get("/admin/categories").data.decode()
    assert page.index("Gift Cards") < page.index("Steam") and "--depth: 1" in page and "--chip: #1B2838" in page
    edit = client.get(f"/admin/categories/{shop.steam}")
    assert edit.status_code == 200 and f'<option selected value="{shop.cards}">'.encode() in edit.data
    cycle = client.post(f"/admin/categories/{shop.cards}", data={
        "csrf_token": csrf(edit.data), "title": "Gift Cards", "parent_id": shop.steam, "hex_code": "#f59e0b", "sort_order": "0"})
    assert cycle.status_code == 422 and b"cannot be inside itself" in cycle.data
    saved = client.post(f"/admin/categories/{shop.steam}", data={
        "csrf_token": csrf(edit.data), "title": "Steam Cards", "parent_id": "", "hex_code": "#000000",
        "sort_order": "5", "is_active": "y", "description": "PC"})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(store):
        steam = db.session.get(Category, shop.steam)
        assert (steam.title, steam.parent_id, steam.hex_code, steam.sort_order) == ("Steam Cards", None, "#000000", 5)
    deleted = client.post(f"/admin/categories/{shop.steam}/delete", data={"csrf_token": csrf(edit.data)})
    assert deleted.status_code == 302
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Category, shop.steam) is None
        assert db.session.get(Product, shop.wallet).category_id is None


def test_card_paths_match_the_routes(app):
    """The grid builds product/category links without url_for; they must stay the routes' paths."""
    with app.test_request_context():
        from flask import render_template_string, url_for

        assert render_template_string("{{ product_path('steam-card') }}") == url_for("storefront.product", slug="steam-card")
        assert render_template_string("{{ category_path('gift-cards') }}") == url_for("storefront.category", slug="gift-cards")


def test_a_second_category_of_the_same_title_is_refused_under_the_field(client, app, store, make):
    signed_in(client, make, store, "ADMIN")
    tok = token(client, "/admin/categories")
    form = {"csrf_token": tok, "title": "Merch", "hex_code": "#10b981", "sort_order": "1", "is_active": "y", "parent_id": ""}
    assert client.post("/admin/categories", data=form).status_code == 302
    again = client.post("/admin/categories", data={**form, "title": " merch "})
    html = again.data.decode()
    assert again.status_code == 422 and "Another category at the top level is already called “Merch”" in html
    with app.app_context(), tenant_scope(store):
        assert [c.title for c in db.session.scalars(select(Category))] == ["Merch"]
