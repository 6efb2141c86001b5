"""Products API (Seed A "Products", Seed B Group 2): listing, detail, changes, bad input, isolation,
constant query count, images."""
from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import event, select, update

from extensions import db
from models import Product, ProductImage, ProductTag, StockItem, Variant
from services import categories as category_service
from services import products as product_service
from services import tags_attributes as tag_service
from tenancy import tenant_scope
from tests.api.conftest import error_code, png_bytes

PRODUCT_KEYS = {"id", "title", "slug", "description", "category", "category_id", "enabled", "is_active",
                "is_featured", "kind", "tax_class", "replacement_settings", "average_rating", "review_count", "starting_at",
                "currency", "stock_count", "in_stock", "view_count", "product_image_url", "tags",
                "created_at", "updated_at"}
VARIANT_KEYS = {"id", "product_id", "title", "sku", "price", "currency", "min_quantity", "max_quantity",
                "stock_count", "in_stock", "is_active", "weight_grams", "attribute_values"}


def test_create_product_with_variants_tags_and_category(client, store, catalog, manager_headers, app):
    category = catalog.category("Gift Cards", hex_code="#ff5733")
    tag = catalog.tag("Sale")
    response = client.post("/api/products", headers=manager_headers, json={
        "title": "Amazon Gift Card", "description": "<p>Instant</p><script>x()</script>",
        "category_id": category["id"], "tag_ids": [tag["id"]], "is_featured": True,
        "replacement_settings": {"replace_enabled": False, "warranty_time": 3600},
        "subcategories": [{"title": "$50", "price": 49.99, "max_quantity": 5}, {"title": "$10", "price": "9.5"}],
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert PRODUCT_KEYS | {"images", "variants", "subcategories"} == set(body)
    assert body["slug"] == "amazon-gift-card" and body["description"] == "<p>Instant</p>"
    assert body["category"] == {"id": category["id"], "title": "Gift Cards", "slug": "gift-cards", "hex_code": "#FF5733"}
    assert body["enabled"] is True and body["is_active"] is True and body["is_featured"] is True
    assert body["replacement_settings"] == {"replace_enabled": False, "auto_replace_enabled": False,
                                            "auto_replace_max_before_approval": 3, "warranty_time": 3600}
    assert body["starting_at"] == 9.5 and body["currency"] == "EUR"
    assert body["variants"] == body["subcategories"]
    prices = sorted(v["price"] for v in body["variants"])
    assert prices == [9.5, 49.99]
    assert set(body["variants"][0]) == VARIANT_KEYS | {"low_stock_threshold"}  # a manager sees it
    assert body["tags"] == [{"id": tag["id"], "name": "Sale", "slug": "sale"}]
    with app.app_context(), tenant_scope(store):
        product = db.session.get(Product, body["id"])
        assert product.store_id == store.id and product.starting_at == 950
        assert sorted(db.session.scalars(select(Variant.price).where(Variant.product_id == product.id))) == [950, 4999]
        assert db.session.scalar(select(ProductTag.tag_id).where(ProductTag.product_id == product.id)) == tag["id"]


@pytest.mark.parametrize("role,sees_disabled", [(None, False), ("USER", False), ("RESELLER", False),
                                                 ("STAFF", False), ("MANAGER", True), ("ADMIN", True),
                                                 ("SYSADMIN", True)])
def test_all_products_shows_disabled_ones_only_to_those_who_manage_products(client, store, make, catalog, role,
                                                                          sees_disabled):
    """Seed B's list: "all enabled products (Admins see all)"; product writes are Manager+, so
    managers and above see the disabled ones too, and STAFF (who cannot change products) do not."""
    catalog.product("Visible")
    catalog.product("Hidden", enabled=False)
    headers = make.headers(make.user(store, role=role), store) if role else {}
    answer = client.get("/api/products/all", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert sorted(p["title"] for p in body["items"]) == (["Hidden", "Visible"] if sees_disabled else ["Visible"])
    assert body["total"] == (2 if sees_disabled else 1)


def test_detail_by_id_or_slug_and_what_shoppers_see(client, store, catalog, staff_headers):
    product = catalog.product("Netflix", variants=[{"title": "1 month", "price": 10},
                                                   {"title": "Hidden", "price": 1, "is_active": False}])
    by_id = client.get(f"/api/products/{product['id']}")
    by_slug = client.get("/api/products/netflix")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.get_json()["id"] == by_slug.get_json()["id"] == product["id"]
    shopper_view = by_slug.get_json()
    assert [v["title"] for v in shopper_view["variants"]] == ["1 month"]
    assert set(shopper_view["variants"][0]) == VARIANT_KEYS  # no low_stock_threshold, no deliverables
    staff_view = client.get("/api/products/netflix", headers=staff_headers).get_json()
    assert sorted(v["title"] for v in staff_view["variants"]) == ["1 month", "Hidden"]
    assert "low_stock_threshold" in staff_view["variants"][0]
    missing = client.get("/api/products/nothing-here")
    assert missing.status_code == 404 and error_code(missing) == "product_not_found"


def test_disabled_products_are_hidden_from_shoppers_but_not_staff(client, store, catalog, staff_headers, user_headers):
    catalog.product("Visible")
    hidden = catalog.product("Hidden", enabled=False)
    assert hidden["enabled"] is False and hidden["is_active"] is False
    for headers in ({}, user_headers):
        listing = client.get("/api/products", headers=headers).get_json()
        assert [p["title"] for p in listing["items"]] == ["Visible"]
        assert client.get(f"/api/products/{hidden['id']}", headers=headers).status_code == 404
        assert [p["title"] for p in client.get("/api/products/all", headers=headers).get_json()["items"]] == ["Visible"]
    staff = client.get("/api/products", headers=staff_headers).get_json()
    assert {p["title"] for p in staff["items"]} == {"Visible", "Hidden"}
    assert client.get(f"/api/products/{hidden['id']}", headers=staff_headers).status_code == 200
    only_disabled = client.get("/api/products?is_active=false", headers=staff_headers).get_json()
    assert [p["title"] for p in only_disabled["items"]] == ["Hidden"]
    # disabled products are for staff: a guest or shopper asking for them finds none (not the enabled ones)
    for headers in ({}, user_headers):
        refused = client.get("/api/products?is_active=false", headers=headers)
        assert refused.status_code == 200 and refused.get_json()["items"] == [] and refused.get_json()["total"] == 0
        enabled = client.get("/api/products?is_active=true", headers=headers).get_json()
        assert [p["title"] for p in enabled["items"]] == ["Visible"]


def test_listing_filters_sorting_and_pagination(client, store, catalog, admin_headers):
    cards = catalog.category("Cards")
    sub = catalog.category("Steam", parent_id=cards["id"])
    tag = catalog.tag("Hot")
    cheap = catalog.product("Cheap Steam", category_id=sub["id"], variants=[{"title": "a", "price": 2}])
    mid = catalog.product("Mid Card", category_id=cards["id"], tag_ids=[tag["id"]], is_featured=True,
                          variants=[{"title": "a", "price": 20}])
    dear = catalog.product("Dear Thing", variants=[{"title": "a", "price": 200}])
    catalog.stock(mid["variants"][0]["id"], ["M-1", "M-2"], admin_headers)
    catalog.stock(dear["variants"][0]["id"], [f"D-{i}" for i in range(10)], admin_headers)

    def titles(qs: str) -> list[str]:
        response = client.get(f"/api/products?{qs}")
        assert response.status_code == 200, response.get_json()
        return [p["title"] for p in response.get_json()["items"]]

    assert titles("search=steam") == ["Cheap Steam"]
    assert sorted(titles(f"category_id={cards['id']}")) == ["Cheap Steam", "Mid Card"]  # includes sub-categories
    assert titles(f"tag_id={tag['id']}") == ["Mid Card"]
    assert titles("min_price=10&max_price=20") == ["Mid Card"]
    assert titles("max_price=19.99") == ["Cheap Steam"]
    assert sorted(titles("stock_status=in_stock")) == ["Dear Thing", "Mid Card"]
    assert titles("stock_status=out_of_stock") == ["Cheap Steam"]
    assert titles("stock_status=low_stock") == ["Mid Card"]  # 2 <= threshold 5; 10 is not low
    assert titles("is_featured=true") == ["Mid Card"]
    assert titles("sort_by=price&sort_dir=asc") == ["Cheap Steam", "Mid Card", "Dear Thing"]
    assert titles("sort_by=title&sort_dir=desc") == ["Mid Card", "Dear Thing", "Cheap Steam"]
    page = client.get("/api/products?sort_by=price&sort_dir=asc&page=2&page_size=2").get_json()
    assert [p["title"] for p in page["items"]] == ["Dear Thing"]
    assert (page["page"], page["page_size"], page["total"], page["pages"]) == (2, 2, 3, 2)
    item = client.get(f"/api/products?tag_id={tag['id']}").get_json()["items"][0]
    assert set(item) == PRODUCT_KEYS
    assert item["tags"] == [{"id": tag["id"], "name": "Hot", "slug": "hot"}]
    assert item["stock_count"] == 2 and item["in_stock"] is True and item["starting_at"] == 20.0
    assert cheap["in_stock"] is False


@pytest.mark.parametrize("qs,field", [
    ("min_price=30&max_price=10", "min_price"),
    ("min_price=-1", "min_price"),
    ("max_price=1.999", "max_price"),
    ("max_price=1e40", "max_price"),
    ("page_size=101", "page_size"),
    ("page=0", "page"),
    ("sort_by=secret", "sort_by"),
    ("stock_status=plenty", "stock_status"),
])
def test_listing_refuses_bad_filters(client, store, qs, field):
    response = client.get(f"/api/products?{qs}")
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert field in details.get("fields", details)


@pytest.mark.parametrize("body,field,code", [
    ({"title": "X", "category_id": "00000000-0000-4000-8000-000000000000"}, "category_id", "unknown_category"),
    ({"title": "X", "variants": [{"title": "a", "price": -1}]}, "price", "validation_error"),
    ({"title": "X", "variants": [{"title": "a", "price": 1.999}]}, "price", "validation_error"),
    ({"title": "X", "variants": [{"title": "a", "price": "NaN"}]}, "variants.0.price", "validation_error"),
    ({"title": "X", "variants": [{"title": "a", "price": 1, "min_quantity": 5, "max_quantity": 2}]},
     "min_quantity", "min_above_max"),
    ({"title": "X", "variants": [{"title": "a", "price": 1, "min_quantity": 1.5}]}, "variants.0.min_quantity",
     "validation_error"),
    ({"title": "X", "variants": [{"title": "a", "price": 1, "max_quantity": True}]}, "variants.0.max_quantity",
     "validation_error"),
    ({"title": "X", "variants": [{"title": "a", "price": 1, "max_quantity": 2**31}]}, "variants.0.max_quantity",
     "validation_error"),
    ({"title": "X", "tag_ids": ["00000000-0000-4000-8000-000000000000"]}, "tag_ids", "validation_error"),
    ({"title": "X", "store_id": "elsewhere"}, "store_id", "validation_error"),
    ({"title": "X", "view_count": 10**6}, "view_count", "validation_error"),
    ({"title": ""}, "title", "validation_error"),
    ({"title": "X", "kind": "service"}, "kind", "validation_error"),
])
def test_create_product_refuses_bad_input_and_creates_nothing(client, store, manager_headers, app, body, field, code):
    response = client.post("/api/products", json=body, headers=manager_headers)
    assert response.status_code == 422, response.get_json()
    assert error_code(response) == code
    details = response.get_json()["error"]["details"]
    assert field in details.get("fields", details), details
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Product.id)) is None


def test_duplicate_slug_is_a_conflict(client, store, catalog, manager_headers):
    catalog.product("Gift", slug="gift")
    again = client.post("/api/products", json={"title": "Other", "slug": "gift"}, headers=manager_headers)
    assert again.status_code == 409 and error_code(again) == "slug_taken"
    same_title = catalog.product("Gift")  # a generated slug steps around the clash
    assert same_title["slug"] == "gift-2"
    clash = client.put(f"/api/products/{same_title['id']}", json={"slug": "gift"}, headers=manager_headers)
    assert clash.status_code == 409


def test_update_product_changes_only_the_fields_sent(client, store, catalog, manager_headers, app):
    category = catalog.category("Cards")
    product = catalog.product("Old", category_id=category["id"], description="<p>Keep</p>")
    response = client.put(f"/api/products/{product['id']}", headers=manager_headers, json={
        "title": "New", "enabled": False, "replacement_settings": {"auto_replace_enabled": True}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["title"] == "New" and body["enabled"] is False and body["description"] == "<p>Keep</p>"
    assert body["category_id"] == category["id"] and body["replacement_settings"]["auto_replace_enabled"] is True
    cleared = client.put(f"/api/products/{product['id']}", json={"category_id": None}, headers=manager_headers)
    assert cleared.get_json()["category"] is None
    refused = client.put(f"/api/products/{product['id']}", json={"variants": []}, headers=manager_headers)
    assert refused.status_code == 422
    with app.app_context(), tenant_scope(store):
        row = db.session.get(Product, product["id"])
        assert (row.title, row.is_enabled, row.category_id) == ("New", False, None)


def test_delete_is_a_soft_delete_that_keeps_sold_stock(client, store, catalog, manager_headers, admin_headers, app):
    product = catalog.product("Key", slug="key")
    variant_id = product["variants"][0]["id"]
    catalog.stock(variant_id, ["SOLD-1", "FREE-1", "FREE-2"], admin_headers)
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(StockItem).where(StockItem.id == db.session.scalar(
            select(StockItem.id).where(StockItem.deliverable_hash.isnot(None)).limit(1))).values(is_sold=True))
        db.session.commit()
    response = client.delete(f"/api/products/{product['id']}", headers=manager_headers)
    assert response.status_code == 204 and response.data == b""
    assert client.get(f"/api/products/{product['id']}").status_code == 404
    assert client.get(f"/api/products/{product['id']}", headers=manager_headers).status_code == 404
    assert client.get("/api/products", headers=manager_headers).get_json()["total"] == 0
    assert client.delete(f"/api/products/{product['id']}", headers=manager_headers).status_code == 404
    with app.app_context(), tenant_scope(store):
        row = db.session.get(Product, product["id"])
        assert row is not None and row.deleted_at is not None and row.slug != "key"
        items = db.session.scalars(select(StockItem).where(StockItem.product_id == product["id"])).all()
        assert len(items) == 3  # rows stay
        sold = [i for i in items if i.is_sold]
        assert len(sold) == 1 and sold[0].deliverable_encrypted is not None and sold[0].removed_at is None
        assert all(i.removed_at is not None and i.deliverable_encrypted is None for i in items if not i.is_sold)
    assert catalog.product("Key")["slug"] == "key"  # the slug is free again


def test_another_stores_product_is_not_found(client, store, other_store, make, catalog, app):
    mine = catalog.product("Mine")
    other_admin = make.user(other_store, role="ADMIN")
    other_headers = make.headers(other_admin, other_store)
    base = "http://other.example.com"
    theirs = client.post("/api/products", json={"title": "Theirs", "variants": [{"title": "a", "price": 1}]},
                         headers=other_headers, base_url=base)
    assert theirs.status_code == 201, theirs.get_json()
    theirs = theirs.get_json()
    assert client.get(f"/api/products/{theirs['id']}").status_code == 404
    assert client.get(f"/api/products/{mine['id']}", base_url=base).status_code == 404
    assert [p["title"] for p in client.get("/api/products", base_url=base).get_json()["items"]] == ["Theirs"]
    # the other store's admin, on its own host, cannot touch this store's product
    for method, path, body in [("PUT", f"/api/products/{mine['id']}", {"title": "Hacked"}),
                               ("DELETE", f"/api/products/{mine['id']}", None),
                               ("POST", f"/api/products/{mine['id']}/variants", {"title": "x", "price": 1}),
                               ("GET", f"/api/subcategories/{mine['variants'][0]['id']}", None)]:
        response = client.open(path, method=method, json=body, headers=other_headers, base_url=base)
        assert response.status_code == 404, (method, path, response.get_json())
    # on a host that names no store, its token's tenant picks its own store: still not found
    assert client.put(f"/api/products/{mine['id']}", json={"title": "x"}, headers=other_headers).status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Product, mine["id"]).title == "Mine"


def _count_queries(app, client, url: str) -> tuple[int, dict]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements), response.get_json()


