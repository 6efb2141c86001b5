"""StripeGateway (the real ``stripe`` client) against FakeStripe: what goes over the wire, what comes
back, and how webhooks are verified and read. Either side drifting from Stripe's shapes fails here."""
from __future__ import annotations

import ast
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import stripe

from integrations.base import (
    ACCOUNT_UPDATED,
    DISPUTE_CLOSED,
    DISPUTE_OPENED,
    EXPIRED,
    FAILED,
    IGNORED,
    PAYMENT_EXPIRED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    PENDING,
    REFUNDED,
    SUCCEEDED,
    PaymentRequest,
    ProviderError,
    SignatureError,
    WebhookEvent,
)
from integrations.stripe import StripeGateway, describe, parse_webhook
from tests.fakes.stripe_server import FakeStripe, parse_params, sign

KEY = "sk_test_platform"
PLATFORM_SECRET = "whsec_test_platform"
CONNECT_SECRET = "whsec_test_connect"
METADATA = {"payment_id": "41", "store_id": "3", "purpose": "order", "order_id": "12"}


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it is sent."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers.get("Stripe-Signature"), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/stripe"

    def events(self, secrets=(PLATFORM_SECRET,)) -> list[WebhookEvent]:
        return [parse_webhook(body, header, list(secrets)) for header, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    with FakeStripe(connect_webhook_secret=CONNECT_SECRET) as server:
        yield server


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def gateway(fake):
    return StripeGateway(api_key=KEY, api_base=fake.base_url, timeout=5)


def order_request(amount: int = 2599, currency: str = "EUR", **changes) -> PaymentRequest:
    fields = {
        "amount": amount,
        "currency": currency,
        "description": "Order #12 at Demo Store",
        "success_url": "https://shop.example/checkout/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/checkout/cancelled",
        "email": "ana@example.com",
        "metadata": dict(METADATA),
        **changes,
    }
    return PaymentRequest(**fields)


def connected(fake: FakeStripe, acct: str = "acct_1StoreDemo0001") -> str:
    fake.set_account(acct, charges_enabled=True, payouts_enabled=True, details_submitted=True)
    return acct


def signed(event: dict, secret: str = PLATFORM_SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    return body, sign(body, secret, timestamp)


def fact_of(event: dict):
    body, header = signed(event, CONNECT_SECRET if event.get("account") else PLATFORM_SECRET)
    return describe(parse_webhook(body, header, [PLATFORM_SECRET, CONNECT_SECRET]))


def last_event(fake: FakeStripe, type: str) -> dict:
    return [event for event in fake.events if event["type"] == type][-1]


def paid_intent(fake: FakeStripe, gateway: StripeGateway, amount: int = 2599) -> str:
    checkout = gateway.create_payment(order_request(amount), idempotency_key=f"checkout:{time.monotonic_ns()}")
    return fake.complete_session(checkout.ref)["payment_intent"]


# -- the module's boundaries -------------------------------------------------------------------


def test_integrations_stripe_imports_only_stdlib_stripe_and_base():
    source = Path(__file__).resolve().parents[2] / "integrations" / "stripe.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module if node.module == "integrations.base" else node.module.split(".")[0])
    app_packages = {"services", "models", "web", "api", "admin", "storefront", "jobs", "extensions", "config",
                    "tenancy", "transactions", "integrations"}
    assert not imported & app_packages
    assert {"stripe", "integrations.base"} <= imported


def test_fake_parses_nested_form_keys():
    pairs = [("metadata[order_id]", "12"), ("line_items[0][price_data][currency]", "eur"),
             ("line_items[0][quantity]", "1"), ("line_items[1][quantity]", "2"), ("expand[]", "a"),
             ("expand[]", "b"), ("mode", "payment")]
    assert parse_params(pairs) == {
        "metadata": {"order_id": "12"},
        "line_items": [{"price_data": {"currency": "eur"}, "quantity": "1"}, {"quantity": "2"}],
        "expand": ["a", "b"],
        "mode": "payment",
    }


# -- payments ----------------------------------------------------------------------------------


def test_create_payment_sends_a_checkout_session_with_our_metadata(fake, gateway):
    checkout = gateway.create_payment(order_request(), idempotency_key="checkout:12")

    assert checkout.ref.startswith("cs_test_")
    assert checkout.redirect_url == f"{fake.base_url}/pay/{checkout.ref}"
    assert checkout.client_secret is None
    (sent,) = fake.requests_to("POST", "/v1/checkout/sessions")
    assert sent.idempotency_key == "checkout:12"
    assert sent.account is None
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    params = sent.params
    assert params["mode"] == "payment"
    assert params["line_items"] == [{
        "price_data": {"currency": "eur", "unit_amount": "2599", "product_data": {"name": "Order #12 at Demo Store"}},
        "quantity": "1",
    }]
    assert params["metadata"] == METADATA
    assert params["payment_intent_data"] == {"metadata": METADATA}
    assert params["client_reference_id"] == "41"
    assert params["customer_email"] == "ana@example.com"
    assert params["success_url"] == "https://shop.example/checkout/done?session={CHECKOUT_SESSION_ID}"
    assert params["cancel_url"] == "https://shop.example/checkout/cancelled"
    session = fake.get(checkout.ref)
    assert (session["amount_total"], session["currency"], session["status"]) == (2599, "eur", "open")


def test_create_payment_leaves_out_what_is_not_given(fake, gateway):
    gateway.create_payment(order_request(email=None, metadata={}), idempotency_key="checkout:13")
    params = fake.requests_to("POST", "/v1/checkout/sessions")[0].params
    for absent in ("customer_email", "client_reference_id", "metadata", "payment_intent_data"):
        assert absent not in params


def test_same_idempotency_key_creates_one_session(fake, gateway):
    first = gateway.create_payment(order_request(), idempotency_key="checkout:12")
    again = gateway.create_payment(order_request(), idempotency_key="checkout:12")

    assert again == first
    assert len(fake.objects("checkout.session")) == 1
    assert len(fake.requests_to("POST", "/v1/checkout/sessions")) == 2


def test_same_idempotency_key_with_other_parameters_is_refused(gateway):
    gateway.create_payment(order_request(), idempotency_key="checkout:12")
    with pytest.raises(ProviderError) as caught:
        gateway.create_payment(order_request(amount=999), idempotency_key="checkout:12")
    assert caught.value.retryable is False


def test_create_intent_returns_the_client_secret(fake, gateway):
    checkout = gateway.create_intent(order_request(), idempotency_key="intent:12")

    assert checkout.ref.startswith("pi_")
    assert checkout.redirect_url is None
    assert checkout.client_secret.startswith(checkout.ref + "_secret_")
    (sent,) = fake.requests_to("POST", "/v1/payment_intents")
    assert sent.idempotency_key == "intent:12"
    assert sent.params["amount"] == "2599"
    assert sent.params["currency"] == "eur"
    assert sent.params["automatic_payment_methods"] == {"enabled": "true"}
    assert sent.params["metadata"] == METADATA
    assert sent.params["receipt_email"] == "ana@example.com"


def test_connected_account_sends_stripe_account_on_every_call(fake):
    acct = connected(fake)
    store = StripeGateway(api_key=KEY, account=acct, api_base=fake.base_url, timeout=5)
    platform = StripeGateway(api_key=KEY, api_base=fake.base_url, timeout=5)

    checkout = store.create_payment(order_request(), idempotency_key="checkout:12")
    assert store.payment_state(checkout.ref).status == PENDING

    assert {r.account for r in fake.requests if r.path.startswith("/v1/")} == {acct}
    assert fake.objects("checkout.session", account=acct)[0]["id"] == checkout.ref
    with pytest.raises(ProviderError) as caught:  # a direct charge lives on the connected account only
        platform.payment_state(checkout.ref)
    assert (caught.value.code, caught.value.retryable) == ("resource_missing", False)


def test_same_idempotency_key_on_two_accounts_is_two_payments(fake):
    one = StripeGateway(api_key=KEY, account=connected(fake, "acct_1One"), api_base=fake.base_url)
    two = StripeGateway(api_key=KEY, account=connected(fake, "acct_1Two"), api_base=fake.base_url)
    assert one.create_payment(order_request(), idempotency_key="checkout:1") != two.create_payment(
        order_request(), idempotency_key="checkout:1")


def test_unknown_connected_account_is_refused(fake):
    store = StripeGateway(api_key=KEY, account="acct_1Nobody", api_base=fake.base_url)
    with pytest.raises(ProviderError) as caught:
        store.create_payment(order_request(), idempotency_key="checkout:12")
    assert caught.value.retryable is False


def test_payment_state_of_a_session_open_paid_and_expired(fake, gateway):
    checkout = gateway.create_payment(order_request(), idempotency_key="checkout:12")
    state = gateway.payment_state(checkout.ref)
    assert (state.ref, state.status, state.amount, state.currency, state.charge_ref) == (
        checkout.ref, PENDING, 2599, "EUR", None)
    assert state.metadata == METADATA

    session = fake.complete_session(checkout.ref)
    state = gateway.payment_state(checkout.ref)
    assert (state.status, state.amount, state.currency) == (SUCCEEDED, 2599, "EUR")
    assert state.charge_ref == session["payment_intent"] and state.charge_ref.startswith("pi_")

    other = gateway.create_payment(order_request(), idempotency_key="checkout:13")
    fake.expire_session(other.ref)
    assert gateway.payment_state(other.ref).status == EXPIRED


def test_payment_state_of_an_intent_pending_failed_succeeded_canceled(fake, gateway):
    ref = gateway.create_intent(order_request(), idempotency_key="intent:1").ref
    state = gateway.payment_state(ref)
    assert (state.status, state.amount, state.currency, state.charge_ref, state.metadata) == (
        PENDING, 2599, "EUR", ref, METADATA)

    fake.fail_intent(ref, "Your card has insufficient funds.")
    assert gateway.payment_state(ref).status == FAILED

    fake.succeed_intent(ref)
    state = gateway.payment_state(ref)
    assert (state.status, state.amount) == (SUCCEEDED, 2599)

    canceled = gateway.create_intent(order_request(), idempotency_key="intent:2").ref
    client = stripe.StripeClient(KEY, base_addresses={"api": fake.base_url})
    client.v1.payment_intents.cancel(canceled)
    assert gateway.payment_state(canceled).status == FAILED


def test_payment_state_of_an_unknown_ref(fake, gateway):
    with pytest.raises(ProviderError) as caught:
        gateway.payment_state("cs_test_nope")
    assert (caught.value.code, caught.value.retryable) == ("resource_missing", False)
    with pytest.raises(ProviderError):
        gateway.payment_state("hoodpay-123")


# -- refunds -----------------------------------------------------------------------------------


def test_refund_part_then_the_rest_then_nothing_is_left(fake, gateway):
    pi = paid_intent(fake, gateway, 2599)

    first = gateway.refund(pi, 1000, idempotency_key="refund:1", reason="damaged on arrival")
    assert first.ref.startswith("re_") and (first.status, first.amount) == ("succeeded", 1000)
    sent = fake.requests_to("POST", "/v1/refunds")[0]
    assert sent.params == {"payment_intent": pi, "amount": "1000", "metadata": {"reason": "damaged on arrival"}}
    assert sent.idempotency_key == "refund:1"

    with pytest.raises(ProviderError) as too_much:
        gateway.refund(pi, 1600, idempotency_key="refund:2")
    assert (too_much.value.code, too_much.value.retryable) == ("amount_too_large", False)

    rest = gateway.refund(pi, 1599, idempotency_key="refund:3")
    assert (rest.status, rest.amount) == ("succeeded", 1599)
    charge = fake.get(fake.get(pi)["latest_charge"])
    assert (charge["amount_refunded"], charge["refunded"]) == (2599, True)

    with pytest.raises(ProviderError) as nothing_left:
        gateway.refund(pi, 1, idempotency_key="refund:4")
    assert (nothing_left.value.code, nothing_left.value.retryable) == ("charge_already_refunded", False)


def test_refund_retried_with_its_key_refunds_once(fake, gateway):
    pi = paid_intent(fake, gateway)
    first = gateway.refund(pi, 500, idempotency_key="refund:1")
    assert gateway.refund(pi, 500, idempotency_key="refund:1") == first
    assert fake.get(fake.get(pi)["latest_charge"])["amount_refunded"] == 500
    assert len(fake.objects("refund")) == 1


@pytest.mark.parametrize(("fake_status", "ours"), [("pending", "pending"), ("requires_action", "pending"),
                                                   ("failed", "failed"), ("canceled", "failed")])
def test_refund_status_is_mapped(fake, gateway, fake_status, ours):
    pi = paid_intent(fake, gateway)
    fake.refund_status = fake_status
    assert gateway.refund(pi, 100, idempotency_key="refund:1").status == ours


def test_refund_by_session_id_names_its_payment_intent(fake, gateway):
    checkout = gateway.create_payment(order_request(), idempotency_key="checkout:12")
    with pytest.raises(ProviderError):
        gateway.refund(checkout.ref, 100, idempotency_key="refund:0")  # not paid yet
    pi = fake.complete_session(checkout.ref)["payment_intent"]
    gateway.refund(checkout.ref, 100, idempotency_key="refund:1")
    assert fake.requests_to("POST", "/v1/refunds")[-1].params["payment_intent"] == pi


def test_refund_of_an_unpaid_intent_is_refused(fake, gateway):
    ref = gateway.create_intent(order_request(), idempotency_key="intent:1").ref
    with pytest.raises(ProviderError) as caught:
        gateway.refund(ref, 100, idempotency_key="refund:1")
    assert caught.value.retryable is False


# -- failures ----------------------------------------------------------------------------------


def test_timeout_after_the_session_was_created_then_retry_with_the_same_key(fake):
    gateway = StripeGateway(api_key=KEY, api_base=fake.base_url, timeout=0.5)
    fake.slow_next("/v1/checkout/sessions", 1.5)

    with pytest.raises(ProviderError) as caught:
        gateway.create_payment(order_request(), idempotency_key="checkout:12")
    assert caught.value.retryable is True
    (created,) = fake.objects("checkout.session")  # Stripe made it; we never heard

    again = gateway.create_payment(order_request(), idempotency_key="checkout:12")
    assert again.ref == created["id"]
    assert len(fake.objects("checkout.session")) == 1


def test_timeout_after_the_refund_then_retry_refunds_once(fake):
    gateway = StripeGateway(api_key=KEY, api_base=fake.base_url, timeout=0.5)
    pi = paid_intent(fake, gateway)
    fake.slow_next("/v1/refunds", 1.5)
    with pytest.raises(ProviderError) as caught:
        gateway.refund(pi, 700, idempotency_key="refund:9")
    assert caught.value.retryable is True

    result = gateway.refund(pi, 700, idempotency_key="refund:9")
    assert result.ref == fake.objects("refund")[0]["id"]
    assert len(fake.objects("refund")) == 1
    assert fake.get(fake.get(pi)["latest_charge"])["amount_refunded"] == 700


def test_server_error_is_retryable_and_creates_nothing(fake, gateway):
    fake.fail_next("/v1/checkout/sessions", status=500)
    with pytest.raises(ProviderError) as caught:
        gateway.create_payment(order_request(), idempotency_key="checkout:12")
    assert caught.value.retryable is True
    assert fake.objects("checkout.session") == []
    gateway.create_payment(order_request(), idempotency_key="checkout:12")  # the retry goes through
    assert len(fake.objects("checkout.session")) == 1


def test_client_retries_carry_the_same_idempotency_key(fake):
    gateway = StripeGateway(api_key=KEY, api_base=fake.base_url, timeout=5, max_retries=2)
    fake.fail_next("/v1/checkout/sessions", status=503)
    gateway.create_payment(order_request(), idempotency_key="checkout:12")
    attempts = fake.requests_to("POST", "/v1/checkout/sessions")
    assert [r.idempotency_key for r in attempts] == ["checkout:12", "checkout:12"]
    assert len(fake.objects("checkout.session")) == 1


@pytest.mark.parametrize(("status", "code", "retryable"), [
    (429, "rate_limit", True),
    (502, None, True),
    (402, "card_declined", False),
    (400, "parameter_invalid_integer", False),
    (404, "resource_missing", False),
])
def test_errors_are_mapped(fake, gateway, status, code, retryable):
    fake.fail_next("/v1/payment_intents", status=status, code=code)
    with pytest.raises(ProviderError) as caught:
        gateway.create_intent(order_request(), idempotency_key="intent:1")
    assert (caught.value.retryable, caught.value.code) == (retryable, code)
    assert str(caught.value).startswith("Stripe: ")


def test_wrong_key_is_not_retryable(fake):
    gateway = StripeGateway(api_key="pk_test_publishable", api_base=fake.base_url)
    with pytest.raises(ProviderError) as caught:
        gateway.create_payment(order_request(), idempotency_key="checkout:12")
    assert caught.value.retryable is False
    assert fake.objects("checkout.session") == []


def test_unreachable_stripe_is_retryable():
    gateway = StripeGateway(api_key=KEY, api_base="http://127.0.0.1:9", timeout=1)
    with pytest.raises(ProviderError) as caught:
        gateway.payment_state("pi_123")
    assert caught.value.retryable is True


def test_amount_below_stripes_minimum_is_refused(gateway):
    with pytest.raises(ProviderError) as caught:
        gateway.create_payment(order_request(amount=20), idempotency_key="checkout:12")
    assert (caught.value.code, caught.value.retryable) == ("amount_too_small", False)


# -- webhooks: verification --------------------------------------------------------------------


def sample_event(fake: FakeStripe, **changes) -> dict:
    obj = {"id": "pi_3Sample", "object": "payment_intent", "amount": 2599, "amount_received": 2599,
           "currency": "eur", "status": "succeeded", "metadata": METADATA}
    return {**fake.event("payment_intent.succeeded", obj), **changes}


def test_parse_webhook_accepts_a_correctly_signed_body(fake):
    event = sample_event(fake)
    body, header = signed(event)
    parsed = parse_webhook(body, header, [PLATFORM_SECRET])
    assert parsed.id == event["id"] and parsed.id.startswith("evt_")
    assert parsed.type == "payment_intent.succeeded"
    assert parsed.payload == event
    assert (parsed.account, parsed.object_ref, parsed.metadata) == (None, "pi_3Sample", METADATA)


def test_parse_webhook_tries_each_secret(fake):
    event = fake.event("account.updated", {"id": "acct_1X", "object": "account"}, account="acct_1X")
    body, header = signed(event, CONNECT_SECRET)
    parsed = parse_webhook(body, header, [PLATFORM_SECRET, CONNECT_SECRET])
    assert (parsed.account, parsed.object_ref, parsed.metadata) == ("acct_1X", "acct_1X", {})
    with pytest.raises(SignatureError):
        parse_webhook(body, header, [PLATFORM_SECRET])


def test_parse_webhook_rejects_a_wrong_secret(fake):
    body, header = signed(sample_event(fake), "whsec_someone_else")
    with pytest.raises(SignatureError, match="does not match"):
        parse_webhook(body, header, [PLATFORM_SECRET, CONNECT_SECRET])


def test_parse_webhook_rejects_a_tampered_body(fake):
    body, header = signed(sample_event(fake))
    with pytest.raises(SignatureError):
        parse_webhook(body.replace(b"2599", b"9999"), header, [PLATFORM_SECRET])


def test_parse_webhook_rejects_an_old_timestamp(fake):
    body, header = signed(sample_event(fake), timestamp=int(time.time()) - 301)
    with pytest.raises(SignatureError, match="tolerance"):
        parse_webhook(body, header, [CONNECT_SECRET, PLATFORM_SECRET])
    body, header = signed(sample_event(fake), timestamp=int(time.time()) - 200)
    assert parse_webhook(body, header, [PLATFORM_SECRET]).type == "payment_intent.succeeded"


@pytest.mark.parametrize("header", [None, ""])
def test_parse_webhook_rejects_a_missing_header(fake, header):
    body, _ = signed(sample_event(fake))
    with pytest.raises(SignatureError, match="missing"):
        parse_webhook(body, header, [PLATFORM_SECRET])


def test_parse_webhook_rejects_a_malformed_header(fake):
    body, _ = signed(sample_event(fake))
    with pytest.raises(SignatureError):
        parse_webhook(body, "v1=abc", [PLATFORM_SECRET])
    with pytest.raises(SignatureError):
        parse_webhook(body, f"t={int(time.time())}", [PLATFORM_SECRET])


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "evt_1"}', b'{"type": "x"}', b"\xff\xfe"])
def test_parse_webhook_rejects_a_signed_body_that_is_not_an_event(body):
    with pytest.raises(SignatureError):
        parse_webhook(body, sign(body, PLATFORM_SECRET), [PLATFORM_SECRET])


def test_parse_webhook_without_secrets_refuses(fake):
    body, header = signed(sample_event(fake))
    with pytest.raises(SignatureError):
        parse_webhook(body, header, [])


# -- webhooks: what the fake's real events mean ------------------------------------------------


def test_describe_a_paid_checkout(fake, gateway):
    checkout = gateway.create_payment(order_request(), idempotency_key="checkout:12")
    pi = fake.complete_session(checkout.ref)["payment_intent"]

    fact = fact_of(last_event(fake, "checkout.session.completed"))
    assert (fact.kind, fact.ref, fact.alt_ref, fact.amount, fact.currency) == (
        PAYMENT_SUCCEEDED, checkout.ref, pi, 2599, "EUR")
    assert fact.metadata == METADATA

    fact = fact_of(last_event(fake, "payment_intent.succeeded"))
    assert (fact.kind, fact.ref, fact.amount, fact.currency, fact.metadata) == (
        PAYMENT_SUCCEEDED, pi, 2599, "EUR", METADATA)


def test_describe_a_completed_checkout_still_unpaid_is_ignored(fake):
    session = {"id": "cs_test_async", "object": "checkout.session", "status": "complete", "payment_status": "unpaid",
               "payment_intent": "pi_3Async", "amount_total": 2599, "currency": "eur", "metadata": METADATA}
    fact = fact_of(fake.event("checkout.session.completed", session))
    assert (fact.kind, fact.ref, fact.alt_ref) == (IGNORED, "cs_test_async", "pi_3Async")
    assert fact.detail["payment_status"] == "unpaid" and fact.detail["reason"]
    free = {**session, "payment_status": "no_payment_required"}
    assert fact_of(fake.event("checkout.session.completed", free)).kind == PAYMENT_SUCCEEDED


def test_describe_an_expired_checkout(fake, gateway):
    checkout = gateway.create_payment(order_request(), idempotency_key="checkout:12")
    fake.expire_session(checkout.ref)
    fact = fact_of(last_event(fake, "checkout.session.expired"))
    assert (fact.kind, fact.ref, fact.metadata) == (PAYMENT_EXPIRED, checkout.ref, METADATA)


def test_describe_a_failed_intent(fake, gateway):
    ref = gateway.create_intent(order_request(), idempotency_key="intent:1").ref
    fake.fail_intent(ref, "Your card has insufficient funds.")
    fact = fact_of(last_event(fake, "payment_intent.payment_failed"))
    assert (fact.kind, fact.ref, fact.metadata) == (PAYMENT_FAILED, ref, METADATA)
    assert fact.detail == {"reason": "Your card has insufficient funds."}


def test_describe_refunds_is_cumulative(fake, gateway):
    pi = paid_intent(fake, gateway, 2599)
    first = gateway.refund(pi, 1000, idempotency_key="refund:1")
    fact = fact_of(last_event(fake, "charge.refunded"))
    charge = fake.get(pi)["latest_charge"]
    assert (fact.kind, fact.ref, fact.amount, fact.currency, fact.metadata) == (REFUNDED, pi, 1000, "EUR", METADATA)
    assert fact.detail == {"charge": charge, "refunds": [first.ref]}

    second = gateway.refund(pi, 599, idempotency_key="refund:2")
    fact = fact_of(last_event(fake, "charge.refunded"))
    assert fact.amount == 1599
    assert fact.detail["refunds"] == [second.ref, first.ref]

    assert fact_of(fake.refund_events(pi)).amount == 1599  # the same state, sent again


def test_describe_a_refund_event_without_the_refunds_list(fake):
    charge = {"id": "ch_3X", "object": "charge", "payment_intent": "pi_3X", "amount": 500, "amount_refunded": 200,
              "currency": "usd", "metadata": {}}
    fact = fact_of(fake.event("charge.refunded", charge))
    assert (fact.kind, fact.ref, fact.amount, fact.currency, fact.detail) == (
        REFUNDED, "pi_3X", 200, "USD", {"charge": "ch_3X", "refunds": []})


@pytest.mark.parametrize(("status", "outcome"), [("won", "won"), ("lost", "lost"), ("warning_closed", "won")])
def test_describe_disputes(fake, gateway, status, outcome):
    pi = paid_intent(fake, gateway, 2599)
    dispute = fake.open_dispute(pi, reason="product_not_received")
    assert dispute["id"].startswith("du_") and dispute["payment_intent"] == pi

    opened = fact_of(last_event(fake, "charge.dispute.created"))
    charge = fake.get(pi)["latest_charge"]
    assert (opened.kind, opened.ref, opened.amount, opened.currency) == (DISPUTE_OPENED, pi, 2599, "EUR")
    assert opened.detail == {"dispute": dispute["id"], "reason": "product_not_received", "status": "needs_response",
                             "charge": charge}

    fake.close_dispute(dispute["id"], status)
    closed = fact_of(last_event(fake, "charge.dispute.closed"))
    assert (closed.kind, closed.ref, closed.amount) == (DISPUTE_CLOSED, pi, 2599)
    assert closed.detail == {"dispute": dispute["id"], "reason": "product_not_received", "status": status,
                             "charge": charge, "outcome": outcome}


def test_describe_an_account_update(fake):
    fake.set_account("acct_1Store", charges_enabled=False, payouts_enabled=False, details_submitted=False)
    fact = fact_of(last_event(fake, "account.updated"))
    assert (fact.kind, fact.ref) == (ACCOUNT_UPDATED, "acct_1Store")
    assert fact.detail["charges_enabled"] is False and "external_account" in fact.detail["requirements_due"]

    fake.set_account("acct_1Store", charges_enabled=True, payouts_enabled=True, details_submitted=True)
    event = last_event(fake, "account.updated")
    assert event["account"] == "acct_1Store"
    assert fact_of(event).detail == {"id": "acct_1Store", "charges_enabled": True, "payouts_enabled": True,
                                     "details_submitted": True, "requirements_due": []}


def test_describe_anything_else_is_ignored(fake):
    fact = fact_of(fake.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert (fact.kind, fact.ref) == (IGNORED, "cus_1")
    fact = fact_of(fake.event("checkout.session.async_payment_succeeded", {"id": "cs_test_1"}))
    assert fact.kind == IGNORED


# -- the hosted pages and webhook delivery -----------------------------------------------------


def test_hosted_checkout_page_pays_and_sends_signed_webhooks(fake, gateway, receiver):
    fake.webhook_url = receiver.url
    checkout = gateway.create_payment(order_request(), idempotency_key="checkout:12")

    page = requests.get(checkout.redirect_url, timeout=5)
    assert page.status_code == 200
    assert "<title>" in page.text and "25.99 EUR" in page.text
    assert f'action="/pay/{checkout.ref}"' in page.text and ">Pay</button>" in page.text
    assert 'href="https://shop.example/checkout/cancelled">Cancel</a>' in page.text

    paid = requests.post(checkout.redirect_url, allow_redirects=False, timeout=5)
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"https://shop.example/checkout/done?session={checkout.ref}"
    assert gateway.payment_state(checkout.ref).status == SUCCEEDED

    events = receiver.events()
    assert [e.type for e in events] == ["checkout.session.completed", "payment_intent.succeeded"]
    assert [describe(e).kind for e in events] == [PAYMENT_SUCCEEDED, PAYMENT_SUCCEEDED]
    assert all(e.metadata == METADATA for e in events)
    assert [d["status"] for d in fake.deliveries] == [200, 200]
    assert requests.post(checkout.redirect_url, allow_redirects=False, timeout=5).status_code == 410


def test_refund_endpoint_sends_charge_refunded(fake, gateway, receiver):
    pi = paid_intent(fake, gateway)
    fake.webhook_url = receiver.url
    gateway.refund(pi, 300, idempotency_key="refund:1")
    assert fake.wait_deliveries()
    (event,) = receiver.events()
    assert (event.type, describe(event).amount) == ("charge.refunded", 300)

    fake.auto_webhooks = False
    gateway.refund(pi, 300, idempotency_key="refund:2")
    assert fake.wait_deliveries() and len(receiver.received) == 1
    assert last_event(fake, "charge.refunded")["data"]["object"]["amount_refunded"] == 600


def test_deliver_signs_with_the_given_secret(fake, receiver):
    status, body = fake.deliver(sample_event(fake), url=receiver.url, secret="whsec_other")
    assert (status, body) == (200, "ok")
    assert receiver.events(["whsec_other"])[0].type == "payment_intent.succeeded"


# -- Connect -----------------------------------------------------------------------------------


def test_create_account_link_and_onboard(fake, receiver):
    fake.webhook_url = receiver.url
    platform = StripeGateway(api_key=KEY, account="acct_1Ignored", api_base=fake.base_url)

    acct = platform.create_account(email="owner@example.com", country="de", idempotency_key="account:3")
    assert acct.startswith("acct_")
    (sent,) = fake.requests_to("POST", "/v1/accounts")
    assert sent.account is None and sent.idempotency_key == "account:3"
    assert sent.params == {"type": "express", "email": "owner@example.com", "country": "DE",
                           "capabilities": {"card_payments": {"requested": "true"}, "transfers": {"requested": "true"}}}
    assert platform.create_account(email="owner@example.com", country="de", idempotency_key="account:3") == acct

    status = platform.account_status(acct)
    assert (status.id, status.charges_enabled, status.payouts_enabled, status.details_submitted) == (
        acct, False, False, False)
    assert "tos_acceptance.date" in status.requirements_due

    url = platform.account_link(acct, refresh_url="https://shop.example/admin/stripe/refresh",
                                return_url="https://shop.example/admin/stripe/done")
    assert url == f"{fake.base_url}/connect/onboard/{acct}"
    (sent,) = fake.requests_to("POST", "/v1/account_links")
    assert sent.params["type"] == "account_onboarding" and sent.params["account"] == acct and sent.account is None

    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and ">Finish</button>" in page.text
    done = requests.post(url, allow_redirects=False, timeout=5)
    assert (done.status_code, done.headers["Location"]) == (303, "https://shop.example/admin/stripe/done")

    status = platform.account_status(acct)
    assert (status.charges_enabled, status.payouts_enabled, status.details_submitted, status.requirements_due) == (
        True, True, True, [])
    (event,) = receiver.events([CONNECT_SECRET])  # a Connect event: the Connect endpoint's secret
    assert (event.type, event.account, describe(event).detail["charges_enabled"]) == ("account.updated", acct, True)


def test_account_link_for_an_unknown_account(fake, gateway):
    with pytest.raises(ProviderError) as caught:
        gateway.account_link("acct_1Nobody", refresh_url="https://a.example/r", return_url="https://a.example/d")
    assert caught.value.retryable is False


def test_balance_transactions_and_payouts_of_a_connected_account(fake):
    acct = connected(fake)
    store = StripeGateway(api_key=KEY, account=acct, api_base=fake.base_url)
    assert store.balance() == {"available": [{"amount": 0, "currency": "EUR"}],
                               "pending": [{"amount": 0, "currency": "EUR"}]}

    paid_intent(fake, store, 10000)
    balance = store.balance()
    fee = 10000 - balance["pending"][0]["amount"]
    assert balance["available"] == [{"amount": 0, "currency": "EUR"}] and 0 < fee < 1000
    with pytest.raises(ProviderError) as caught:
        store.create_payout(5000, "EUR", idempotency_key="payout:1")
    assert (caught.value.code, caught.value.retryable) == ("balance_insufficient", False)

    fake.settle(acct)
    payout = store.create_payout(5000, "EUR", idempotency_key="payout:1")
    assert payout["id"].startswith("po_")
    assert (payout["amount"], payout["currency"], payout["status"]) == (5000, "EUR", "pending")
    assert payout["arrival_date"] > payout["created"] and payout["created"].endswith("+00:00")
    assert set(payout) == {"id", "amount", "currency", "status", "arrival_date", "created", "description"}
    assert store.create_payout(5000, "EUR", idempotency_key="payout:1") == payout
    assert store.payouts() == [payout]
    assert store.balance()["available"] == [{"amount": 10000 - fee - 5000, "currency": "EUR"}]

    rows = store.transactions(limit=10)
    assert [row["type"] for row in rows] == ["payout", "charge"]
    charge_row = rows[1]
    assert (charge_row["amount"], charge_row["fee"], charge_row["net"], charge_row["currency"]) == (
        10000, fee, 10000 - fee, "EUR")
    assert charge_row["id"].startswith("txn_") and charge_row["status"] == "available"
    assert set(charge_row) == {"id", "amount", "net", "fee", "currency", "type", "status", "description", "created"}
    assert store.transactions(limit=1) == rows[:1]
    assert fake.requests_to("GET", "/v1/balance_transactions")[-1].params == {"limit": "1"}
    assert {r.account for r in fake.requests if r.path.startswith("/v1/")} == {acct}

    platform = StripeGateway(api_key=KEY, api_base=fake.base_url)
    assert platform.payouts() == [] and platform.transactions() == []


def test_payouts_need_payouts_enabled(fake):
    acct = fake.set_account("acct_1Half", charges_enabled=True, payouts_enabled=False)["id"]
    fake.add_funds(5000, "eur", account=acct)
    store = StripeGateway(api_key=KEY, account=acct, api_base=fake.base_url)
    with pytest.raises(ProviderError) as caught:
        store.create_payout(1000, "EUR", idempotency_key="payout:1")
    assert caught.value.code == "payouts_not_allowed"
