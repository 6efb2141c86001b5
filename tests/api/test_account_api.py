"""Seed B account routes and the balance ledger API."""
from __future__ import annotations

from tests.factories import PASSWORD

from .conftest import error_code
from .shop import counts, shop_fixture  # noqa: F401


def test_personal_shows_profile_balance_and_recent_orders(client, shop):
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    order = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).get_json()
    body = client.get("/api/user/personal", headers=shop.headers).get_json()
    assert body["username"] == "buyer" and body["balance"] == 40.0 and body["currency"] == "EUR"
    assert body["order_count"] == 1 and body["recent_orders"][0]["id"] == order["id"]
    assert "deliverables" not in body["recent_orders"][0]


def test_profile_update_changes_email_and_password_with_the_current_one(client, shop, make, store):
    make.user(store, email="taken@example.com")
    url = "/api/user/profile/update"
    wrong = client.put(url, json={"email": "new@example.com", "current_password": "nope-nope"}, headers=shop.headers)
    assert wrong.status_code == 422 and error_code(wrong) == "wrong_password"
    clash = client.put(url, json={"email": "Taken@example.com", "current_password": PASSWORD}, headers=shop.headers)
    assert clash.status_code == 409 and error_code(clash) == "email_taken"
    assert client.put(url, json={"current_password": PASSWORD}, headers=shop.headers).status_code == 422
    assert client.put(url, json={"email": "x", "current_password": PASSWORD}, headers=shop.headers).status_code == 422
    assert client.put(url, json={"email": "a@b.co", "role": "ADMIN", "current_password": PASSWORD},
                      headers=shop.headers).status_code == 422
    done = client.put(url, json={"email": "New@Example.com", "password": "a-new-pass-42", "current_password": PASSWORD},
                      headers=shop.headers)
    assert done.status_code == 200 and done.get_json()["email"] == "new@example.com"
    login = client.post("/api/auth/login", json={"email": "new@example.com", "password": "a-new-pass-42"})
    assert login.status_code == 200


def test_admins_adjust_balances_and_users_read_their_ledger(client, shop, make, store, other_store):
    admin, manager = make.user(store, role="ADMIN"), make.user(store, role="MANAGER")
    url = f"/api/admin/users/{shop.buyer.id}/balance"
    credit = client.post(url, json={"amount": 12.5, "reason": "goodwill"}, headers=shop.h(admin))
    assert credit.status_code == 201, credit.get_json()
    assert credit.get_json()["balance"] == 62.5 and credit.get_json()["transaction"]["kind"] == "adjustment"
    debit = client.post(url, json={"amount": -2.5, "reason": "typo"}, headers=shop.h(admin)).get_json()
    assert debit["balance"] == 60.0
    over = client.post(url, json={"amount": -60.01, "reason": "too much"}, headers=shop.h(admin))
    assert over.status_code == 409 and error_code(over) == "insufficient_balance"
    assert over.get_json()["error"]["details"] == {"needed": 60.01, "currency": "EUR"}
    for amount in (0, 1e12, -1e12):  # the amount is in major units: so is what the refusal says
        refused = client.post(url, json={"amount": amount, "reason": "x"}, headers=shop.h(admin))
        assert refused.status_code == 422, (amount, refused.get_json())
        error = refused.get_json()["error"]
        assert error["message"] == "The amount must be other than 0 and at most 10,000,000,000.00 EUR either way"
        assert "minor units" not in str(error) and (error["details"]["max"], error["details"]["currency"]) == (1e10, "EUR")
    for bad in ({"amount": 0, "reason": "x"}, {"amount": 1.001, "reason": "x"}, {"amount": 5, "reason": ""},
                {"amount": "NaN", "reason": "x"}, {"amount": 10**15, "reason": "x"}):
        assert client.post(url, json=bad, headers=shop.h(admin)).status_code == 422, bad
    assert client.post(url, json={"amount": 1, "reason": "x"}, headers=shop.h(manager)).status_code == 403
    stranger = make.user(other_store)
    assert client.post(f"/api/admin/users/{stranger.id}/balance", json={"amount": 1, "reason": "x"},
                       headers=shop.h(admin)).status_code == 404
    assert counts(shop)["balance"] == 6000
    history = client.get("/api/user/balance/history?page_size=2", headers=shop.headers).get_json()
    assert history["total"] == 3 and [r["amount"] for r in history["items"]] == [-2.5, 12.5]
    assert history["items"][0]["balance_after"] == 60.0 and history["items"][0]["reason"] == "typo"
    assert client.get("/api/user/balance/history").status_code == 401
