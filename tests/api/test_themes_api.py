"""Themes (issue 12, Seed A Templates): the public list and detail, the SVG preview, applying one
(Admin) and what the shop then renders; two stores keep their own look."""
from __future__ import annotations

import re

import pytest

from services.themes import THEMES, contrast_ratio, contrast_text


@pytest.fixture
def admin(make, store):
    return make.headers(make.user(store, role="ADMIN"), store)


def test_the_list_is_public_and_names_the_current_theme(client, store):
    body = client.get("/api/templates").get_json()
    assert [t["slug"] for t in body["items"]] == ["clean", "arcade", "minimal", "boutique"]
    assert body["current"] == "clean"
    arcade = next(t for t in body["items"] if t["slug"] == "arcade")
    assert arcade["dark"] is True and arcade["layout"] == {"hero": "split", "grid": "compact", "cards": "outline",
                                                            "radius": "soft"}
    assert arcade["palette"]["background_color"] == "#0b1020"
    assert arcade["preview_url"] == "/api/templates/arcade/preview.svg"


def test_one_theme_and_an_unknown_one(client, store):
    assert client.get("/api/templates/minimal").get_json()["layout"]["cards"] == "flat"
    missing = client.get("/api/templates/neon")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "template_not_found"


def test_the_preview_is_an_svg_in_the_themes_colours(client, store):
    response = client.get("/api/templates/arcade/preview.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and 'fill="#0b1020"' in svg and "#a3e635" in svg
    # five cards to a row for the compact grid, three for the roomy one
    assert svg.count("<g>") == 5 and client.get("/api/templates/minimal/preview.svg").get_data(as_text=True).count("<g>") == 3


def test_applying_a_theme_sets_layout_and_palette_and_the_shop_shows_it(client, store, admin):
    response = client.put("/api/tenants/current/template", headers=admin, json={"slug": "arcade"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["theme"]["slug"] == "arcade"
    assert body["branding"]["background_color"] == "#0b1020" and body["branding"]["primary_color"] == "#a3e635"
    assert client.get("/api/admin/config", headers=admin).get_json()["theme"] == "arcade"
    page = client.get("/").get_data(as_text=True)
    html = re.search(r"<html[^>]*>", page).group(0)
    assert 'class="theme-arcade hero-split grid-compact cards-outline radius-soft theme-dark"' in html
    assert "--bg:#0b1020" in html and "--brand-contrast:#0f172a" in html  # dark text on lime buttons
    assert "css/themes.css" in page


def test_keep_colors_changes_only_the_layout(client, store, admin):
    client.post("/api/admin/config/update", headers=admin, json={"branding": {"primary_color": "#123456"}})
    body = client.put("/api/tenants/current/template", headers=admin,
                      json={"slug": "minimal", "keep_colors": True}).get_json()
    assert body["theme"]["slug"] == "minimal" and body["branding"]["primary_color"] == "#123456"


def test_bad_requests_change_nothing(client, store, admin, make):
    unknown = client.put("/api/tenants/current/template", headers=admin, json={"slug": "neon"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "template_not_found"
    empty = client.put("/api/tenants/current/template", headers=admin, json={})
    assert empty.status_code == 422
    config = client.post("/api/admin/config/update", headers=admin, json={"theme": "neon"})
    assert config.status_code == 422 and "theme" in config.get_json()["error"]["details"]
    manager = make.headers(make.user(store, role="MANAGER"), store)
    assert client.put("/api/tenants/current/template", headers=manager, json={"slug": "arcade"}).status_code == 403
    assert client.get("/api/templates").get_json()["current"] == "clean"


def test_two_stores_keep_their_own_theme(client, store, other_store, make, admin):
    client.put("/api/tenants/current/template", headers=admin, json={"slug": "boutique"})
    other = client.get("/", headers={"Host": "other.example.com"}).get_data(as_text=True)
    assert "theme-clean" in other and "theme-boutique" not in other
    assert "theme-boutique" in client.get("/").get_data(as_text=True)


def test_every_theme_reads_well():
    """Body text on the background and button text on the brand colour pass WCAG AA (4.5:1)."""
    for theme in THEMES.values():
        assert contrast_ratio(theme.text_color, theme.background_color) >= 7, theme.slug
        assert contrast_ratio(contrast_text(theme.primary_color), theme.primary_color) >= 4.5, theme.slug
