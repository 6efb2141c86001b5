"""HoodpayGateway against the fake Hoodpay API (tests/fakes/hoodpay_server.py): the request it
sends, the states it reads, the errors it raises, and the webhooks it verifies and describes."""
from __future__ import annotations

import ast
import base64
import json
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from integrations import base
from integrations.hoodpay import HoodpayGateway, describe, parse_webhook, sign, to_major, to_minor
from tests.fakes.hoodpay_server import FakeHoodpay

ROOT = Path(__file__).resolve().parents[2]
PAYMENTS = "/v1/businesses/biz_test/payments"


@pytest.fixture
def fake():
    with FakeHoodpay() as server:
        yield server


@pytest.fixture
def gateway(fake):
    return HoodpayGateway(api_key="hp_test_key", business_id="biz_test", api_base=fake.api_base, timeout=2)


class Receiver:
    """A tiny stdlib webhook endpoint that keeps what it is sent."""

    def __init__(self, status: int = 200):
        self.received: list[dict] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": raw})
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hoodpay"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def request_for(amount=1099, currency="USD", **extra) -> base.PaymentRequest:
    fields = {"description": "Order #12 at Demo Store", "success_url": "https://shop.test/orders/12/paid",
              "cancel_url": "https://shop.test/checkout", "notify_url": "https://shop.test/api/webhooks/hoodpay",
              "email": "buyer@example.com", "metadata": {"store_id": "3", "purpose": "order", "order_id": "12"}}
    fields.update(extra)
    return base.PaymentRequest(amount=amount, currency=currency, **fields)


def creates(fake) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST" and r["path"] == PAYMENTS]


# --- creating a payment ---------------------------------------------------------------------------


def test_create_sends_hoodpays_body_and_answers_the_hosted_page(fake, gateway):
    checkout = gateway.create_payment(request_for(), idempotency_key="checkout:12")

    assert isinstance(checkout, base.Checkout)
    assert checkout.redirect_url == f"{fake.base_url}/pay/{checkout.ref}"
    assert checkout.client_secret is None
    [sent] = creates(fake)
    assert sent["headers"]["Authorization"] == "Bearer hp_test_key"
    assert sent["headers"]["Idempotency-Key"] == "checkout:12"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert b'"amount":10.99' in sent["body"]  # the exact literal, no float noise
    body = sent["json"]
    assert body == {"amount": Decimal("10.99"), "currency": "USD", "name": "Order #12 at Demo Store",
                    "description": "Order #12 at Demo Store", "redirectUrl": "https://shop.test/orders/12/paid",
                    "notifyUrl": "https://shop.test/api/webhooks/hoodpay", "customerEmail": "buyer@example.com",
                    "metadata": {"store_id": "3", "purpose": "order", "order_id": "12"}}
    assert fake.payment(checkout.ref)["status"] == "PENDING"


def test_optional_fields_are_left_out(fake, gateway):
    gateway.create_payment(request_for(notify_url=None, email=None, metadata={}, currency="eur"),
                           idempotency_key="topup:4")
    body = creates(fake)[0]["json"]
    assert set(body) == {"amount", "currency", "name", "description", "redirectUrl"}
    assert body["currency"] == "EUR"


@pytest.mark.parametrize(("minor", "currency", "literal"), [
    (1099, "USD", b"10.99"), (5, "EUR", b"0.05"), (100000, "USD", b"1000.00"), (1, "GBP", b"0.01"),
    (1500, "JPY", b"1500"), (1234, "KWD", b"1.234"), (999999999, "USD", b"9999999.99"),
])
def test_amounts_go_out_in_exact_major_units_and_come_back_the_same(fake, gateway, minor, currency, literal):
    checkout = gateway.create_payment(request_for(amount=minor, currency=currency), idempotency_key="k")
    assert b'"amount":' + literal + b"," in creates(fake)[0]["body"]
    assert to_major(minor, currency) == Decimal(literal.decode())
    state = gateway.payment_state(checkout.ref)
    assert (state.amount, state.currency) == (minor, currency)


def test_conversions():
    assert to_major(1099, "usd") == Decimal("10.99")
    assert to_minor(10.99, "USD") == 1099
    assert to_minor("0.1", "USD") == 10
    assert to_minor(Decimal("1.2345"), "KWD") == 1235  # half up
    assert to_minor(1500, "JPY") == 1500
    with pytest.raises(ValueError):
        to_major(10.5, "USD")
    with pytest.raises(ValueError):
        to_minor("abc", "USD")


