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


def stored_settings(app, store) -> dict:
    from extensions import db
    from models import Store
    from tenancy import tenant_scope

    with app.app_context(), tenant_scope(store):
        return dict(db.session.get(Store, store.id).settings)


def test_top_up_limits_are_major_units_in_and_out_and_stored_as_minor_units(app, client, store, admin, make):
    body = client.get("/api/admin/config", headers=admin).get_json()
    assert (body["topup_min"], body["topup_max"], body["currency"]) == (1.0, 1000.0, "EUR")
    saved = client.post("/api/admin/config/update", headers=admin, json={"topup_min": 5, "topup_max": 500})
    assert saved.status_code == 200, saved.get_json()
    assert (saved.get_json()["topup_min"], saved.get_json()["topup_max"]) == (5.0, 500.0)
    assert client.get("/api/tenant/settings", headers=admin).get_json()["topup_max"] == 500.0
    stored = stored_settings(app, store)
    assert (stored["topup_min"], stored["topup_max"]) == (500, 50_000)
    cents = client.put("/api/tenant/settings", headers=admin, json={"topup_min": 2.5})
    assert cents.status_code == 200 and cents.get_json()["topup_min"] == 2.5
    assert stored_settings(app, store)["topup_min"] == 250
    # a shopper's top-up states the same limits
    shopper = make.headers(make.user(store), store)
    refused = client.post("/api/user/balance/top-up", json={"amount": 1}, headers=shopper)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"]["message"] == "Top-ups go from 2.50 EUR to 500.00 EUR"
    details = refused.get_json()["error"]["details"]
    assert (details["min"], details["max"], details["currency"]) == (2.5, 500.0, "EUR")


@pytest.mark.parametrize("changes,field,says", [
    ({"topup_min": 0}, "topup_min", "from 0.01 EUR to 100,000,000.00 EUR"),
    ({"topup_max": 10**9}, "topup_max", "from 0.01 EUR to 100,000,000.00 EUR"),
    ({"topup_min": 5.001}, "topup_min", "more decimals than EUR allows"),
    ({"topup_min": True}, "topup_min", "an amount in EUR"),
    ({"topup_min": "5"}, "topup_min", "an amount in EUR"),
    ({"topup_min": 50, "topup_max": 5}, "topup_max", "at least the minimum"),
    ({"currency": "USD"}, "currency", "the store's currency is EUR"),
])
def test_bad_money_settings_are_a_422_in_the_stores_currency_and_change_nothing(app, client, store, admin,
                                                                               changes, field, says):
    before = client.get("/api/admin/config", headers=admin).get_json()
    response = client.post("/api/admin/config/update", headers=admin, json={**changes, "name": "Changed"})
    assert response.status_code == 422, response.get_json()
    assert error(response)["code"] == "validation_error" and set(error(response)["details"]) == {field}
    assert says in error(response)["details"][field][0] and says.lower() in error(response)["message"].lower()
    assert client.get("/api/admin/config", headers=admin).get_json() == before


@pytest.mark.parametrize("changes,field,says", [
    ({"support_email": "not-an-email"}, "support_email", "The support email must be an email address"),
    ({"review_reward": True}, "review_reward", "Review reward must be a whole number, not true or false"),
    ({"feedback_window_days": True}, "feedback_window_days", "Feedback window days must be a whole number"),
    ({"order_expiry_minutes": False}, "order_expiry_minutes", "Order expiry minutes must be a whole number"),
    ({"announcement_bar_config": {"template": True}}, "announcement_bar_config.template", "Template must be"),
    ({"tax_country": "ZZ"}, "tax_country", "The tax country must be a two-letter ISO code"),
])
def test_settings_of_the_wrong_kind_are_a_422_naming_the_field_and_nothing_is_saved(app, client, store, admin,
                                                                                   changes, field, says):
    before = stored_settings(app, store)
    response = client.post("/api/admin/config/update", headers=admin, json=changes)
    assert response.status_code == 422, response.get_json()
    assert error(response)["code"] == "validation_error"
    assert set(error(response)["details"]) == {field} and error(response)["message"].startswith(says)
    assert stored_settings(app, store) == before


