"""A small fake Hoodpay API on 127.0.0.1, speaking the shapes ``integrations.hoodpay`` assumes.

Standard library only (ThreadingHTTPServer in a daemon thread); thread-safe.

    with FakeHoodpay(webhook_url="http://127.0.0.1:5000/api/webhooks/hoodpay") as fake:
        gateway = HoodpayGateway(api_key=fake.api_key, business_id=fake.business_id,
                                 api_base=fake.api_base)

API (under ``/v1/``; Bearer key and known business id required, else 401 / 404 with a
Hoodpay-style ``{"message", "errors"}`` body):
  GET  /v1/businesses/{biz}/payments              one page of payments (``pageNumber``, ``pageSize``)
  POST /v1/businesses/{biz}/payments              create -> ``{"data": {"id", "url"}, "message"}``
  GET  /v1/businesses/{biz}/payments/{id}         ``{"data": payment}``
Hosted page (no auth), the ``url`` a payment answers with:
  GET  /pay/{id}          amount, description, a "Pay with crypto" button, a cancel link
  POST /pay/{id}          marks the payment COMPLETED, sends the signed ``PAYMENT_COMPLETED``
                          webhook to its notifyUrl (or ``webhook_url``), 303 to its redirectUrl
  GET  /pay/{id}/cancel   marks it CANCELLED, sends ``PAYMENT_CANCELLED``, 303 to redirectUrl

Webhooks are signed with ``integrations.hoodpay.sign`` (Svix-style headers by default;
``signature_scheme="hex"`` for ``x-hoodpay-signature``). Bodies look like
``{"eventType": "PAYMENT_COMPLETED", "businessId", "createdAt", "forPaymentEvents": payment}``.

Test helpers: ``requests`` (every API/page request seen), ``deliveries`` (every webhook sent),
``fail_next(path_prefix, status, count)``, ``slow_next(path_prefix, seconds, count)``,
``complete(id)``, ``cancel(id)``, ``expire(id)``, ``set_status(id, status)``, ``payment(id)``,
``event(type, payment) -> bytes``, ``deliver(body_or_event, url=None) -> (status, text)``.
The fake does not dedupe on ``Idempotency-Key`` (like Hoodpay, as far as we know); it records it.

Try payments locally (the store's Hoodpay settings point at the printed api base):

    python -m tests.fakes.hoodpay_server --port 12112 \\
        --webhook-url http://127.0.0.1:5000/api/webhooks/hoodpay
"""
from __future__ import annotations

import argparse
import html
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from integrations.hoodpay import sign

PENDING_STATUSES = ("PENDING", "AWAITING_PAYMENT", "PROCESSING")
_INTERNAL = ("_redirect_url", "_notify_url", "_idempotency_key")


def _dumps(obj) -> bytes:
    # Decimal amounts go out as JSON numbers (float() of a 2-3 decimal amount prints exactly)
    return json.dumps(obj, default=lambda o: float(o) if isinstance(o, Decimal) else str(o)).encode()


def _event_name(event_type: str) -> str:
    """``payment:completed`` / ``PAYMENT_COMPLETED`` -> ``PAYMENT_COMPLETED`` (the wire form)."""
    return event_type.strip().upper().replace(":", "_").replace(".", "_")


