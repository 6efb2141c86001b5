"""Shipping API: admins manage zones and methods (strict fields, 422 envelope, audited, one store's
zones only); anyone asks for the options, by GET (postal_code, total) or POST (postcode, subtotal)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEntry, ShippingMethod, ShippingZone
from tenancy import tenant_scope

from .conftest import error_code


def _zone(client, headers, **body):
    response = client.post("/api/shipping/zones", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _method(client, headers, zone_id, **body):
    response = client.post(f"/api/shipping/zones/{zone_id}/methods", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def setup(client, admin_headers):
    portugal = _zone(client, admin_headers, name="Portugal", countries=["pt"])
    lisbon = _zone(client, admin_headers, name="Lisbon", countries=["PT"], postal_codes=["1000", "11-00"])
    world = _zone(client, admin_headers, name="World", is_rest_of_world=True, countries=["US"])
    post = _method(client, admin_headers, portugal["id"], name="Post", kind="weight",
                   weight_bands=[{"up_to_grams": 2000, "price": 7.9}, {"max_weight": 500, "price": 4.5}],
                   min_days=2, max_days=4, position=1)
    free = _method(client, admin_headers, portugal["id"], name="Free", type="free_shipping", free_above=50, position=2)
    courier = _method(client, admin_headers, lisbon["id"], name="Courier", kind="flat", price=3, min_days=1, max_days=1)
    abroad = _method(client, admin_headers, world["id"], name="International", kind="flat_rate", rate=25)
    return {"portugal": portugal, "lisbon": lisbon, "world": world, "post": post, "free": free, "courier": courier,
            "abroad": abroad}


def test_admins_create_list_update_and_delete_zones_and_methods(app, store, client, admin_headers, setup):
    assert setup["lisbon"]["postal_prefixes"] == ["1000", "1100"] and setup["portugal"]["countries"] == ["PT"]
    assert setup["world"]["rest_of_world"] and setup["world"]["countries"] == []
    post = setup["post"]
    assert [(b["up_to_grams"], b["price"]) for b in post["weight_bands"]] == [(500, 4.5), (2000, 7.9)]
    assert (post["kind"], post["delivery_estimate"], post["currency"]) == ("weight", "2–4 days", "EUR")
    assert (setup["free"]["kind"], setup["free"]["free_threshold"], setup["free"]["price"]) == ("free", 50.0, 0.0)
    listed = client.get("/api/shipping/zones", headers=admin_headers).get_json()
    assert listed["total"] == 3 and listed["items"][-1]["name"] == "World"
    portugal = next(z for z in listed["items"] if z["name"] == "Portugal")
    assert [m["name"] for m in portugal["methods"]] == ["Post", "Free"]

    renamed = client.put(f"/api/shipping/zones/{setup['portugal']['id']}", json={"name": "Mainland", "countries": ["PT", "es"]},
                         headers=admin_headers)
    assert renamed.status_code == 200 and renamed.get_json()["countries"] == ["ES", "PT"]
    changed = client.put(f"/api/shipping/methods/{post['id']}", json={"is_active": False, "free_threshold": 100},
                         headers=admin_headers).get_json()
    assert (changed["is_active"], changed["free_threshold"], changed["name"]) == (False, 100.0, "Post")
    cleared = client.put(f"/api/shipping/methods/{post['id']}", json={"free_threshold": None}, headers=admin_headers)
    assert cleared.get_json()["free_threshold"] is None

    assert client.delete(f"/api/shipping/methods/{setup['courier']['id']}", headers=admin_headers).status_code == 204
    assert client.delete(f"/api/shipping/methods/{setup['courier']['id']}", headers=admin_headers).status_code == 404
    assert client.delete(f"/api/shipping/zones/{setup['portugal']['id']}", headers=admin_headers).status_code == 204
    missing = client.put(f"/api/shipping/zones/{setup['portugal']['id']}", json={"name": "x"}, headers=admin_headers)
    assert missing.status_code == 404 and error_code(missing) == "shipping_zone_not_found"
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(ShippingMethod).where(ShippingMethod.id == post["id"])) is None  # went with it
        kinds = {(e.resource_type, e.action) for e in db.session.scalars(select(AuditEntry))}
    assert {("shipping_zone", "create"), ("shipping_zone", "update"), ("shipping_zone", "delete"),
            ("shipping_method", "create"), ("shipping_method", "update"), ("shipping_method", "delete")} <= kinds


@pytest.mark.parametrize("body", [
    {"countries": ["PT"]},                                     # no name
    {"name": "X", "countries": []},                            # no country, not the rest of the world
    {"name": "X", "countries": ["Portugal"]},                  # not a two-letter code
    {"name": "X", "countries": ["P1"]},
    {"name": "X", "countries": ["ZZ"]},                        # two letters, no country
    {"name": "X", "countries": ["PT"], "postal_prefixes": ["10 00!"]},
    {"name": "X", "countries": ["PT"], "store_id": "other"},   # unknown fields are refused
    {"name": "X", "countries": "PT"},
])
def test_bad_zones_are_refused_with_the_envelope(client, admin_headers, body):
    response = client.post("/api/shipping/zones", json=body, headers=admin_headers)
    assert response.status_code == 422, response.get_json()
    assert error_code(response)
    assert client.get("/api/shipping/zones", headers=admin_headers).get_json()["total"] == 0


@pytest.mark.parametrize("body,field", [
    ({"name": "X", "kind": "flat", "price": -1}, "price"),
    ({"name": "X", "kind": "flat", "price": 1.001}, "price"),
    ({"name": "X", "kind": "weight"}, "weight_bands"),
    ({"name": "X", "kind": "weight", "weight_bands": [{"up_to_grams": 0, "price": 1}]}, None),
    ({"name": "X", "kind": "weight", "weight_bands": [{"up_to_grams": 5, "price": 1}, {"up_to_grams": 5, "price": 2}]},
     "weight_bands"),
    ({"name": "X", "kind": "free"}, "free_threshold"),
    ({"name": "X", "kind": "teleport", "price": 1}, None),
    ({"name": "X", "kind": "flat", "price": 1, "min_days": 5, "max_days": 2}, "max_days"),
    ({"name": "", "kind": "flat", "price": 1}, None),
])
def test_bad_methods_are_refused_with_the_envelope(client, admin_headers, setup, body, field):
    response = client.post(f"/api/shipping/zones/{setup['portugal']['id']}/methods", json=body, headers=admin_headers)
    assert response.status_code == 422, response.get_json()
    assert error_code(response)
    if field:
        assert field in str(response.get_json()["error"]["details"])


def test_a_second_rest_of_the_world_zone_is_refused(client, admin_headers, setup):
    response = client.post("/api/shipping/zones", json={"name": "Elsewhere", "rest_of_world": True}, headers=admin_headers)
    assert response.status_code == 422 and error_code(response) == "rest_of_world_exists"


def test_a_method_of_an_unknown_zone_is_a_404(client, admin_headers):
    response = client.post("/api/shipping/zones/nope/methods", json={"name": "X", "kind": "flat", "price": 1},
                           headers=admin_headers)
    assert response.status_code == 404 and error_code(response) == "shipping_zone_not_found"


def test_only_admins_manage_zones(client, make, store, manager_headers, setup):
    assert client.get("/api/shipping/zones").status_code == 401
    for method, path in (("GET", "/api/shipping/zones"), ("POST", "/api/shipping/zones"),
                         ("PUT", f"/api/shipping/zones/{setup['portugal']['id']}"),
                         ("DELETE", f"/api/shipping/methods/{setup['post']['id']}")):
        response = client.open(path, method=method, json={} if method != "GET" else None, headers=manager_headers)
        assert response.status_code == 403 and error_code(response) == "insufficient_role"


def test_another_stores_zones_are_not_seen_or_touched(client, make, other_store, setup):
    theirs = make.headers(make.user(other_store, role="ADMIN"), other_store)
    assert client.get("/api/shipping/zones", headers=theirs).get_json()["total"] == 0
    assert client.delete(f"/api/shipping/zones/{setup['portugal']['id']}", headers=theirs).status_code == 404
    calc = client.get("/api/shipping/calculate?country=PT&weight=100&total=10", headers=theirs).get_json()
    assert calc["zone"] is None and calc["options"] == []


@pytest.mark.parametrize("query,zone,options", [
    ("country=PT&postal_code=1000-001&weight=100&total=10", "Lisbon", [("Courier", 3.0, "1 day")]),
    ("country=pt&postal_code=4000-001&weight=500&total=49.99", "Portugal", [("Post", 4.5, "2–4 days")]),
    ("country=PT&postal_code=4000-001&weight=501&total=50", "Portugal", [("Post", 7.9, "2–4 days"), ("Free", 0.0, "")]),
    ("country=PT&weight=2001&total=50", "Portugal", [("Free", 0.0, "")]),
    ("country=JP&postal_code=100-0001&weight=100&total=10", "World", [("International", 25.0, "")]),
])
def test_calculate_by_get(client, setup, query, zone, options):
    response = client.get(f"/api/shipping/calculate?{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["zone"]["name"] == zone and body["currency"] == "EUR"
    assert [(o["name"], o["price"], o["delivery_estimate"]) for o in body["options"]] == options


def test_calculate_by_post_with_its_own_names(client, setup):
    body = client.post("/api/shipping/calculate",
                       json={"country": "PT", "postcode": "1100-148", "weight": 100, "subtotal": 12.5}).get_json()
    assert body["zone"]["name"] == "Lisbon" and body["options"][0]["price"] == 3.0 and body["subtotal"] == 12.5
    same = client.post("/api/shipping/calculate", json={"country": "PT", "postal_code": "1100-148", "total": 12.5})
    assert same.get_json()["options"] == body["options"]


@pytest.mark.parametrize("bad", [{}, {"country": "Portugal"}, {"country": "PT", "weight": -1},
                                 {"country": "PT", "weight": 1.5}, {"country": "PT", "subtotal": -1},
                                 {"country": "PT", "subtotal": 1.001}, {"country": "PT", "extra": 1}])
def test_calculate_refuses_bad_input(client, setup, bad):
    response = client.post("/api/shipping/calculate", json=bad)
    assert response.status_code == 422, response.get_json()
    assert error_code(response)
    assert client.get("/api/shipping/calculate?country=PT&weight=abc").status_code == 422
    assert client.get("/api/shipping/calculate?weight=1").status_code == 422


def test_nothing_ships_without_zones(client, store):
    body = client.get("/api/shipping/calculate?country=PT&postal_code=1000&weight=1&total=1").get_json()
    assert body["zone"] is None and body["options"] == []


def test_zone_rows_are_stored_as_the_service_normalises_them(app, store, setup):
    with app.app_context(), tenant_scope(store):
        lisbon = db.session.get(ShippingZone, setup["lisbon"]["id"])
        assert (lisbon.countries, lisbon.postal_prefixes) == (["PT"], ["1000", "1100"])
        post = db.session.get(ShippingMethod, setup["post"]["id"])
        assert post.weight_bands == [{"up_to_grams": 500, "price": 450}, {"up_to_grams": 2000, "price": 790}]