def test_listing_uses_a_constant_number_of_queries(client, store, app):

    def build(n: int, offset: int) -> None:
        with app.app_context(), tenant_scope(store):
            category = category_service.create_category(title=f"Category {offset}")
            tag = tag_service.create_tag(f"Tag {offset}")
            for i in range(n):
                product_service.create_product({"title": f"Product {offset + i}", "category_id": category.id,
                                                "tag_ids": [tag.id], "variants": [{"title": "v", "price": 100 + i}]})
            db.session.commit()

    build(5, 0)
    few, body = _count_queries(app, client, "/api/products?page_size=24")
    assert len(body["items"]) == 5 and all(p["category"] and p["tags"] for p in body["items"])
    build(19, 100)
    many, body = _count_queries(app, client, "/api/products?page_size=24")
    assert len(body["items"]) == 24 and all(p["category"] and p["tags"] for p in body["items"])
    assert few == many <= 4  # store, count, page (category joined), tags


# --- images ------------------------------------------------------------------------------

def test_upload_and_delete_images(client, store, catalog, manager_headers, app):
    product = catalog.product("Pictured")
    first = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                        data={"file": (io.BytesIO(png_bytes()), "photo.png")}, content_type="multipart/form-data")
    assert first.status_code == 201, first.get_json()
    image = first.get_json()
    assert image["is_primary"] is True and (image["width"], image["height"]) == (40, 30)
    stored = client.get(image["url"])
    assert stored.status_code == 200 and stored.mimetype == "image/webp"
    with app.app_context(), tenant_scope(store):
        row = db.session.get(ProductImage, image["id"])
        path = Path(app.config["UPLOAD_FOLDER"]) / row.storage_key
        assert path.exists() and path.read_bytes()[8:12] == b"WEBP"
    second = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                         data={"image": (io.BytesIO(png_bytes(color=(0, 0, 255))), "b.png"), "is_primary": "true"},
                         content_type="multipart/form-data")
    assert second.status_code == 201 and second.get_json()["is_primary"] is True
    detail = client.get(f"/api/products/{product['id']}").get_json()
    assert detail["product_image_url"] == second.get_json()["url"]
    assert [i["is_primary"] for i in detail["images"]] == [False, True]
    gone = client.delete(f"/api/products/{product['id']}/images/{second.get_json()['id']}", headers=manager_headers)
    assert gone.status_code == 204
    detail = client.get(f"/api/products/{product['id']}").get_json()
    assert detail["product_image_url"] == image["url"] and detail["images"][0]["is_primary"] is True
    missing = client.delete(f"/api/products/{product['id']}/images/{second.get_json()['id']}", headers=manager_headers)
    assert missing.status_code == 404
    assert path.exists()
    client.delete(f"/api/products/{product['id']}/images/{image['id']}", headers=manager_headers)
    assert not path.exists()