def test_a_non_positive_amount_is_refused_before_any_request(fake, gateway):
    with pytest.raises(ValueError):
        gateway.create_payment(request_for(amount=0), idempotency_key="k")
    assert fake.requests == []


# --- reading a payment ------------------------------------------------------------------------------


@pytest.mark.parametrize(("hoodpay_status", "ours"), [
    ("PENDING", base.PENDING), ("AWAITING_PAYMENT", base.PENDING), ("PROCESSING", base.PENDING),
    ("COMPLETED", base.SUCCEEDED), ("EXPIRED", base.EXPIRED), ("CANCELLED", base.FAILED),
    ("FAILED", base.FAILED), ("SOMETHING_NEW", base.PENDING),
])
def test_payment_state_maps_each_status(fake, gateway, hoodpay_status, ours):
    checkout = gateway.create_payment(request_for(), idempotency_key="k")
    fake.set_status(checkout.ref, hoodpay_status)

    state = gateway.payment_state(checkout.ref)

    assert state == base.PaymentState(ref=checkout.ref, status=ours, amount=1099, currency="USD",
                                      metadata={"store_id": "3", "purpose": "order", "order_id": "12"})
    got = fake.requests[-1]
    assert (got["method"], got["path"]) == ("GET", f"{PAYMENTS}/{checkout.ref}")
    assert got["headers"]["Authorization"] == "Bearer hp_test_key"


def test_an_unknown_payment_is_not_found(gateway):
    with pytest.raises(base.ProviderError) as caught:
        gateway.payment_state("no-such-payment")
    assert not caught.value.retryable
    assert caught.value.code == "not_found"
    assert "Payment not found" in str(caught.value)


# --- errors -----------------------------------------------------------------------------------------


def test_a_wrong_key_is_refused_and_not_retryable(fake):
    wrong = HoodpayGateway(api_key="hp_wrong", business_id="biz_test", api_base=fake.api_base, timeout=2)
    with pytest.raises(base.ProviderError) as caught:
        wrong.create_payment(request_for(), idempotency_key="k")
    assert not caught.value.retryable
    assert caught.value.code == "unauthorized"
    assert "401" in str(caught.value) and "The API key is missing or invalid" in str(caught.value)


def test_a_wrong_business_is_refused_and_not_retryable(fake):
    wrong = HoodpayGateway(api_key="hp_test_key", business_id="biz_other", api_base=fake.api_base, timeout=2)
    with pytest.raises(base.ProviderError) as caught:
        wrong.payment_state("x")
    assert (caught.value.retryable, caught.value.code) == (False, "not_found")
    assert "Business not found" in str(caught.value)


def test_a_validation_error_carries_hoodpays_words(fake, gateway):
    fake.fail_next(PAYMENTS, 400, message="amount: must be at least 1")
    with pytest.raises(base.ProviderError) as caught:
        gateway.create_payment(request_for(), idempotency_key="k")
    assert (caught.value.retryable, caught.value.code) == (False, "invalid_request")
    assert "amount: must be at least 1" in str(caught.value)


@pytest.mark.parametrize(("status", "code"), [(500, "server_error"), (502, "server_error"),
                                              (503, "server_error"), (429, "rate_limited")])
def test_server_errors_and_rate_limits_are_retryable(fake, gateway, status, code):
    fake.fail_next(PAYMENTS, status)
    with pytest.raises(base.ProviderError) as caught:
        gateway.create_payment(request_for(), idempotency_key="k")
    assert (caught.value.retryable, caught.value.code) == (True, code)
    # the failure was used up: the retry goes through
    assert gateway.create_payment(request_for(), idempotency_key="k").ref


def test_a_timeout_is_retryable(fake):
    impatient = HoodpayGateway(api_key="hp_test_key", business_id="biz_test", api_base=fake.api_base,
                               timeout=0.2)
    fake.slow_next(PAYMENTS, seconds=1.0)
    with pytest.raises(base.ProviderError) as caught:
        impatient.check_credentials()
    assert (caught.value.retryable, caught.value.code) == (True, "timeout")


def test_an_unreachable_hoodpay_is_retryable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = HoodpayGateway(api_key="k", business_id="b", api_base=f"http://127.0.0.1:{port}/v1/", timeout=2)
    with pytest.raises(base.ProviderError) as caught:
        nowhere.payment_state("x")
    assert (caught.value.retryable, caught.value.code) == (True, "network")


