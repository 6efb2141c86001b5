"""The admin settings page (issue 11, Settings): every section saves through one service call,
a refusal shows next to its field with a 422 and saves nothing, and the announcement bar's
preview is the storefront's own component."""
from __future__ import annotations

import pytest

from tests.web.test_admin_orders_pages import HX, as_role, page_token
from tests.web.test_admin_payments_pages import text


def form_data(page, **changes) -> dict:
    data = {"csrf_token": page_token(page), "name": "Main Store", "description": "",
            "review_reward": "0", "feedback_window_days": "7", "order_expiry_minutes": "30",
            "ann_template": "0", "ann_text": "", "ann_mode": "static", "ann_direction": "left",
            "locale": "en", "timezone": "UTC",
            "links-0-name": "", "links-0-href": "", "links-0-in_nav_bar": "y", "links-0-in_footer": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(app, make, store):
    client, _ = as_role(app, make, store, "ADMIN")
    return client


@pytest.mark.parametrize("role", ["STAFF", "MANAGER"])
def test_only_admins_see_the_settings_page(app, make, store, role):
    client, _ = as_role(app, make, store, role)
    assert client.get("/admin/settings").status_code == 403
    assert client.get("/admin/settings/announcement-preview").status_code == 403


def test_the_page_shows_every_section_and_the_nav_link(admin, store):
    page = admin.get("/admin/settings")
    assert page.status_code == 200
    body = text(page)
    for heading in ("Store", "Payment methods", "External links", "Reviews", "Orders", "Announcement bar", "Preview"):
        assert heading in body, heading
    assert 'href="/admin/settings"' in page.get_data(as_text=True)
    assert "Account balance: On" in body and 'href="/admin/payments"' in page.get_data(as_text=True)


def test_saving_changes_the_storefront_at_once(admin, client, store):
    page = admin.get("/admin/settings")
    response = admin.post("/admin/settings", data=form_data(
        page, name="Neon Keys", description="Night keys", review_reward="4", enforced_ratings="y",
        order_expiry_minutes="90", ann_enabled="y", ann_template="5", ann_text="Half price weekend",
        ann_mode="scrolling", ann_direction="right", **{"links-0-name": "Discord", "links-0-href": "https://discord.gg/x",
                                                       "links-0-emoji_icon": "💬"}))
    assert response.status_code == 303, text(response)[:500]
    config = client.get("/api/public/config").get_json()
    assert config["store_name"] == "Neon Keys" and config["review_reward"] == 4 and config["enforced_ratings"]
    assert config["external_links"] == [{"name": "Discord", "href": "https://discord.gg/x", "in_nav_bar": True,
                                         "in_footer": True, "emoji_icon": "💬"}]
    assert config["announcement_bar_config"] == {"enabled": True, "template": 5, "text": "Half price weekend",
                                                 "scrolling": True, "scroll_direction": "right"}
    home = client.get("/").get_data(as_text=True)
    assert "Half price weekend" in home and "scroll-right" in home and "Neon Keys" in home
    # edit and remove the link on the next save
    page = admin.get("/admin/settings")
    assert 'value="Discord"' in page.get_data(as_text=True)
    response = admin.post("/admin/settings", data=form_data(
        page, name="Neon Keys", **{"links-0-name": "Discord", "links-0-href": "https://discord.gg/x", "links-0-remove": "y",
                                   "links-1-name": "Help", "links-1-href": "/help", "links-1-in_footer": "y"}))
    assert response.status_code == 303
    links = client.get("/api/public/config").get_json()["external_links"]
    assert links == [{"name": "Help", "href": "/help", "in_nav_bar": False, "in_footer": True, "emoji_icon": ""}]


def test_errors_show_next_to_their_fields_with_422_and_nothing_is_saved(admin, client, store):
    page = admin.get("/admin/settings")
    response = admin.post("/admin/settings", data=form_data(
        page, name="Changed", review_reward="40", ann_enabled="y", ann_text=""))
    assert response.status_code == 422
    body = text(response)
    assert "Number must be between 0 and 10" in body and "needs a text" in body
    # the service's refusal (a javascript: link) goes next to that link's address
    response = admin.post("/admin/settings", data=form_data(
        page, name="Changed", **{"links-0-name": "Bad", "links-0-href": "javascript:alert(1)"}))
    assert response.status_code == 422
    assert "Links must start with https://" in text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert client.get("/api/public/config").get_json()["store_name"] == "Main Store"
    assert client.get("/api/public/config").get_json()["external_links"] == []


def test_the_support_email_is_checked_by_the_service_and_its_message_shows_on_the_field(admin, client, store):
    page = admin.get("/admin/settings")
    assert 'id="support_email"' in page.get_data(as_text=True)
    bad = admin.post("/admin/settings", data=form_data(page, name="Changed", support_email="not-an-email"))
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="support_email-err">The support email must be an email address such as help@example.com' in html
    assert html.count("The support email must be") == 1  # said once, on its field
    assert client.get("/api/public/config").get_json()["store_name"] == "Main Store"  # nothing saved
    saved = admin.post("/admin/settings", data=form_data(admin.get("/admin/settings"), support_email="help@neon.example"))
    assert saved.status_code == 303
    assert 'value="help@neon.example"' in admin.get("/admin/settings").get_data(as_text=True)


def test_the_preview_renders_the_storefront_bar_from_unsaved_fields(admin, client, store):
    preview = admin.get("/admin/settings/announcement-preview?ann_enabled=y&ann_template=3&ann_text=Hello+there"
                        "&ann_mode=scrolling&ann_direction=left", headers=HX)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<html" not in html
    assert 'class="announcement is-scrolling scroll-left"' in html and "#b91c1c" in html and "Hello there" in html
    off = admin.get("/admin/settings/announcement-preview?ann_text=Hello&ann_template=99", headers=HX)
    assert 'data-testid="announcement-off"' in off.get_data(as_text=True)
    assert client.get("/api/public/config").get_json()["announcement_bar_config"]["enabled"] is False


def test_the_region_section_sets_locale_and_time_zone(admin, client, store, make):
    from extensions import db
    from services import products as product_service
    from tenancy import tenant_scope

    with admin.application.app_context(), tenant_scope(store):
        product_service.create_product({"title": "Gift", "variants": [{"title": "Code", "price": 123_456}]})
        db.session.commit()
    page = admin.get("/admin/settings")
    assert "Portuguese (Portugal): 1\xa0234,56\xa0€" in page.get_data(as_text=True)
    saved = admin.post("/admin/settings", data=form_data(page, locale="pt_PT", timezone="Europe/Lisbon"))
    assert saved.status_code == 303
    assert "from <strong>1\xa0234,56\xa0€</strong>" in client.get("/").get_data(as_text=True)
    bad = admin.post("/admin/settings", data=form_data(admin.get("/admin/settings"), timezone="Mars/Olympus"))
    assert bad.status_code == 422 and "IANA time zone" in text(bad)