@pytest.mark.parametrize("data,status,code", [
    (lambda: {"file": (io.BytesIO(b"<html><script>alert(1)</script></html>"), "evil.png")}, 422, "invalid_image"),
    (lambda: {"file": (io.BytesIO(b"GIF89a" + b"<html>" * 20), "fake.gif")}, 422, "invalid_image"),
    (lambda: {"file": (io.BytesIO(b""), "empty.png")}, 422, "invalid_image"),
    (lambda: {}, 422, "file_required"),
    (lambda: {"file": (io.BytesIO(png_bytes()), "a.png"), "owner": "me"}, 422, "validation_error"),
], ids=["html-as-png", "html-as-gif", "empty", "no-file", "unknown-field"])
def test_upload_refuses_what_is_not_an_image(client, store, catalog, manager_headers, app, data, status, code):
    product = catalog.product("Pictured")
    response = client.post(f"/api/products/{product['id']}/images", headers=manager_headers, data=data(),
                           content_type="multipart/form-data")
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(ProductImage.id)) is None


def test_upload_refuses_large_files(client, store, catalog, manager_headers, app):
    product = catalog.product("Pictured")
    eleven_mb = png_bytes() + b"\0" * (11 * 1024 * 1024)
    response = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                           data={"file": (io.BytesIO(eleven_mb), "big.png")}, content_type="multipart/form-data")
    assert response.status_code == 413 and error_code(response) == "file_too_large"
    fifty_mb = b"\0" * (50 * 1024 * 1024)
    response = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                           data={"file": (io.BytesIO(fifty_mb), "huge.png")}, content_type="multipart/form-data")
    assert response.status_code == 413 and error_code(response) in ("payload_too_large", "file_too_large")