def test_a_2xx_that_is_not_json_is_a_bad_response(fake, gateway, monkeypatch):
    def not_json(*args, **kwargs):
        response = requests.Response()
        response.status_code, response._content = 200, b"<html>maintenance</html>"
        return response
    monkeypatch.setattr(gateway._session, "request", not_json)
    with pytest.raises(base.ProviderError) as create_error:
        gateway.create_payment(request_for(), idempotency_key="k")
    with pytest.raises(base.ProviderError) as read_error:
        gateway.payment_state("x")
    assert (create_error.value.code, create_error.value.retryable) == ("bad_response", False)
    assert (read_error.value.code, read_error.value.retryable) == ("bad_response", True)


def test_the_key_never_shows_in_repr(gateway):
    assert "hp_test_key" not in repr(gateway)


# --- credentials, refunds ----------------------------------------------------------------------------


def test_check_credentials(fake, gateway):
    assert gateway.check_credentials() is None
    got = fake.requests[-1]
    assert (got["method"], got["path"]) == ("GET", PAYMENTS)
    assert got["query"] == {"pageNumber": ["1"], "pageSize": ["1"]}
    for key, business in (("hp_wrong", "biz_test"), ("hp_test_key", "biz_other")):
        wrong = HoodpayGateway(api_key=key, business_id=business, api_base=fake.api_base, timeout=2)
        with pytest.raises(base.ProviderError) as caught:
            wrong.check_credentials()
        assert not caught.value.retryable


def test_refunds_are_unsupported_and_call_nothing(fake, gateway):
    with pytest.raises(base.ProviderError) as caught:
        gateway.refund("pay_1", 500, idempotency_key="refund:1", reason="requested_by_customer")
    assert (caught.value.code, caught.value.retryable) == ("refund_unsupported", False)
    assert fake.requests == []


# --- webhooks ----------------------------------------------------------------------------------------


def paid_event_body(fake, gateway, **request_fields) -> tuple[str, bytes]:
    checkout = gateway.create_payment(request_for(**request_fields), idempotency_key="k")
    fake.complete(checkout.ref, deliver=False)
    return checkout.ref, fake.event("payment:completed", fake.payment(checkout.ref))


@pytest.mark.parametrize("scheme", ["svix", "hex"])
def test_parse_webhook_verifies_and_reads(fake, gateway, scheme):
    ref, body = paid_event_body(fake, gateway)
    event = parse_webhook(body, sign(body, fake.webhook_secret, scheme=scheme), fake.webhook_secret)

    assert event.type == "payment:completed"
    assert event.object_ref == ref
    assert event.metadata == {"store_id": "3", "purpose": "order", "order_id": "12"}
    assert event.payload == json.loads(body)
    assert event.account is None
    if scheme == "svix":
        assert event.id == sign(body, fake.webhook_secret)["svix-id"]
    else:
        assert event.id.startswith(f"{ref}:payment:completed:")


def test_header_names_are_case_insensitive_and_sha256_prefix_is_read(fake, gateway):
    _, body = paid_event_body(fake, gateway)
    svix = {k.title(): v for k, v in sign(body, "whsec_x").items()}
    assert parse_webhook(body, svix, "whsec_x").type == "payment:completed"
    hexed = sign(body, "s3cret", scheme="hex")["x-hoodpay-signature"]
    assert parse_webhook(body, {"X-Hoodpay-Signature": "sha256=" + hexed.upper()}, "s3cret").object_ref


def test_a_real_svix_style_secret_is_base64_decoded(fake, gateway):
    import hashlib
    import hmac

    secret = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
    _, body = paid_event_body(fake, gateway)
    headers = {"svix-id": "msg_1", "svix-timestamp": str(int(time.time()))}
    mac = hmac.new(b"0123456789abcdef01234567", f"msg_1.{headers['svix-timestamp']}.".encode() + body,
                   hashlib.sha256).digest()
    headers["svix-signature"] = "v1,bogus v1," + base64.b64encode(mac).decode()  # rotation: several
    assert parse_webhook(body, headers, secret).id == "msg_1"
    assert sign(body, secret, msg_id="msg_1", timestamp=int(headers["svix-timestamp"]))["svix-signature"] == \
        "v1," + base64.b64encode(mac).decode()


