"""The store configuration API (issue 11, Settings): Seed B /api/admin/config(/update) and
Seed A /api/tenant/settings, one document, all-or-nothing updates, seen by the storefront at once."""
from __future__ import annotations

import copy

import pytest


def error(response) -> dict:
    return response.get_json()["error"]


@pytest.fixture
def admin(make, store):
    return make.headers(make.user(store, role="ADMIN"), store)


def test_admin_config_is_the_whole_private_document(client, store, admin):
    body = client.get("/api/admin/config", headers=admin).get_json()
    assert body["name"] == "Main Store" and body["description"] == ""
    assert {m["name"]: m["enabled"] for m in body["payment_methods"]}["BALANCE"] is True
    for key in ("external_links", "review_reward", "enforced_ratings", "feedback_window_days",
                "reviews_require_approval", "announcement_bar_config", "branding", "order_expiry_minutes",
                "allow_free_items", "support_email", "topup_min", "topup_max"):
        assert key in body, key


def test_a_partial_update_changes_only_what_is_sent_and_answers_the_new_config(client, store, admin):
    response = client.post("/api/admin/config/update", headers=admin, json={
        "name": "Neon Keys", "description": "Game keys at night",
        "review_reward": 5, "order_expiry_minutes": 45,
        "announcement_bar_config": {"enabled": True, "text": "Summer sale"},
        "external_links": [{"name": "Discord", "href": "https://discord.gg/x", "emoji_icon": "💬", "in_footer": False}],
        "payment_methods": {"MANUAL": False},
    })
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Neon Keys" and body["description"] == "Game keys at night"
    assert body["review_reward"] == 5 and body["order_expiry_minutes"] == 45
    bar = body["announcement_bar_config"]
    assert bar["enabled"] is True and bar["text"] == "Summer sale" and bar["scroll_direction"] == "left"
    assert body["external_links"][0]["in_footer"] is False and body["external_links"][0]["in_nav_bar"] is True
    methods = {m["name"]: m["enabled"] for m in body["payment_methods"]}
    assert methods["MANUAL"] is False and methods["BALANCE"] is True
    assert body["feedback_window_days"] == 7  # untouched
    public = client.get("/api/public/config").get_json()
    assert public["store_name"] == "Neon Keys" and public["review_reward"] == 5
    assert [m["name"] for m in public["payment_methods"]] == ["BALANCE"]


def test_bad_input_is_a_422_naming_every_field_and_changes_nothing(client, store, admin):
    before = client.get("/api/admin/config", headers=admin).get_json()
    response = client.post("/api/admin/config/update", headers=admin, json={
        "name": "   ", "review_reward": 50, "announcement_bar_config": {"template": 99, "text": "x"},
        "external_links": [{"name": "Bad", "href": "javascript:alert(1)"}],
    })
    assert response.status_code == 422, response.get_json()
    details = error(response)["details"]
    assert {"name", "review_reward", "announcement_bar_config.template", "external_links.0.href"} <= set(details)
    one = client.post("/api/admin/config/update", headers=admin, json={"review_reward": 3, "order_expiry_minutes": 1})
    assert one.status_code == 422 and set(error(one)["details"]) == {"order_expiry_minutes"}
    assert client.get("/api/admin/config", headers=admin).get_json() == before


def test_unknown_fields_are_refused(client, store, admin):
    response = client.post("/api/admin/config/update", headers=admin, json={"store_id": "x"})
    assert response.status_code == 422


def test_enabling_an_unconfigured_payment_method_is_refused_and_nothing_changes(client, store, admin):
    before = client.get("/api/admin/config", headers=admin).get_json()
    response = client.post("/api/admin/config/update", headers=admin,
                           json={"name": "Changed", "payment_methods": [{"name": "STRIPE", "enabled": True}]})
    assert response.status_code == 422
    assert error(response)["code"] == "payment_method_not_configured"
    assert "payment_methods.STRIPE" in error(response)["details"]
    assert client.get("/api/admin/config", headers=admin).get_json() == before


@pytest.mark.parametrize("role,status", [("MANAGER", 403), ("STAFF", 403), ("USER", 403)])
@pytest.mark.parametrize("method,path", [("GET", "/api/admin/config"), ("POST", "/api/admin/config/update"),
                                         ("GET", "/api/tenant/settings"), ("PUT", "/api/tenant/settings")])
def test_only_admins_read_or_write_the_configuration(client, store, make, role, status, method, path):
    headers = make.headers(make.user(store, role=role), store)
    kwargs = {"json": {"name": "Hacked"}} if method != "GET" else {}
    assert client.open(path, method=method, headers=headers, **kwargs).status_code == status
    assert client.open(path, method=method, **kwargs).status_code == 401
    assert client.get("/api/public/config").get_json()["store_name"] == "Main Store"


def test_tenant_settings_read_and_write_the_same_document(client, store, admin):
    document = client.get("/api/tenant/settings", headers=admin).get_json()
    assert document == client.get("/api/admin/config", headers=admin).get_json()
    document["announcement_bar_config"].update(enabled=True, text="Free shipping", template=4, scrolling=True)
    document["enforced_ratings"] = True
    saved = client.put("/api/tenant/settings", headers=admin, json=document)  # the whole document round-trips
    assert saved.status_code == 200, saved.get_json()
    again = client.get("/api/admin/config", headers=admin).get_json()
    assert again == saved.get_json() == document
    assert client.put("/api/tenant/settings", headers=admin, json={"topup_min": 0}).status_code == 422


def test_the_admin_config_is_in_the_openapi_document(client, store):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths["/api/admin/config"]) and {"get", "put"} <= set(paths["/api/tenant/settings"])


def test_a_change_shows_on_the_storefront_on_the_next_request_in_every_process(app, client, store, admin):
    """With the read caches on, another worker process still holds the old store snapshot: it
    checks the row's version on its next request and serves the new bar."""
    app.config["STORE_CACHE_SECONDS"] = 60
    app.extensions.pop("read_caches", None)
    try:
        assert "Flash sale" not in client.get("/").get_data(as_text=True)
        caches = app.extensions["read_caches"]
        held = {name: copy.deepcopy(cache.entries) for name, cache in caches.items() if name.endswith("store")}
        assert held.get("default_store"), "the home page cached the default store"
        response = client.post("/api/admin/config/update", headers=admin, json={
            "announcement_bar_config": {"enabled": True, "text": "Flash sale", "template": 3}})
        assert response.status_code == 200
        for name, entries in held.items():  # another process: its caches never saw the flush
            caches[name].entries.update(entries)
        page = client.get("/").get_data(as_text=True)
        assert "Flash sale" in page and 'class="announcement' in page
        assert client.get("/api/public/config").get_json()["announcement_bar_config"]["text"] == "Flash sale"
    finally:
        app.config["STORE_CACHE_SECONDS"] = 0
        app.extensions.pop("read_caches", None)
