"""Stripe Connect through the API against the fake Stripe: onboarding creates the store's account
once, then status, balance, transactions, payouts and a manual payout (one payout per idempotency
key; more than the balance refused), and only admins get any of it."""
from __future__ import annotations

import pytest

from models import PaymentAccount
from tests.api.conftest import error_code
from tests.payments import rows, stripe_post

CONNECT = "/api/payments/connect"


def onboard(client, headers, **body) -> str:
    response = client.post(f"{CONNECT}/onboard", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["url"]


@pytest.fixture
def connected(app, client, store, admin_headers, stripe_platform):
    """The store's account onboarded through the API, then enabled by Stripe (account.updated)."""
    url = onboard(client, admin_headers)
    account = url.rsplit("/", 1)[1]
    seen = len(stripe_platform.events)
    stripe_platform.set_account(account, charges_enabled=True, payouts_enabled=True, details_submitted=True)
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    return account


def test_onboarding_creates_the_account_once_and_links_to_stripe(app, client, store, admin_headers, stripe_platform):
    created = len(stripe_platform.requests_to("POST", "/v1/accounts"))
    url = onboard(client, admin_headers)
    assert url.startswith(stripe_platform.base_url + "/connect/onboard/acct_")
    account = url.rsplit("/", 1)[1]
    assert stripe_platform.get(account)["type"] == "express"
    link = stripe_platform.requests_to("POST", "/v1/account_links")[-1]
    assert link.params["account"] == account and link.params["return_url"] == "http://localhost/admin/payments"
    again = onboard(client, admin_headers, return_url="http://localhost/admin/payments?back=1")
    assert again.rsplit("/", 1)[1] == account
    assert len(stripe_platform.requests_to("POST", "/v1/accounts")) == created + 1
    (saved,) = rows(app, store, PaymentAccount, PaymentAccount.provider == "STRIPE")
    assert saved.account_ref == account and not saved.charges_enabled
    elsewhere = client.post(f"{CONNECT}/onboard", json={"return_url": "https://evil.example.net/x"},
                            headers=admin_headers)
    assert elsewhere.status_code == 422
    status = client.get(f"{CONNECT}/status", headers=admin_headers).get_json()
    assert status["connected"] is True and status["account_id"] == account
    assert status["ready"] is False and "onboarding" in status["reason"]
    assert status["requirements_due"]


def test_status_balance_transactions_and_payouts_of_the_connected_account(
        client, admin_headers, stripe_platform, connected):
    status = client.get(f"{CONNECT}/status", headers=admin_headers).get_json()
    assert status == {**status, "connected": True, "account_id": connected, "charges_enabled": True,
                      "payouts_enabled": True, "ready": True, "uses_platform_account": False, "reason": None}
    stripe_platform.add_funds(5000, "eur", account=connected)
    stripe_platform.add_funds(700, "eur")  # the platform's own money is not the store's
    balance = client.get(f"{CONNECT}/balance", headers=admin_headers)
    assert balance.status_code == 200, balance.get_json()
    assert balance.get_json()["available"] == [{"amount": 50.0, "currency": "EUR"}]
    transactions = client.get(f"{CONNECT}/transactions?limit=5", headers=admin_headers)
    assert transactions.status_code == 200
    (txn,) = transactions.get_json()["items"]
    assert txn["amount"] == 50.0 and txn["currency"] == "EUR" and txn["id"].startswith("txn_")
    assert client.get(f"{CONNECT}/payouts", headers=admin_headers).get_json()["items"] == []

    before = len(stripe_platform.objects("payout", connected))
    first = client.post(f"{CONNECT}/payout", json={"amount": 20, "idempotency_key": "pay-1"}, headers=admin_headers)
    second = client.post(f"{CONNECT}/payout", json={"amount": 20, "idempotency_key": "pay-1"}, headers=admin_headers)
    assert first.status_code == 201 and second.status_code == 201, (first.get_json(), second.get_json())
    assert first.get_json()["id"] == second.get_json()["id"] and first.get_json()["amount"] == 20.0
    assert len(stripe_platform.objects("payout", connected)) == before + 1
    sent = [r for r in stripe_platform.requests_to("POST", "/v1/payouts") if r.account == connected]
    assert len({r.idempotency_key for r in sent}) == 1
    payouts = client.get(f"{CONNECT}/payouts", headers=admin_headers).get_json()["items"]
    assert [p["id"] for p in payouts] == [first.get_json()["id"]]
    assert client.get(f"{CONNECT}/balance", headers=admin_headers).get_json()["available"] == [
        {"amount": 30.0, "currency": "EUR"}]

    too_much = client.post(f"{CONNECT}/payout", json={"amount": 30.01, "idempotency_key": "pay-2"},
                           headers=admin_headers)
    assert too_much.status_code == 422 and error_code(too_much) == "payout_refused"
    assert len(stripe_platform.objects("payout", connected)) == before + 1
    for amount in (0, -1):
        bad = client.post(f"{CONNECT}/payout", json={"amount": amount}, headers=admin_headers)
        assert bad.status_code == 422, bad.get_json()


def test_stripe_down_while_reading_the_balance_is_a_502(client, admin_headers, stripe_platform, connected):
    stripe_platform.fail_next("/v1/balance", 503)
    response = client.get(f"{CONNECT}/balance", headers=admin_headers)
    assert response.status_code == 502 and error_code(response) == "payment_provider_error"


@pytest.mark.parametrize("role", ["MANAGER", "STAFF", "USER"])
def test_only_admins_reach_connect(client, store, make, stripe_platform, connected, role):
    headers = make.headers(make.user(store, role=role), store)
    calls = [("post", "onboard", {}), ("get", "status", None), ("get", "balance", None),
             ("get", "transactions", None), ("get", "payouts", None),
             ("post", "payout", {"amount": 1, "idempotency_key": "x"})]
    for method, path, body in calls:
        response = getattr(client, method)(f"{CONNECT}/{path}", json=body, headers=headers)
        assert response.status_code == 403, (path, response.get_json())
    assert stripe_platform.objects("payout", connected) == []


def test_connect_without_platform_keys_is_a_clear_503(client, admin_headers):
    response = client.post(f"{CONNECT}/onboard", json={}, headers=admin_headers)
    assert response.status_code == 503 and error_code(response) == "payment_provider_unavailable"