@pytest.mark.parametrize("scheme", ["svix", "hex"])
def test_bad_signatures_are_refused(fake, gateway, scheme):
    _, body = paid_event_body(fake, gateway)
    good = sign(body, fake.webhook_secret, scheme=scheme)
    with pytest.raises(base.SignatureError):
        parse_webhook(body, sign(body, "another secret", scheme=scheme), fake.webhook_secret)
    with pytest.raises(base.SignatureError):
        parse_webhook(body.replace(b"COMPLETED", b"CANCELLED"), good, fake.webhook_secret)
    with pytest.raises(base.SignatureError):
        parse_webhook(body, {}, fake.webhook_secret)
    with pytest.raises(base.SignatureError):
        parse_webhook(body, {"content-type": "application/json"}, fake.webhook_secret)
    with pytest.raises(base.SignatureError):
        parse_webhook(body, good, "")
    broken = dict(good)
    key = "svix-signature" if scheme == "svix" else "x-hoodpay-signature"
    broken[key] = "v1,AAAA" if scheme == "svix" else "00" * 32
    with pytest.raises(base.SignatureError):
        parse_webhook(body, broken, fake.webhook_secret)


def test_svix_needs_its_id_and_a_fresh_timestamp(fake, gateway):
    _, body = paid_event_body(fake, gateway)
    old = sign(body, fake.webhook_secret, timestamp=int(time.time()) - 3600)
    with pytest.raises(base.SignatureError, match="too old"):
        parse_webhook(body, old, fake.webhook_secret)
    assert parse_webhook(body, old, fake.webhook_secret, now=time.time() - 3600).type == "payment:completed"
    no_id = {k: v for k, v in sign(body, fake.webhook_secret).items() if k != "svix-id"}
    with pytest.raises(base.SignatureError):
        parse_webhook(body, no_id, fake.webhook_secret)
    forged_id = {**sign(body, fake.webhook_secret), "svix-id": "msg_other"}  # the id is signed too
    with pytest.raises(base.SignatureError):
        parse_webhook(body, forged_id, fake.webhook_secret)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b""])
def test_a_signed_body_that_is_not_a_json_object_is_refused(fake, body):
    for scheme in ("svix", "hex"):
        with pytest.raises(base.SignatureError):
            parse_webhook(body, sign(body, fake.webhook_secret, scheme=scheme), fake.webhook_secret)


@pytest.mark.parametrize("scheme", ["svix", "hex"])
def test_the_same_body_twice_has_the_same_event_id(fake, gateway, scheme):
    ref, body = paid_event_body(fake, gateway)
    now = int(time.time())
    first = parse_webhook(body, sign(body, fake.webhook_secret, scheme=scheme, timestamp=now - 120),
                          fake.webhook_secret)
    # a redelivery two minutes later: a new timestamp, the same message
    again = parse_webhook(body, sign(body, fake.webhook_secret, scheme=scheme, timestamp=now), fake.webhook_secret)
    assert first.id == again.id
    other = fake.event("payment:expired", fake.payment(ref))
    assert parse_webhook(other, sign(other, fake.webhook_secret, scheme=scheme), fake.webhook_secret).id != first.id


def test_the_payloads_own_event_id_is_used_when_there_is_one(fake):
    body = json.dumps({"eventId": "evt_77", "eventType": "PAYMENT_EXPIRED",
                       "forPaymentEvents": {"id": "p1", "status": "EXPIRED"}}).encode()
    assert parse_webhook(body, sign(body, "s", scheme="hex"), "s").id == "evt_77"


@pytest.mark.parametrize("payload", [
    {"eventType": "PAYMENT_COMPLETED", "forPaymentEvents": {"id": "p1", "status": "COMPLETED"}},
    {"event": "payment:completed", "data": {"id": "p1", "status": "COMPLETED"}},
    {"type": "payment.completed", "payment": {"id": "p1"}},
    {"id": "p1", "status": "COMPLETED", "endAmount": 10.99, "currency": "USD"},  # a bare payment
])
def test_the_shapes_we_read(payload):
    body = json.dumps(payload).encode()
    event = parse_webhook(body, sign(body, "s", scheme="hex"), "s")
    assert (event.type, event.object_ref) == ("payment:completed", "p1")
    assert describe(event).kind == base.PAYMENT_SUCCEEDED


@pytest.mark.parametrize(("event_type", "kind"), [
    ("payment:completed", base.PAYMENT_SUCCEEDED), ("payment:cancelled", base.PAYMENT_FAILED),
    ("payment:expired", base.PAYMENT_EXPIRED), ("payment:method_selected", base.IGNORED),
    ("payment:created", base.IGNORED), ("PAYMENT_PROCESSING", base.IGNORED),
])
def test_describe_each_type(fake, gateway, event_type, kind):
    checkout = gateway.create_payment(request_for(), idempotency_key="k")
    body = fake.event(event_type, fake.payment(checkout.ref))
    fact = describe(parse_webhook(body, sign(body, fake.webhook_secret), fake.webhook_secret))
    assert fact.kind == kind
    assert fact.ref == checkout.ref
    assert (fact.amount, fact.currency) == (1099, "USD")
    assert fact.metadata == {"store_id": "3", "purpose": "order", "order_id": "12"}