@functools.cache
def _solid(size: tuple[int, int], fmt: str) -> bytes:
    """A solid-colour image: many pixels, few bytes (built once per session)."""
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format=fmt)
    return out.getvalue()


def _claiming_size(png: bytes, size: tuple[int, int]) -> bytes:
    """A real small PNG whose header claims ``size`` (the pixels never need decoding)."""
    ihdr = png[12:16] + struct.pack(">II", *size) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


def _stored_files(app, store) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / store.id
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns above its limit, too
@pytest.mark.parametrize("make_file,pixels", [
    (lambda: _solid((6000, 5000), "PNG"), "6000×5000"),
    (lambda: _claiming_size(png_bytes(), (12_000, 12_000)), None),
], ids=["30-megapixel-png", "144-megapixel-header"])
def test_upload_refuses_images_above_the_pixel_cap(client, store, catalog, manager_headers, app, make_file, pixels):
    """Refused from the header, before any pixel is decoded: no row, no file."""
    product = catalog.product("Pictured")
    data = make_file()
    assert len(data) < 1024 * 1024  # small in bytes: only the pixel count refuses it
    response = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                           data={"file": (io.BytesIO(data), "huge.png")}, content_type="multipart/form-data")
    assert response.status_code == 422, response.get_json()
    assert error_code(response) == "image_too_large"
    error = response.get_json()["error"]
    assert "25 megapixels" in error["message"]
    if pixels:
        assert pixels in error["message"]
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(ProductImage.id)) is None
        assert db.session.get(Product, product["id"]).primary_image_url is None
    assert _stored_files(app, store) == []


