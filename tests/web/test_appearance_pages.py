"""The Appearance page (issue 12): themes applied from the gallery, branding saved with messages
next to wrong fields, the live preview from unsaved fields, and image uploads; all seen by the shop."""
from __future__ import annotations

import io

import pytest

from tests.api.conftest import png_bytes
from tests.web.test_admin_orders_pages import HX, as_role, page_token
from tests.web.test_admin_payments_pages import text


@pytest.fixture
def admin(app, make, store):
    client, _ = as_role(app, make, store, "ADMIN")
    return client


def brand_form(page, **changes) -> dict:
    data = {"csrf_token": page_token(page), "name": "Main Store", "tagline": "", "primary_color": "#4f46e5",
            "accent_color": "#0ea5e9", "background_color": "#f8fafc", "text_color": "#0f172a", "font_family": "system-ui"}
    data.update(changes)
    return data


@pytest.mark.parametrize("role", ["STAFF", "MANAGER"])
def test_only_admins_see_it(app, make, store, role):
    client, _ = as_role(app, make, store, role)
    assert client.get("/admin/appearance").status_code == 403


def test_the_gallery_shows_every_theme_with_its_preview(admin, store):
    page = admin.get("/admin/appearance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for slug in ("clean", "arcade", "minimal", "boutique"):
        assert f'src="/api/templates/{slug}/preview.svg"' in html
    assert "In use" in text(page) and 'href="/admin/appearance"' in html and "css/themes.css" in html


def test_applying_a_theme_from_the_gallery(admin, client, store):
    page = admin.get("/admin/appearance")
    response = admin.post("/admin/appearance/theme", data={"csrf_token": page_token(page), "slug": "minimal"})
    assert response.status_code == 303
    assert "The Minimal theme is on" in text(admin.get("/admin/appearance"))
    shop = client.get("/").get_data(as_text=True)
    assert "theme-minimal hero-plain grid-roomy cards-flat radius-square" in shop and "--bg:#ffffff" in shop
    unknown = admin.post("/admin/appearance/theme", data={"csrf_token": page_token(page), "slug": "neon"})
    assert unknown.status_code == 404 and "No such template" in text(unknown)


def test_branding_saves_and_the_shop_shows_it(admin, client, store):
    page = admin.get("/admin/appearance")
    response = admin.post("/admin/appearance/branding", data=brand_form(
        page, name="Neon Keys", tagline="Keys in seconds", primary_color="#0F766E", font_family="Georgia, \"Times New Roman\", serif"))
    assert response.status_code == 303
    shop = client.get("/").get_data(as_text=True)
    assert "Neon Keys" in shop and "Keys in seconds" in shop and "--brand:#0f766e" in shop


def test_a_wrong_colour_is_said_next_to_its_field_and_nothing_is_saved(admin, client, store):
    page = admin.get("/admin/appearance")
    response = admin.post("/admin/appearance/branding", data=brand_form(page, tagline="Saved?", accent_color="teal"))
    assert response.status_code == 422
    assert "A colour such as #4f46e5" in text(response) and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert "Saved?" not in client.get("/").get_data(as_text=True)


def test_the_live_preview_draws_unsaved_colours_and_warns_on_poor_contrast(admin, store):
    good = admin.get("/admin/appearance/preview", query_string={"name": "Draft", "primary_color": "#b91c1c",
                                                                 "background_color": "#ffffff", "text_color": "#111111"}, headers=HX)
    assert good.status_code == 200 and "--brand:#b91c1c" in good.get_data(as_text=True) and "Draft" in text(good)
    assert "hard to read" not in text(good)
    poor = admin.get("/admin/appearance/preview", query_string={"background_color": "#ffffff", "text_color": "#eeeeee"}, headers=HX)
    assert "hard to read" in text(poor)
    junk = admin.get("/admin/appearance/preview", query_string={"primary_color": "red;}"}, headers=HX)
    assert "--brand:#4f46e5" in junk.get_data(as_text=True)  # a wrong value falls back to the saved one


def test_uploading_and_removing_the_logo(admin, client, store):
    page = admin.get("/admin/appearance")
    response = admin.post("/admin/appearance/images/logo", data={
        "logo-csrf_token": page_token(page), "logo-file": (io.BytesIO(png_bytes((200, 80))), "logo.png")},
        content_type="multipart/form-data")
    assert response.status_code == 303, text(response)
    shop = client.get("/").get_data(as_text=True)
    assert 'class="brand-logo"' in shop
    bad = admin.post("/admin/appearance/images/hero", data={
        "hero-csrf_token": page_token(page), "hero-file": (io.BytesIO(b"not an image"), "hero.png")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "That file is not an image we can read" in text(bad)
    removed = admin.post("/admin/appearance/images/logo/remove", data={"csrf_token": page_token(page)})
    assert removed.status_code == 303 and 'class="brand-logo"' not in client.get("/").get_data(as_text=True)
