"""Branding and the store itself (issue 12, Seed A): friendly and field names, image uploads
checked and re-encoded, the old file deleted, /api/tenants/current, and what the shop shows."""
from __future__ import annotations

import io
from pathlib import Path

from tests.api.conftest import error_code, png_bytes


def upload(client, headers, image_type, data, name="logo.png"):
    return client.post(f"/api/branding/upload/{image_type}", headers=headers,
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_friendly_branding_reads_and_writes(client, store, admin_headers):
    body = client.get("/api/branding", headers=admin_headers).get_json()
    assert body["colors"] == {"primary": "#4f46e5", "accent": "#0ea5e9", "background": "#f8fafc", "text": "#0f172a"}
    assert body["logo"] is None and body["tagline"] == "" and body["theme"] == "clean"
    changed = client.put("/api/branding", headers=admin_headers, json={
        "store_name": "Neon Keys", "tagline": "Keys in seconds", "colors": {"primary": "#0f766e"}, "font": "Georgia, serif"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["store_name"] == "Neon Keys" and body["tagline"] == "Keys in seconds"
    assert body["colors"]["primary"] == "#0f766e" and body["colors"]["accent"] == "#0ea5e9" and body["font"] == "Georgia, serif"
    public = client.get("/api/storefront/branding").get_json()
    assert public["primary_color"] == "#0f766e" and public["tagline"] == "Keys in seconds" and public["store_name"] == "Neon Keys"
    page = client.get("/").get_data(as_text=True)
    assert "Keys in seconds" in page and "--brand:#0f766e" in page and "--font:Georgia, serif" in page


def test_bad_branding_is_refused_whole(client, store, admin_headers):
    response = client.put("/api/branding", headers=admin_headers, json={
        "tagline": "ok", "colors": {"primary": "teal"}, "font": "x;background:url(//evil)"})
    assert response.status_code == 422 and error_code(response) == "validation_error"
    details = response.get_json()["error"]["details"]
    assert "branding.primary_color" in details and "branding.font_family" in details
    outside = client.put("/api/tenants/current/branding", headers=admin_headers, json={"logo_url": "javascript:alert(1)"})
    assert outside.status_code == 422
    assert client.get("/api/branding", headers=admin_headers).get_json()["tagline"] == ""


def test_field_names_spelling(client, store, admin_headers):
    response = client.put("/api/tenants/current/branding", headers=admin_headers,
                          json={"accent_color": "#db2777", "hero_url": "https://cdn.example.com/hero.jpg"})
    assert response.status_code == 200
    assert response.get_json()["accent_color"] == "#db2777" and response.get_json()["hero_url"].startswith("https://")


def test_an_uploaded_logo_is_reencoded_served_and_replaced(app, client, store, admin_headers):
    first = upload(client, admin_headers, "logo", png_bytes((300, 120)))
    assert first.status_code == 201, first.get_json()
    url = first.get_json()["logo"]
    assert url.startswith("/uploads/") and url.endswith(".webp")
    served = client.get(url)
    assert served.status_code == 200 and served.get_data()[8:12] == b"WEBP"
    assert f'src="{url}"' in client.get("/").get_data(as_text=True)
    path = Path(app.config["UPLOAD_FOLDER"]) / url.removeprefix("/uploads/")
    assert path.exists()
    second = upload(client, admin_headers, "logo", png_bytes((64, 64), (0, 0, 0)))
    assert second.get_json()["logo"] != url and not path.exists()  # the old file went with the change


def test_uploads_refuse_what_is_not_an_image_or_too_big(app, client, store, admin_headers, make):
    assert error_code(upload(client, admin_headers, "logo", b"GIF89a not really")) == "invalid_image"
    assert error_code(upload(client, admin_headers, "favicon", png_bytes())) == "invalid_image_type"
    app.config["MAX_BRANDING_BYTES"] = 1024
    big = upload(client, admin_headers, "banner", png_bytes((400, 400)) + b"\0" * 2048)
    assert big.status_code == 413 and error_code(big) == "file_too_large"
    manager = make.headers(make.user(store, role="MANAGER"), store)
    assert upload(client, manager, "hero", png_bytes()).status_code == 403
    assert client.get("/api/branding", headers=admin_headers).get_json()["banner"] is None


def test_tenants_current_reads_and_updates_the_store(client, store, other_store, admin_headers):
    body = client.get("/api/tenants/current", headers=admin_headers).get_json()
    assert body["slug"] == "main" and body["currency"] == "EUR" and body["status"] == "active"
    assert body["settings"]["theme"] == "clean" and body["settings"]["name"] == "Main Store"
    changed = client.put("/api/tenants/current", headers=admin_headers, json={
        "name": "Main Street", "custom_domain": "Shop.Example.ORG.", "timezone": "Europe/Lisbon"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["name"] == "Main Street" and body["custom_domain"] == "shop.example.org"
    assert body["settings"]["timezone"] == "Europe/Lisbon"
    assert "Main Street" in client.get("/", headers={"Host": "shop.example.org"}).get_data(as_text=True)
    taken = client.put("/api/tenants/current", headers=admin_headers, json={"custom_domain": "other.example.com"})
    assert taken.status_code == 409 and error_code(taken) == "domain_taken"
    assert client.put("/api/tenants/current", headers=admin_headers, json={"currency": "USD"}).status_code == 422