def test_a_large_allowed_jpeg_is_stored_downscaled(client, store, catalog, manager_headers, app):
    product = catalog.product("Pictured")
    data = _solid((6000, 4000), "JPEG")  # 24 megapixels: under the cap
    response = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                           data={"file": (io.BytesIO(data), "camera.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    image = response.get_json()
    assert (image["width"], image["height"]) == (2400, 1600)
    [path] = _stored_files(app, store)
    with Image.open(path) as stored:
        assert stored.format == "WEBP" and stored.size == (2400, 1600)
        assert stored.convert("RGB").getpixel((1200, 800)) == pytest.approx((30, 120, 200), abs=6)


def test_a_json_body_is_still_required_elsewhere(client, store, catalog, manager_headers):
    response = client.post("/api/products", headers=manager_headers, data={"title": "x"},
                           content_type="multipart/form-data")
    assert response.status_code == 415 and error_code(response) == "unsupported_media_type"


def test_an_image_file_is_deleted_only_once_its_row_is_gone_for_good(client, store, catalog, manager_headers, app):
    """The file goes after the commit: a rolled-back delete keeps the file its row still names."""
    from services import images as image_service
    from services import products as product_service

    product = catalog.product("Kept picture")
    uploaded = client.post(f"/api/products/{product['id']}/images", headers=manager_headers,
                           data={"file": (io.BytesIO(png_bytes()), "photo.png")}, content_type="multipart/form-data")
    image_id = uploaded.get_json()["id"]
    with app.test_request_context(), tenant_scope(store):
        path = Path(app.config["UPLOAD_FOLDER"]) / db.session.get(ProductImage, image_id).storage_key
        owner = product_service.get_product(product["id"], include_hidden=True, with_details=False)
        image_service.delete_image(owner, image_id)
        assert path.exists()  # not before the commit
        db.session.rollback()
        assert path.exists() and db.session.get(ProductImage, image_id) is not None
        owner = product_service.get_product(product["id"], include_hidden=True, with_details=False)
        image_service.delete_image(owner, image_id)
        db.session.commit()
        assert not path.exists()

