"""Taxes API: admins manage rules (strict fields, 422 envelope, audited); anyone calculates the tax
on an amount, tax-inclusive or tax-exclusive per the store's setting, rounded half-up."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEntry, TaxRule
from tenancy import tenant_scope

from .conftest import error_code


def _rule(client, headers, **body):
    response = client.post("/api/taxes", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def rules(client, admin_headers):
    return {
        "pt": _rule(client, admin_headers, name="IVA", country="pt", rate=23),
        "pt_reduced": _rule(client, admin_headers, name="IVA", country="PT", tax_class="reduced", rate=6),
        "madeira": _rule(client, admin_headers, name="IVA", country="PT", state="Madeira", rate=22),
        "de": _rule(client, admin_headers, name="MwSt", country="DE", rate=19, priority=2),
        "odd": _rule(client, admin_headers, name="Odd", country="IS", rate=10),
    }


def test_admins_create_list_update_and_delete_rules(app, store, client, admin_headers, rules):
    pt = rules["pt"]
    assert (pt["country"], pt["region"], pt["tax_class"], pt["rate"], pt["rate_bps"], pt["priority"], pt["is_active"]) \
        == ("PT", "", "standard", 23.0, 2300, 0, True)
    assert rules["madeira"]["region"] == "Madeira"
    listed = client.get("/api/taxes", headers=admin_headers).get_json()
    assert listed["total"] == 5 and listed["prices_include_tax"] is False
    assert [r["country"] for r in client.get("/api/taxes?country=pt", headers=admin_headers).get_json()["items"]] \
        == ["PT", "PT", "PT"]
    assert client.get("/api/taxes?tax_class=reduced", headers=admin_headers).get_json()["total"] == 1
    changed = client.put(f"/api/taxes/{pt['id']}", json={"rate": 23.5, "is_active": False}, headers=admin_headers)
    assert changed.status_code == 200
    assert (changed.get_json()["rate_bps"], changed.get_json()["is_active"], changed.get_json()["name"]) == (2350, False, "IVA")
    assert client.delete(f"/api/taxes/{rules['odd']['id']}", headers=admin_headers).status_code == 204
    gone = client.put(f"/api/taxes/{rules['odd']['id']}", json={"rate": 1}, headers=admin_headers)
    assert gone.status_code == 404 and error_code(gone) == "tax_rule_not_found"
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(TaxRule).where(TaxRule.id == rules["odd"]["id"])) is None
        kinds = {(e.resource_type, e.action) for e in db.session.scalars(select(AuditEntry))}
    assert {("tax_rule", "create"), ("tax_rule", "update"), ("tax_rule", "delete")} <= kinds


@pytest.mark.parametrize("body", [
    {"rate": 20},                                       # no country
    {"country": "PT"},                                  # no rate
    {"country": "Portugal", "rate": 20},
    {"country": "P1", "rate": 20},
    {"country": "ZZ", "rate": 20},                      # two letters, but no country (ISO 3166-1)
    {"country": "EU", "rate": 20},
    {"country": "PT", "rate": -1},
    {"country": "PT", "rate": 20.125},                  # more than two decimals
    {"country": "PT", "rate": 1000.01},
    {"country": "PT", "rate": 20, "tax_class": "Not a class!"},
    {"country": "PT", "rate": 20, "priority": 1.5},
    {"country": "PT", "rate": 20, "rate_bps": 2000},    # unknown fields are refused
    {"country": "PT", "rate": "twenty"},
])
def test_bad_rules_are_refused_with_the_envelope(client, admin_headers, body):
    response = client.post("/api/taxes", json=body, headers=admin_headers)
    assert response.status_code == 422, response.get_json()
    assert error_code(response)
    assert client.get("/api/taxes", headers=admin_headers).get_json()["total"] == 0


def test_a_country_is_an_iso_3166_country_and_the_refusal_names_it(client, admin_headers, rules):
    response = client.post("/api/taxes", json={"country": "ZZ", "rate": 20}, headers=admin_headers)
    assert response.status_code == 422 and error_code(response) == "validation_error"
    body = response.get_json()["error"]
    assert "ZZ is not a country" in body["message"] and set(body["details"]) == {"country"}
    moved = client.put(f"/api/taxes/{rules['pt']['id']}", json={"country": "zz"}, headers=admin_headers)
    assert moved.status_code == 422 and "country" in moved.get_json()["error"]["details"]
    assert client.get("/api/taxes?country=PT", headers=admin_headers).get_json()["total"] == 3  # unchanged
    assert client.get("/api/taxes", headers=admin_headers).get_json()["total"] == 5


def test_only_admins_manage_rules(client, manager_headers, rules):
    assert client.get("/api/taxes").status_code == 401
    for method, path in (("GET", "/api/taxes"), ("POST", "/api/taxes"), ("PUT", f"/api/taxes/{rules['pt']['id']}"),
                         ("DELETE", f"/api/taxes/{rules['pt']['id']}")):
        response = client.open(path, method=method, json={} if method != "GET" else None, headers=manager_headers)
        assert response.status_code == 403 and error_code(response) == "insufficient_role"


@pytest.mark.parametrize("body,tax,net,gross,rate,rule", [
    ({"tax_class": "standard", "country": "PT", "amount": 10}, 2.3, 10.0, 12.3, 23.0, "IVA"),
    ({"country": "pt", "amount": 0.05}, 0.01, 0.05, 0.06, 23.0, "IVA"),            # 1.15 cents -> 1
    ({"country": "PT", "amount": 0.5, "tax_class": "reduced"}, 0.03, 0.5, 0.53, 6.0, "IVA"),   # 3.0
    ({"country": "PT", "amount": 0.25, "tax_class": "reduced"}, 0.02, 0.25, 0.27, 6.0, "IVA"),  # 1.5 -> 2 half up
    ({"country": "PT", "region": "Madeira", "amount": 10}, 2.2, 10.0, 12.2, 22.0, "IVA"),
    ({"country": "PT", "amount": 12.3, "inclusive": True}, 2.3, 10.0, 12.3, 23.0, "IVA"),
    ({"country": "DE", "amount": 11.9, "prices_include_tax": True}, 1.9, 10.0, 11.9, 19.0, "MwSt"),
    ({"country": "DE", "amount": 10, "tax_class": "digital"}, 1.9, 10.0, 11.9, 19.0, "MwSt"),   # falls back to standard
    ({"country": "US", "amount": 10}, 0.0, 10.0, 10.0, 0.0, None),
])
def test_calculate(client, rules, body, tax, net, gross, rate, rule):
    response = client.post("/api/taxes/calculate", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert (answer["tax"], answer["net"], answer["gross"], answer["rate"], answer["currency"]) == (tax, net, gross, rate, "EUR")
    assert (answer["rule"]["name"] if answer["rule"] else None) == rule


def test_calculate_follows_the_store_setting(client, admin_headers, rules):
    exclusive = client.post("/api/taxes/calculate", json={"country": "PT", "amount": 12.3}).get_json()
    assert (exclusive["inclusive"], exclusive["tax"]) == (False, 2.83)  # 282.9 -> 283
    assert client.post("/api/admin/config/update", json={"prices_include_tax": True},
                       headers=admin_headers).status_code == 200
    assert client.get("/api/taxes", headers=admin_headers).get_json()["prices_include_tax"] is True
    inclusive = client.post("/api/taxes/calculate", json={"country": "PT", "amount": 12.3}).get_json()
    assert (inclusive["inclusive"], inclusive["tax"], inclusive["net"]) == (True, 2.3, 10.0)
    bad = client.post("/api/admin/config/update", json={"tax_country": "Portugal"}, headers=admin_headers)
    assert bad.status_code == 422


@pytest.mark.parametrize("bad", [{}, {"country": "PT"}, {"amount": 10}, {"country": "PT", "amount": -1},
                                 {"country": "PT", "amount": 1.001}, {"country": "PT", "amount": 1, "tax_class": "!!"},
                                 {"country": "Portugal", "amount": 1}, {"country": "PT", "amount": 1, "x": 1}])
def test_calculate_refuses_bad_input(client, store, bad):
    response = client.post("/api/taxes/calculate", json=bad)
    assert response.status_code == 422, response.get_json()
    assert error_code(response)


def test_a_products_tax_class_is_set_through_the_products_api(client, manager_headers, store):
    created = client.post("/api/products", json={"title": "Book", "kind": "physical", "tax_class": "Reduced"},
                          headers=manager_headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["tax_class"] == "reduced"
    plain = client.post("/api/products", json={"title": "Key"}, headers=manager_headers).get_json()
    assert plain["tax_class"] == "standard"
    bad = client.put(f"/api/products/{plain['id']}", json={"tax_class": "not valid!"}, headers=manager_headers)
    assert bad.status_code == 422 and error_code(bad)