def test_a_value_saved_before_its_check_reads_as_unset_and_the_rest_stays(app, client, store, admin):
    from extensions import db
    from models import Store
    from tenancy import tenant_scope

    with app.app_context(), tenant_scope(store):
        row = db.session.get(Store, store.id)
        row.settings = {**row.settings, "support_email": "not-an-email", "tax_country": "ZZ", "review_reward": 4}
        db.session.commit()
    body = client.get("/api/admin/config", headers=admin).get_json()
    assert (body["support_email"], body["tax_country"], body["review_reward"]) == (None, None, 4)
    assert client.post("/api/admin/config/update", headers=admin, json={"order_expiry_minutes": 60}).status_code == 200


def test_a_support_email_is_kept_normalised_and_can_be_cleared(client, store, admin):
    saved = client.post("/api/admin/config/update", headers=admin, json={"support_email": " Help@Example.COM "})
    assert saved.status_code == 200 and saved.get_json()["support_email"] == "Help@example.com"
    cleared = client.post("/api/admin/config/update", headers=admin, json={"support_email": ""})
    assert cleared.status_code == 200 and cleared.get_json()["support_email"] is None


def test_seed_b_store_name_and_description_are_read_and_written(client, store, admin):
    """Seed B's StoreConfig says `store_name` and `store_description`; the document answers them
    beside `name`/`description`, and an update takes either spelling."""
    for path in ("/api/admin/config", "/api/tenant/settings"):
        body = client.get(path, headers=admin).get_json()
        assert (body["store_name"], body["store_description"]) == ("Main Store", ""), path
        assert (body["name"], body["description"]) == ("Main Store", "")
    saved = client.post("/api/admin/config/update", headers=admin,
                        json={"store_name": "Neon Keys", "store_description": "Game keys at night"})
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert (body["store_name"], body["store_description"]) == ("Neon Keys", "Game keys at night")
    assert (body["name"], body["description"]) == ("Neon Keys", "Game keys at night")
    public = client.get("/api/public/config").get_json()
    assert (public["store_name"], public["store_description"]) == ("Neon Keys", "Game keys at night")
    renamed = client.put("/api/tenant/settings", headers=admin, json={"store_name": "Neon Codes"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Neon Codes"
    same = client.post("/api/admin/config/update", headers=admin, json={"name": "Keys", "store_name": "Keys"})
    assert same.status_code == 200 and same.get_json()["store_name"] == "Keys"
    assert client.post("/api/admin/config/update", headers=admin, json={"name": "Old Name"}).status_code == 200
    assert client.get("/api/admin/config", headers=admin).get_json()["store_name"] == "Old Name"


@pytest.mark.parametrize("changes,field", [
    ({"name": "One", "store_name": "Two"}, "store_name"),
    ({"description": "One", "store_description": "Two"}, "store_description"),
])
def test_both_spellings_with_different_values_are_a_422_naming_the_field(client, store, admin, changes, field):
    before = client.get("/api/admin/config", headers=admin).get_json()
    response = client.post("/api/admin/config/update", headers=admin, json=changes)
    assert response.status_code == 422, response.get_json()
    assert error(response)["code"] == "validation_error" and set(error(response)["details"]) == {field}
    assert field in error(response)["message"]
    assert client.get("/api/admin/config", headers=admin).get_json() == before


def test_the_openapi_document_names_both_spellings(client, store):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    for schema in ("StoreConfigIn", "StoreConfigOut"):
        assert {"store_name", "store_description", "name", "description"} <= set(schemas[schema]["properties"])
    assert {"store_name", "store_description"} <= set(schemas["StoreConfigOut"]["required"])


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


@pytest.mark.parametrize("edited", ["name", "store_name", "description", "store_description"])
def test_the_document_read_back_with_one_spelling_edited_saves_the_edit(client, store, admin, edited):
    """A client reads the whole document, edits one of the two spellings, and sends it all back: the
    other spelling still holds the stored value, so the edited one is what is meant (not a 422)."""
    document = client.get("/api/admin/config", headers=admin).get_json()
    document[edited] = "Edited by the client"
    response = client.post("/api/admin/config/update", headers=admin, json=document)
    assert response.status_code == 200, response.get_json()
    body = client.get("/api/admin/config", headers=admin).get_json()
    field = edited.removeprefix("store_")
    assert body[field] == body[f"store_{field}"] == "Edited by the client"