def test_describe_without_amounts_leaves_them_none():
    body = json.dumps({"eventType": "PAYMENT_COMPLETED", "forPaymentEvents": {"id": "p9"}}).encode()
    fact = describe(parse_webhook(body, sign(body, "s"), "s"))
    assert (fact.kind, fact.ref, fact.amount, fact.currency) == (base.PAYMENT_SUCCEEDED, "p9", None, None)


# --- the hosted page, end to end -------------------------------------------------------------------------


def test_paying_on_the_hosted_page_delivers_a_signed_webhook(fake, gateway, receiver):
    checkout = gateway.create_payment(request_for(notify_url=receiver.url), idempotency_key="checkout:12")

    page = requests.get(checkout.redirect_url, timeout=5)
    assert page.status_code == 200
    assert "Pay with crypto" in page.text and "10.99 USD" in page.text and 'lang="en"' in page.text
    assert f'href="/pay/{checkout.ref}/cancel"' in page.text

    paid = requests.post(checkout.redirect_url, timeout=5, allow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["Location"] == "https://shop.test/orders/12/paid"

    [hook] = receiver.received
    assert hook["path"] == "/hooks/hoodpay"
    event = parse_webhook(hook["body"], hook["headers"], fake.webhook_secret)
    assert describe(event) == base.Fact(kind=base.PAYMENT_SUCCEEDED, ref=checkout.ref, amount=1099, currency="USD",
                                        metadata={"store_id": "3", "purpose": "order", "order_id": "12"},
                                        detail={"type": "payment:completed", "status": "COMPLETED"})
    assert gateway.payment_state(checkout.ref).status == base.SUCCEEDED
    assert fake.deliveries[-1]["status"] == 200

    # paying again changes nothing and sends nothing
    assert requests.post(checkout.redirect_url, timeout=5, allow_redirects=False).status_code == 303
    assert len(receiver.received) == 1
    assert "This payment is completed" in requests.get(checkout.redirect_url, timeout=5).text


def test_cancelling_on_the_hosted_page(fake, gateway, receiver):
    checkout = gateway.create_payment(request_for(notify_url=receiver.url), idempotency_key="k")
    gone = requests.get(f"{checkout.redirect_url}/cancel", timeout=5, allow_redirects=False)
    assert (gone.status_code, gone.headers["Location"]) == (303, "https://shop.test/orders/12/paid")
    [hook] = receiver.received
    event = parse_webhook(hook["body"], hook["headers"], fake.webhook_secret)
    assert (event.type, describe(event).kind) == ("payment:cancelled", base.PAYMENT_FAILED)
    assert gateway.payment_state(checkout.ref).status == base.FAILED


def test_helpers_deliver_to_the_fakes_webhook_url(receiver):
    with FakeHoodpay(webhook_url=receiver.url, signature_scheme="hex") as fake:
        gateway = HoodpayGateway(api_key=fake.api_key, business_id=fake.business_id, api_base=fake.api_base)
        first = gateway.create_payment(request_for(notify_url=None), idempotency_key="a")
        second = gateway.create_payment(request_for(notify_url=None), idempotency_key="b")
        assert fake.complete(first.ref) == (200, "ok")
        assert fake.expire(second.ref) == (200, "ok")
        assert fake.cancel(second.ref) is None  # already settled
        kinds = [describe(parse_webhook(h["body"], h["headers"], fake.webhook_secret)).kind for h in receiver.received]
        assert kinds == [base.PAYMENT_SUCCEEDED, base.PAYMENT_EXPIRED]
        assert "x-hoodpay-signature" in {k.lower() for k in receiver.received[0]["headers"]}
        assert fake.deliver(b'{"eventType": "PAYMENT_CREATED"}')[0] == 200


def test_the_module_imports_only_the_stdlib_requests_and_base():
    tree = ast.parse((ROOT / "integrations" / "hoodpay.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    app_packages = {"services", "models", "web", "api", "admin", "storefront", "jobs", "extensions", "config",
                    "tenancy", "transactions", "app", "cli"}
    assert not {name.split(".")[0] for name in imported} & app_packages
    assert {name for name in imported if name.startswith("integrations")} == {"integrations.base"}