class FakeHoodpay:
    def __init__(self, api_key: str = "hp_test_key", business_id: str = "biz_test",
                 webhook_secret: str = "hp_whsec_test", webhook_url: str | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, signature_scheme: str = "svix"):
        self.api_key = api_key
        self.business_id = business_id
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.signature_scheme = signature_scheme
        self.requests: list[dict] = []
        self.deliveries: list[dict] = []
        self._payments: dict[str, dict] = {}
        self._rules: list[dict] = []
        self._lock = threading.RLock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> FakeHoodpay:
        if self._server is None:
            handler = type("Handler", (_Handler,), {"fake": self})
            self._server = ThreadingHTTPServer((self._host, self._port), handler)
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fake-hoodpay", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHoodpay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1/"

    def checkout_url(self, payment_id: str) -> str:
        return f"{self.base_url}/pay/{payment_id}"

    # --- scripted trouble --------------------------------------------------------------------

    def fail_next(self, path_prefix: str = "/", status: int = 500, count: int = 1, message: str | None = None) -> None:
        """The next ``count`` requests whose path starts with ``path_prefix`` answer ``status``."""
        with self._lock:
            self._rules.append({"kind": "fail", "prefix": path_prefix, "status": status, "count": count,
                                "message": message or f"Simulated failure {status}"})

    def slow_next(self, path_prefix: str = "/", seconds: float = 1.0, count: int = 1) -> None:
        """The next ``count`` matching requests wait ``seconds`` before being answered."""
        with self._lock:
            self._rules.append({"kind": "slow", "prefix": path_prefix, "seconds": seconds, "count": count})

    def _take_rules(self, path: str) -> tuple[float, dict | None]:
        delay, failure = 0.0, None
        with self._lock:
            for rule in list(self._rules):
                if not path.startswith(rule["prefix"]):
                    continue
                if rule["kind"] == "slow" and not delay:
                    delay = rule["seconds"]
                elif rule["kind"] == "fail" and failure is None:
                    failure = rule
                else:
                    continue
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self._rules.remove(rule)
        return delay, failure

    # --- payments ----------------------------------------------------------------------------

    def create(self, body: dict, idempotency_key: str | None = None) -> dict:
        payment_id = str(uuid.uuid4())
        amount = body["amount"]
        payment = {
            "id": payment_id,
            "businessId": self.business_id,
            "name": body.get("name"),
            "description": body.get("description"),
            "currency": str(body["currency"]).upper(),
            "prePaymentAmount": amount,
            "endAmount": amount,
            "status": "PENDING",
            "customerEmail": body.get("customerEmail"),
            "metadata": body.get("metadata") or {},
            "selectedPaymentMethod": None,
            "createdAt": int(time.time()),
            "_redirect_url": body.get("redirectUrl"),
            "_notify_url": body.get("notifyUrl"),
            "_idempotency_key": idempotency_key,
        }
        with self._lock:
            self._payments[payment_id] = payment
        return self.payment(payment_id)

    def payment(self, payment_id: str) -> dict:
        """The payment as the API shows it (KeyError when unknown)."""
        with self._lock:
            stored = self._payments[payment_id]
            return {k: v for k, v in stored.items() if k not in _INTERNAL}

    def payments(self) -> list[dict]:
        with self._lock:
            ids = list(self._payments)
        return [self.payment(i) for i in ids]

    def redirect_url(self, payment_id: str) -> str | None:
        with self._lock:
            return self._payments[payment_id]["_redirect_url"]

    def set_status(self, payment_id: str, status: str) -> dict:
        with self._lock:
            self._payments[payment_id]["status"] = status
        return self.payment(payment_id)

    def _transition(self, payment_id: str, status: str, event_type: str, deliver: bool):
        with self._lock:
            stored = self._payments[payment_id]
            if stored["status"] not in PENDING_STATUSES:
                return None
            stored["status"] = status
            if status == "COMPLETED":
                stored["selectedPaymentMethod"] = "DIRECT_CRYPTO"
            notify = stored["_notify_url"]
        if not deliver:
            return None
        url = notify or self.webhook_url
        if not url:
            return None
        return self.deliver(self.event(event_type, self.payment(payment_id)), url=url)

    def complete(self, payment_id: str, deliver: bool = True):
        """Mark it paid and (``deliver``) send ``PAYMENT_COMPLETED``: (status, text) of the delivery,
        or None when nothing was sent (already settled, or no webhook URL)."""
        return self._transition(payment_id, "COMPLETED", "payment:completed", deliver)

    def cancel(self, payment_id: str, deliver: bool = True):
        return self._transition(payment_id, "CANCELLED", "payment:cancelled", deliver)

    def expire(self, payment_id: str, deliver: bool = True):
        return self._transition(payment_id, "EXPIRED", "payment:expired", deliver)

    # --- webhooks ----------------------------------------------------------------------------

    def event(self, event_type: str, payment: dict) -> bytes:
        """The body Hoodpay would POST for ``event_type`` about ``payment``."""
        return _dumps({"eventType": _event_name(event_type), "businessId": self.business_id,
                       "createdAt": int(time.time()), "forPaymentEvents": payment})

    def deliver(self, body_or_event, url: str | None = None, *, headers: dict | None = None) -> tuple[int, str]:
        """POST a signed webhook (bytes as they are; a dict as JSON) to ``url`` or ``webhook_url``."""
        body = body_or_event if isinstance(body_or_event, bytes) else _dumps(body_or_event)
        target = url or self.webhook_url
        if not target:
            raise ValueError("no webhook URL: pass url= or set webhook_url")
        sent = {"Content-Type": "application/json", "User-Agent": "Hoodpay-Fake/1",
                **sign(body, self.webhook_secret, scheme=self.signature_scheme), **(headers or {})}
        request = urllib.request.Request(target, data=body, headers=sent, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                result = (response.status, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            result = (exc.code, exc.read().decode("utf-8", "replace"))
        except (urllib.error.URLError, OSError) as exc:
            result = (0, f"delivery failed: {getattr(exc, 'reason', exc)}")
        with self._lock:
            self.deliveries.append({"url": target, "headers": sent, "body": body, "status": result[0],
                                    "text": result[1]})
        return result


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHoodpay
    server_version = "FakeHoodpay/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        try:
            self._handle(method)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    # --- plumbing ----------------------------------------------------------------------------

    def _handle(self, method: str):
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except ValueError:
                parsed = None
        with fake._lock:
            fake.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query),
                                  "headers": dict(self.headers.items()), "body": raw, "json": parsed})
        delay, failure = fake._take_rules(url.path)
        if delay:
            time.sleep(delay)
        if failure:
            return self._error(failure["status"], failure["message"])

        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["pay"] and len(parts) in (2, 3):
            return self._hosted(method, parts[1], parts[2] if len(parts) == 3 else None)
        if parts[:1] != ["v1"]:
            return self._error(404, "Not found")
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._error(401, "Unauthorized", ["The API key is missing or invalid"])
        if len(parts) < 4 or parts[1] != "businesses" or parts[3] != "payments":
            return self._error(404, "Not found")
        if parts[2] != fake.business_id:
            return self._error(404, "Business not found")
        if len(parts) == 4 and method == "GET":
            return self._list(parse_qs(url.query))
        if len(parts) == 4 and method == "POST":
            return self._create(parsed)
        if len(parts) == 5 and method == "GET":
            try:
                return self._json(200, {"data": fake.payment(parts[4])})
            except KeyError:
                return self._error(404, "Payment not found")
        return self._error(405, "Method not allowed")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj):
        self._send(status, _dumps(obj), "application/json; charset=utf-8")

    def _error(self, status: int, message: str, errors: list[str] | None = None):
        self._json(status, {"message": message, "errors": errors or [message]})

    # --- API -----------------------------------------------------------------------------------

    def _list(self, query: dict):
        def number(name, default):
            try:
                return max(1, int(query.get(name, [default])[0]))
            except ValueError:
                return default
        page, size = number("pageNumber", 1), number("pageSize", 20)
        payments = self.fake.payments()
        self._json(200, {"data": payments[(page - 1) * size: page * size], "pageNumber": page,
                         "pageSize": size, "totalCount": len(payments)})

    def _create(self, body):
        if not isinstance(body, dict):
            return self._error(400, "Invalid request body", ["The body must be a JSON object"])
        problems = []
        currency, amount = body.get("currency"), body.get("amount")
        if not isinstance(currency, str) or len(currency) != 3:
            problems.append("currency: a 3-letter code is required")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount <= 0:
            problems.append("amount: a positive number is required")
        if problems:
            return self._error(400, "Validation failed", problems)
        payment = self.fake.create(body, self.headers.get("Idempotency-Key"))
        self._json(200, {"data": {"id": payment["id"], "url": self.fake.checkout_url(payment["id"])},
                         "message": "Payment successfully created"})

    # --- hosted page --------------------------------------------------------------------------

    def _hosted(self, method: str, payment_id: str, action: str | None):
        fake = self.fake
        try:
            payment = fake.payment(payment_id)
        except KeyError:
            return self._page(404, "Payment not found", "<p>There is no such payment.</p>")
        back = fake.redirect_url(payment_id)
        if action == "cancel" and method == "GET":
            fake.cancel(payment_id)
            return self._redirect(back or f"/pay/{payment_id}")
        if action is not None:
            return self._page(404, "Not found", "<p>Not found.</p>")
        if method == "POST":
            fake.complete(payment_id)
            return self._redirect(back or f"/pay/{payment_id}")
        amount = f"{html.escape(str(payment['endAmount']))} {html.escape(payment['currency'])}"
        title = html.escape(payment.get("name") or "Payment")
        description = html.escape(payment.get("description") or "")
        if payment["status"] in PENDING_STATUSES:
            body = (f"<p>{description}</p><p>Amount due: <strong>{amount}</strong></p>"
                    f'<form method="post" action="/pay/{html.escape(payment_id)}">'
                    f'<button type="submit">Pay with crypto</button></form>'
                    f'<p><a href="/pay/{html.escape(payment_id)}/cancel">Cancel and return to the store</a></p>')
        else:
            link = f'<p><a href="{html.escape(back)}">Return to the store</a></p>' if back else ""
            body = (f"<p>{description}</p><p>Amount: {amount}</p>"
                    f"<p role=\"status\">This payment is {html.escape(payment['status'].lower())}.</p>{link}")
        return self._page(200, title, body)

    def _page(self, status: int, title: str, body: str):
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{title} - Hoodpay (fake)</title></head>"
                f"<body><main><h1>{title}</h1>{body}</main></body></html>")
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _redirect(self, location: str):
        self._send(303, b"", "text/plain; charset=utf-8", {"Location": location})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake Hoodpay API on 127.0.0.1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument("--webhook-url", default=None, help="where webhooks go when a payment has no notifyUrl")
    parser.add_argument("--api-key", default="hp_test_key")
    parser.add_argument("--business-id", default="biz_test")
    parser.add_argument("--webhook-secret", default="hp_whsec_test")
    parser.add_argument("--signature-scheme", choices=("svix", "hex"), default="svix")
    args = parser.parse_args(argv)
    fake = FakeHoodpay(args.api_key, args.business_id, args.webhook_secret, args.webhook_url,
                       host=args.host, port=args.port, signature_scheme=args.signature_scheme).start()
    print(f"Fake Hoodpay on {fake.base_url}\n  api base:       {fake.api_base}\n"
          f"  API key:        {fake.api_key}\n  business id:    {fake.business_id}\n"
          f"  webhook secret: {fake.webhook_secret}\n  webhook url:    {fake.webhook_url or '(per payment)'}\n"
          "Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
