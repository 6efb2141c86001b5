"""A small fake of Stripe's API on 127.0.0.1, close enough to the documented shapes that the real
``stripe`` client (and ``integrations.stripe.StripeGateway``) works against it.

In tests::

    with FakeStripe() as fake:
        gateway = StripeGateway(api_key="sk_test_x", api_base=fake.base_url)
        checkout = gateway.create_payment(request, idempotency_key="checkout:1")
        fake.complete_session(checkout.ref)          # or a browser POSTing the hosted page
        fake.requests[-1].params, fake.events[-1]     # what the client sent, what Stripe announced

By hand, for trying payments locally (serves until Ctrl-C)::

    python -m tests.fakes.stripe_server --port 12111 \\
        --webhook-url http://127.0.0.1:5000/api/webhooks/stripe --webhook-secret whsec_...

then point the app's Stripe API base at http://127.0.0.1:12111 with any ``sk_test_...`` key; the
hosted checkout page is ``/pay/<session id>``, onboarding ``/connect/onboard/<account id>``.

What it speaks (https://docs.stripe.com/api):

* ``Authorization: Bearer sk_...`` on every ``/v1`` call (else 401). Form-encoded bodies and query
  strings with nested keys (``metadata[k]=v``, ``line_items[0][price_data][currency]=eur``).
* ``Stripe-Account: acct_...``: the request acts on that connected account (403 for an unknown
  one, as Stripe); objects belong to the account they were created under and are a 404
  (``resource_missing``) from any other.
* ``Idempotency-Key`` on a POST: the first answer is stored per (account, key) and replayed for the
  same key (header ``Idempotent-Replayed: true``) without creating anything; the same key with other
  parameters is a 400 ``idempotency_error``. Injected failures and 4xx validation errors are not
  stored (Stripe stores results only once the endpoint ran), card errors (402) are.
* Endpoints: ``/v1/checkout/sessions`` (create, list, retrieve, ``/{id}/expire``),
  ``/v1/payment_intents`` (create, list, retrieve, ``/{id}/cancel``), ``/v1/refunds`` (create,
  retrieve), ``/v1/charges/{id}``, ``/v1/accounts`` (create, list, retrieve), ``/v1/account_links``,
  ``/v1/balance``, ``/v1/balance_transactions``, ``/v1/payouts`` (create, list, retrieve).
  Lists are ``{"object": "list", "data": [...], "has_more", "url"}`` (``limit``, newest first).
  Errors are ``{"error": {"type", "code", "message", "param"}}``.
* Checkout Sessions get their PaymentIntent when paid (as on current API versions); a paid
  PaymentIntent has a charge (``ch_...``, ``payment_intent``, the intent's metadata) and a balance
  transaction (pending until ``settle()``). Refunds above what remains refundable are a 400
  ``charge_already_refunded`` / ``amount_too_large``; payouts above the available balance a 400
  ``balance_insufficient``.
* Webhooks: events (``evt_...``) signed ``Stripe-Signature: t=<time>,v1=<HMAC-SHA256 of
  f"{t}.{body}">`` with ``webhook_secret`` (events of a connected account, which carry
  ``account``, with ``connect_webhook_secret`` when set). Every event is kept in ``fake.events``
  and POSTed to ``webhook_url`` when set (``fake.deliveries`` records the answers). Events caused
  by an API call (a refund, an expiry, a cancel) are sent after the call's answer, when
  ``auto_webhooks`` is on; ``wait_deliveries()`` waits for them.

Test helpers: ``fail_next``, ``slow_next``, ``event``, ``deliver``, ``wait_deliveries``,
``complete_session``, ``expire_session``, ``succeed_intent``, ``fail_intent``, ``refund_events``,
``open_dispute``, ``close_dispute``, ``set_account``, ``settle``, ``add_funds``, ``get``,
``objects``, ``requests_to``; module-level ``sign``.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2026-10-28.endive"  # what stripe==16.1.0 pins
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
                "xaf", "xof", "xpf"}
MINIMUM_CHARGE = {"gbp": 30}  # minor units; 50 for the rest (Stripe's minimums, roughly)
COUNTRY_CURRENCY = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "CH": "chf", "JP": "jpy", "SE": "sek",
                    "DK": "dkk", "NO": "nok", "PL": "pln"}
ONBOARDING_DUE = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"]
_ALNUM = string.ascii_letters + string.digits


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value for ``payload``: ``t=<time>,v1=<hex HMAC-SHA256>``."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def parse_params(pairs: list[tuple[str, str]]) -> dict:
    """Form pairs with nested keys (``a[b][0][c]=v``, ``a[]=v``) -> nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = root
        for depth, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if depth == len(parts) - 1:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(root)


def _listify(node):
    if isinstance(node, dict):
        node = {key: _listify(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 type: str = "invalid_request_error", extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "message": message, **({"code": code} if code else {}),
                               **({"param": param} if param else {}), **(extra or {})}}


def _missing(kind: str, obj_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param)


@dataclass
class Recorded:
    """One request the fake received. ``headers`` keys are Title-Cased (``Idempotency-Key``)."""

    method: str
    path: str
    params: dict
    headers: dict[str, str]

    @property
    def account(self) -> str | None:
        return self.headers.get("Stripe-Account")

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class _Fault:
    prefix: str
    count: int
    status: int = 500
    seconds: float = 0.0
    code: str | None = None
    message: str | None = None


@dataclass
class _Context:
    method: str
    path: str
    params: dict
    account: str | None
    events: list[dict] = field(default_factory=list)


class FakeStripe:
    def __init__(self, webhook_url: str | None = None, webhook_secret: str = "whsec_test_platform",
                 connect_webhook_secret: str | None = None, *, auto_webhooks: bool = True,
                 host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.connect_webhook_secret = connect_webhook_secret
        self.auto_webhooks = auto_webhooks
        self.verbose = verbose  # one line per request and delivery on stderr (the command line)
        self.platform_currency = "eur"
        self.refund_status = "succeeded"  # what new refunds report (pending/failed to try the other paths)
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.events: list[dict] = []
        self.deliveries: list[dict] = []  # {"event", "type", "url", "status", "body"}
        self._objects: dict[str, dict] = {}
        self._owner: dict[str, str | None] = {}
        self._idempotent: dict[tuple[str | None, str], tuple[str, str, dict, int, bytes]] = {}
        self._faults: list[_Fault] = []
        self._slow: list[_Fault] = []
        self._links: dict[str, dict] = {}  # account id -> its latest account link
        self._private: dict[str, dict] = {}  # what the fake keeps about a session besides its fields
        self._inflight = 0
        self._idle = threading.Condition(self.lock)
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-stripe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(self, path_prefix: str, status: int = 500, count: int = 1, *, code: str | None = None,
                  message: str | None = None) -> None:
        """The next ``count`` API calls whose path starts with ``path_prefix`` answer ``status``
        with a Stripe error body, without doing anything (and without storing an idempotent result)."""
        with self.lock:
            self._faults.append(_Fault(path_prefix, count, status=status, code=code, message=message))

    def slow_next(self, path_prefix: str, seconds: float, count: int = 1) -> None:
        """The next ``count`` matching calls do their work, store it, then wait ``seconds`` before
        answering: a client that times out loses an answer although the object exists."""
        with self.lock:
            self._slow.append(_Fault(path_prefix, count, seconds=seconds))

    # -- inspection --------------------------------------------------------------------------

    def get(self, obj_id: str) -> dict:
        """A copy of any object by id (``KeyError`` when unknown)."""
        with self.lock:
            return copy.deepcopy(self._objects[obj_id])

    def objects(self, kind: str, account: str | None | bool = False) -> list[dict]:
        """Copies of every object of ``kind`` (``"checkout.session"``, ``"payment_intent"``...), oldest
        first; ``account`` (None for the platform, or an acct id) keeps that account's only."""
        with self.lock:
            return [copy.deepcopy(obj) for obj_id, obj in self._objects.items()
                    if obj.get("object") == kind and (account is False or self._owner.get(obj_id) == account)]

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    # -- webhooks ----------------------------------------------------------------------------

    def event(self, type: str, obj: dict, account: str | None = None) -> dict:
        """A Stripe Event around a snapshot of ``obj`` (built only: not kept, not sent)."""
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1 if self.webhook_url else 0,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        if account:
            event["account"] = account
        return event

    def _emit(self, events: list[dict], type: str, obj: dict, account: str | None) -> dict:
        """An event the fake itself raises: kept in ``fake.events`` and queued in ``events`` to send."""
        event = self.event(type, obj, account)
        self.events.append(event)
        events.append(event)
        return event

    def secret_for(self, event: dict) -> str:
        if event.get("account") and self.connect_webhook_secret:
            return self.connect_webhook_secret
        return self.webhook_secret

    def deliver(self, event: dict, url: str | None = None, secret: str | None = None) -> tuple[int | None, str]:
        """POST ``event`` signed to ``url`` (default ``webhook_url``): ``(status, body)``; status is
        None when the endpoint could not be reached."""
        url = url or self.webhook_url
        if not url:
            raise ValueError("no webhook URL: pass url= or set fake.webhook_url")
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(body, secret or self.secret_for(event)),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (a local test URL)
                status, text = response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            status, text = None, str(exc)
        with self.lock:
            self.deliveries.append({"event": event["id"], "type": event["type"], "url": url,
                                    "status": status, "body": text})
        if self.verbose:
            print(f"webhook {event['type']} {event['id']} -> {url}: {status or text}", file=sys.stderr, flush=True)
        return status, text

    def wait_deliveries(self, timeout: float = 5.0) -> bool:
        """Wait until the events sent after API answers have been delivered."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _send_all(self, events: list[dict]) -> None:
        if self.webhook_url:
            for event in events:
                self.deliver(event)

    # -- helpers that drive state (each sends the matching events) ------------------------------

    def complete_session(self, session_id: str) -> dict:
        """The shopper paid: session complete/paid, its PaymentIntent succeeded with a charge;
        ``checkout.session.completed`` and ``payment_intent.succeeded``."""
        with self.lock:
            ctx = _Context("POST", "", {}, self._owner.get(session_id))
            session = self._complete_session(ctx, self._require(session_id, "checkout.session"))
            result = copy.deepcopy(session)
        self._send_all(ctx.events)
        return result

    def expire_session(self, session_id: str) -> dict:
        with self.lock:
            ctx = _Context("POST", "", {}, self._owner.get(session_id))
            session = self._expire_session(ctx, self._require(session_id, "checkout.session"))
            result = copy.deepcopy(session)
        self._send_all(ctx.events)
        return result

    def succeed_intent(self, pi_id: str) -> dict:
        with self.lock:
            ctx = _Context("POST", "", {}, self._owner.get(pi_id))
            intent = self._succeed_intent(ctx, self._require(pi_id, "payment_intent"))
            result = copy.deepcopy(intent)
        self._send_all(ctx.events)
        return result

    def fail_intent(self, pi_id: str, message: str = "Your card was declined.") -> dict:
        """A declined attempt: ``requires_payment_method`` with ``last_payment_error``;
        ``payment_intent.payment_failed``."""
        with self.lock:
            intent = self._require(pi_id, "payment_intent")
            account = self._owner.get(pi_id)
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                "message": message, "payment_method": {"id": new_id("pm_"), "object": "payment_method",
                                                       "type": "card"},
            }
            events: list[dict] = []
            self._emit(events, "payment_intent.payment_failed", intent, account)
            result = copy.deepcopy(intent)
        self._send_all(events)
        return result

    def refund_events(self, pi_id: str) -> dict:
        """``charge.refunded`` for the intent's charge as it stands (refunded total so far)."""
        with self.lock:
            intent = self._require(pi_id, "payment_intent")
            charge = self._require(intent.get("latest_charge") or "", "charge")
            events: list[dict] = []
            event = self._emit(events, "charge.refunded", self._charge_view(charge), self._owner.get(pi_id))
        self._send_all(events)
        return event

    def open_dispute(self, pi_id: str, reason: str = "fraudulent", amount: int | None = None) -> dict:
        """The cardholder disputes the payment: ``charge.dispute.created``; the amount is withdrawn."""
        with self.lock:
            intent = self._require(pi_id, "payment_intent")
            charge = self._require(intent.get("latest_charge") or "", "charge")
            account = self._owner.get(pi_id)
            dispute = self._store({
                "id": new_id("du_"), "object": "dispute", "amount": amount or charge["amount"],
                "balance_transactions": [], "charge": charge["id"], "created": int(time.time()),
                "currency": charge["currency"], "evidence": {}, "evidence_details": {"due_by": None,
                                                                                    "submission_count": 0},
                "is_charge_refundable": False, "livemode": False, "metadata": {}, "payment_intent": pi_id,
                "reason": reason, "status": "needs_response",
            }, account)
            charge["disputed"] = True
            txn = self._transaction(account, -dispute["amount"], dispute["currency"], "adjustment",
                                    dispute["id"], fee=1500, status="available", description="Chargeback withdrawal")
            dispute["balance_transactions"] = [txn["id"]]
            events: list[dict] = []
            self._emit(events, "charge.dispute.created", dispute, account)
            result = copy.deepcopy(dispute)
        self._send_all(events)
        return result

    def close_dispute(self, dispute_id: str, status: str = "lost") -> dict:
        """``won``, ``lost`` or ``warning_closed``: ``charge.dispute.closed`` (won: funds reinstated)."""
        if status not in ("won", "lost", "warning_closed"):
            raise ValueError(f"a closed dispute is won, lost or warning_closed, not {status!r}")
        with self.lock:
            dispute = self._require(dispute_id, "dispute")
            account = self._owner.get(dispute_id)
            dispute["status"] = status
            if status == "won":
                txn = self._transaction(account, dispute["amount"], dispute["currency"], "adjustment",
                                        dispute_id, status="available", description="Chargeback reversal")
                dispute["balance_transactions"].append(txn["id"])
            events: list[dict] = []
            self._emit(events, "charge.dispute.closed", dispute, account)
            result = copy.deepcopy(dispute)
        self._send_all(events)
        return result

    def set_account(self, acct_id: str, *, charges_enabled: bool | None = None, payouts_enabled: bool | None = None,
                    details_submitted: bool | None = None, requirements_due: list[str] | None = None) -> dict:
        """Change a connected account (created when unknown): ``account.updated``."""
        with self.lock:
            account = self._objects.get(acct_id)
            if account is None:
                account = self._new_account(acct_id, {})
            if charges_enabled is not None:
                account["charges_enabled"] = charges_enabled
                account["capabilities"]["card_payments"] = "active" if charges_enabled else "inactive"
            if payouts_enabled is not None:
                account["payouts_enabled"] = payouts_enabled
                account["capabilities"]["transfers"] = "active" if payouts_enabled else "inactive"
            if details_submitted is not None:
                account["details_submitted"] = details_submitted
            if requirements_due is not None:
                account["requirements"]["currently_due"] = list(requirements_due)
                account["requirements"]["eventually_due"] = list(requirements_due)
            elif account["charges_enabled"] and account["payouts_enabled"] and account["details_submitted"]:
                account["requirements"]["currently_due"] = []
                account["requirements"]["eventually_due"] = []
            account["requirements"]["disabled_reason"] = (
                "requirements.past_due" if account["requirements"]["currently_due"] else None)
            events: list[dict] = []
            self._emit(events, "account.updated", account, acct_id)
            result = copy.deepcopy(account)
        self._send_all(events)
        return result

    def settle(self, account: str | None = None) -> None:
        """Pending balance transactions of ``account`` (None: the platform) become available."""
        with self.lock:
            for txn in self.objects("balance_transaction", account):
                self._objects[txn["id"]]["status"] = "available"

    def add_funds(self, amount: int, currency: str = "eur", account: str | None = None) -> dict:
        """Money straight into the available balance (like Stripe's 4000 0000 0000 0077 test card)."""
        with self.lock:
            return copy.deepcopy(self._transaction(account, amount, currency.lower(), "adjustment", None,
                                                   status="available", description="Test funds"))

    # -- HTTP --------------------------------------------------------------------------------

    def _handle(self, handler: _Handler, method: str) -> None:
        url = urlsplit(handler.path)
        path = url.path.rstrip("/") or "/"
        if method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        else:
            body = url.query
        params = parse_params(parse_qsl(body, keep_blank_values=True))
        headers = {name.title(): value for name, value in handler.headers.items()}
        with self.lock:
            self.requests.append(Recorded(method, path, params, headers))
        if self.verbose:
            print(f"{method} {path} {headers.get('Stripe-Account') or ''}".rstrip(), file=sys.stderr, flush=True)
        if path.startswith("/v1/"):
            self._api(handler, method, path, params, headers)
        elif path.startswith("/pay/"):
            self._checkout_page(handler, method, path.removeprefix("/pay/"))
        elif path.startswith("/connect/onboard/"):
            self._onboarding_page(handler, method, path.removeprefix("/connect/onboard/"))
        else:
            _send(handler, 404, b"Not found", "text/plain")

    def _take(self, faults: list[_Fault], path: str) -> _Fault | None:
        for fault in faults:
            if path.startswith(fault.prefix) and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    faults.remove(fault)
                return fault
        return None

    def _api(self, handler: _Handler, method: str, path: str, params: dict, headers: dict[str, str]) -> None:
        request_id = new_id("req_", 14)
        reply_headers = {"Request-Id": request_id, "Stripe-Version": headers.get("Stripe-Version") or API_VERSION}
        ctx: _Context | None = None
        slow: _Fault | None = None
        with self.lock:
            try:
                api_key = _api_key(headers.get("Authorization", ""))
                if not api_key.startswith("sk_"):
                    raise ApiError(401, "Invalid API Key provided: " + (api_key[:8] or "(none)") + "...")
                fault = self._take(self._faults, path)
                slow = self._take(self._slow, path)
                if fault is not None:
                    raise _fault_error(fault)
                account = headers.get("Stripe-Account") or None
                if account and self._objects.get(account, {}).get("object") != "account":
                    raise ApiError(403, f"The provided key does not have access to account '{account}' "
                                        "(or that account does not exist). Application access may have been revoked.")
                key = headers.get("Idempotency-Key") if method == "POST" else None
                stored = self._idempotent.get((account, key)) if key else None
                if stored is not None:
                    if stored[:3] != (method, path, params):
                        raise ApiError(400, "Keys for idempotent requests can only be used with the same parameters "
                                            f"they were first used with. Try using a key other than '{key}' if you "
                                            "meant to execute a different request.", type="idempotency_error")
                    status, body = stored[3], stored[4]
                    reply_headers["Idempotent-Replayed"] = "true"
                else:
                    ctx = _Context(method, path, params, account)
                    try:
                        status, obj = self._route(ctx)
                        body = json.dumps(obj).encode()
                    except ApiError as exc:
                        if exc.status != 402:
                            raise
                        status, body = exc.status, json.dumps(exc.body).encode()
                    if key:
                        self._idempotent[(account, key)] = (method, path, params, status, body)
                    if ctx.events and self.auto_webhooks and self.webhook_url:
                        self._inflight += 1
                    else:
                        ctx.events = []
            except ApiError as exc:
                status, body = exc.status, json.dumps(exc.body).encode()
        if slow is not None:
            time.sleep(slow.seconds)
        _send(handler, status, body, "application/json", reply_headers)
        if ctx is not None and ctx.events:
            try:
                self._send_all(ctx.events)
            finally:
                with self._idle:
                    self._inflight -= 1
                    self._idle.notify_all()

    def _route(self, ctx: _Context) -> tuple[int, dict]:
        parts = ctx.path.split("/")[2:]  # /v1/a/b -> [a, b]
        method = ctx.method
        if parts[:2] == ["checkout", "sessions"]:
            parts = ["checkout_sessions", *parts[2:]]
        name = parts[0]
        routes = {
            ("POST", "checkout_sessions", 1): lambda: self._create_session(ctx),
            ("GET", "checkout_sessions", 1): lambda: self._list(ctx, "checkout.session"),
            ("GET", "checkout_sessions", 2): lambda: self._retrieve(ctx, parts[1], "checkout.session"),
            ("POST", "checkout_sessions", 3): lambda: self._session_action(ctx, parts[1], parts[2]),
            ("POST", "payment_intents", 1): lambda: self._create_intent(ctx),
            ("GET", "payment_intents", 1): lambda: self._list(ctx, "payment_intent"),
            ("GET", "payment_intents", 2): lambda: self._retrieve(ctx, parts[1], "payment_intent"),
            ("POST", "payment_intents", 3): lambda: self._intent_action(ctx, parts[1], parts[2]),
            ("POST", "refunds", 1): lambda: self._create_refund(ctx),
            ("GET", "refunds", 1): lambda: self._list(ctx, "refund"),
            ("GET", "refunds", 2): lambda: self._retrieve(ctx, parts[1], "refund"),
            ("GET", "charges", 2): lambda: self._retrieve(ctx, parts[1], "charge"),
            ("POST", "accounts", 1): lambda: self._create_account(ctx),
            ("GET", "accounts", 1): lambda: self._list(ctx, "account"),
            ("GET", "accounts", 2): lambda: self._retrieve_account(ctx, parts[1]),
            ("POST", "account_links", 1): lambda: self._create_account_link(ctx),
            ("GET", "balance", 1): lambda: self._balance(ctx),
            ("GET", "balance_transactions", 1): lambda: self._list(ctx, "balance_transaction"),
            ("GET", "balance_transactions", 2): lambda: self._retrieve(ctx, parts[1], "balance_transaction"),
            ("POST", "payouts", 1): lambda: self._create_payout(ctx),
            ("GET", "payouts", 1): lambda: self._list(ctx, "payout"),
            ("GET", "payouts", 2): lambda: self._retrieve(ctx, parts[1], "payout"),
        }
        route = routes.get((method, name, len(parts)))
        if route is None:
            raise ApiError(404, f"Unrecognized request URL ({method}: {ctx.path}). Please see https://stripe.com/docs "
                                "or we can help at https://support.stripe.com/.")
        result = route()
        return (200, result) if isinstance(result, dict) else result

    # -- objects -----------------------------------------------------------------------------

    def _store(self, obj: dict, account: str | None) -> dict:
        self._objects[obj["id"]] = obj
        self._owner[obj["id"]] = account
        return obj

    def _require(self, obj_id: str, kind: str) -> dict:
        obj = self._objects.get(obj_id)
        if obj is None or obj.get("object") != kind:
            raise KeyError(f"no {kind} {obj_id!r} in the fake")
        return obj

    def _find(self, ctx: _Context, obj_id: str, kind: str, param: str = "id") -> dict:
        obj = self._objects.get(obj_id)
        if obj is None or obj.get("object") != kind or self._owner.get(obj_id) != ctx.account:
            raise _missing(kind, obj_id, param)
        return obj

    def _retrieve(self, ctx: _Context, obj_id: str, kind: str) -> dict:
        obj = self._find(ctx, obj_id, kind)
        return self._charge_view(obj) if kind == "charge" else obj

    def _list(self, ctx: _Context, kind: str) -> dict:
        limit = _int_param(ctx.params, "limit", default=10)
        if not 1 <= limit <= 100:
            raise ApiError(400, "This value must be between 1 and 100 (it currently is "
                                f"{limit}).", code="parameter_invalid_integer", param="limit")
        owner = None if kind == "account" else ctx.account
        rows = [obj for obj_id, obj in self._objects.items()
                if obj.get("object") == kind and self._owner.get(obj_id) == owner]
        rows.reverse()  # newest first
        for name in ("payment_intent", "charge"):
            if isinstance(ctx.params.get(name), str):
                rows = [row for row in rows if row.get(name) == ctx.params[name]]
        return {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit,
                "url": ctx.path}

    def _create_session(self, ctx: _Context) -> dict:
        p = ctx.params
        if p.get("mode") != "payment":
            raise ApiError(400, "This fake only supports mode=payment.", code="parameter_invalid_string", param="mode")
        items = p.get("line_items")
        if not isinstance(items, list) or not items:
            raise ApiError(400, "Missing required param: line_items.", code="parameter_missing", param="line_items")
        total, currency = 0, None
        line_items = []
        for index, item in enumerate(items):
            data = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(data, dict):
                raise ApiError(400, "You must specify either `price` or `price_data` for each line item.",
                               code="parameter_missing", param=f"line_items[{index}][price_data]")
            item_currency = _currency_param(data, f"line_items[{index}][price_data][currency]")
            if currency and item_currency != currency:
                raise ApiError(400, "All line items must use the same currency.", param="line_items")
            currency = item_currency
            amount = _int_param(data, "unit_amount", required=True, prefix=f"line_items[{index}][price_data]")
            quantity = _int_param(item, "quantity", required=True, prefix=f"line_items[{index}]")
            product = data.get("product_data") or {}
            if not product.get("name"):
                raise ApiError(400, "Missing required param: line_items[0][price_data][product_data][name].",
                               code="parameter_missing", param=f"line_items[{index}][price_data][product_data][name]")
            total += amount * quantity
            line_items.append({"amount_total": amount * quantity, "currency": currency, "quantity": quantity,
                               "description": product["name"], "unit_amount": amount})
        _check_minimum(total, currency or "")
        for name in ("success_url", "cancel_url"):
            if p.get(name) and not re.match(r"^https?://", p[name]):
                raise ApiError(400, "Not a valid URL", code="url_invalid", param=name)
        session_id = new_id("cs_test_a1", 56)
        now = int(time.time())
        intent_data = p.get("payment_intent_data") if isinstance(p.get("payment_intent_data"), dict) else {}
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": p.get("cancel_url"),
            "client_reference_id": p.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_details": None,
            "customer_email": p.get("customer_email"),
            "expires_at": now + 24 * 3600,
            "livemode": False,
            "metadata": _metadata_param(p),
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": p.get("success_url"),
            "ui_mode": "hosted",
            "url": f"{self.base_url}/pay/{session_id}",
        }
        self._private[session_id] = {"line_items": line_items, "intent_metadata": _metadata_param(intent_data)}
        return self._store(session, ctx.account)

    def _session_action(self, ctx: _Context, session_id: str, action: str) -> dict:
        session = self._find(ctx, session_id, "checkout.session", "session")
        if action != "expire":
            raise ApiError(404, f"Unrecognized request URL (POST: {ctx.path}).")
        if session["status"] != "open":
            raise ApiError(400, "Only Checkout Sessions with a status in [\"open\"] can be expired.")
        return self._expire_session(ctx, session)

    def _expire_session(self, ctx: _Context, session: dict) -> dict:
        if session["status"] != "open":
            raise ValueError(f"session {session['id']} is {session['status']}, not open")
        session["status"] = "expired"
        session["url"] = None
        self._emit(ctx.events, "checkout.session.expired", session, self._owner.get(session["id"]))
        return session

    def _complete_session(self, ctx: _Context, session: dict) -> dict:
        if session["status"] != "open":
            raise ValueError(f"session {session['id']} is {session['status']}, not open")
        account = self._owner.get(session["id"])
        intent = self._new_intent(account, session["amount_total"], session["currency"],
                                  self._private[session["id"]]["intent_metadata"], description=None,
                                  receipt_email=session.get("customer_email"))
        session.update({
            "status": "complete", "payment_status": "paid", "payment_intent": intent["id"], "url": None,
            "customer_details": {"email": session.get("customer_email") or "shopper@example.com",
                                 "name": "Test Shopper", "address": {"country": "DE"}},
        })
        self._succeed_intent(ctx, intent, emit=False)
        self._emit(ctx.events, "checkout.session.completed", session, account)
        self._emit(ctx.events, "payment_intent.succeeded", intent, account)
        return session

    def _create_intent(self, ctx: _Context) -> dict:
        p = ctx.params
        amount = _int_param(p, "amount", required=True)
        currency = _currency_param(p, "currency")
        _check_minimum(amount, currency)
        return self._new_intent(ctx.account, amount, currency, _metadata_param(p), description=p.get("description"),
                                receipt_email=p.get("receipt_email"),
                                automatic=(p.get("automatic_payment_methods") or {}).get("enabled") != "false")

    def _new_intent(self, account: str | None, amount: int, currency: str, metadata: dict, *,
                    description: str | None, receipt_email: str | None, automatic: bool = True) -> dict:
        intent_id = new_id("pi_3")
        return self._store({
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True} if automatic else None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "payment_method": None,
            "payment_method_types": ["card"],
            "receipt_email": receipt_email,
            "status": "requires_payment_method",
        }, account)

    def _intent_action(self, ctx: _Context, pi_id: str, action: str) -> dict:
        intent = self._find(ctx, pi_id, "payment_intent", "intent")
        if action != "cancel":
            raise ApiError(404, f"Unrecognized request URL (POST: {ctx.path}).")
        if intent["status"] in ("succeeded", "canceled"):
            raise ApiError(400, f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}. "
                                "Only a PaymentIntent with one of the following statuses may be canceled: "
                                "requires_payment_method, requires_capture, requires_confirmation, requires_action, "
                                "processing.", code="payment_intent_unexpected_state")
        intent.update({"status": "canceled", "canceled_at": int(time.time()),
                       "cancellation_reason": ctx.params.get("cancellation_reason")})
        self._emit(ctx.events, "payment_intent.canceled", intent, ctx.account)
        return intent

    def _succeed_intent(self, ctx: _Context, intent: dict, *, emit: bool = True) -> dict:
        if intent["status"] in ("succeeded", "canceled"):
            raise ValueError(f"payment intent {intent['id']} is already {intent['status']}")
        account = self._owner.get(intent["id"])
        charge_id = new_id("ch_3")
        txn = self._transaction(account, intent["amount"], intent["currency"], "charge", charge_id,
                                fee=_fee(intent["amount"]), status="pending", description=intent.get("description"))
        self._store({
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "balance_transaction": txn["id"],
            "captured": True,
            "created": int(time.time()),
            "currency": intent["currency"],
            "description": intent.get("description"),
            "disputed": False,
            "livemode": False,
            "metadata": dict(intent.get("metadata") or {}),
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "receipt_email": intent.get("receipt_email"),
            "refunded": False,
            "status": "succeeded",
        }, account)
        intent.update({"status": "succeeded", "amount_received": intent["amount"], "latest_charge": charge_id,
                       "last_payment_error": None, "payment_method": new_id("pm_")})
        if emit:
            self._emit(ctx.events, "payment_intent.succeeded", intent, account)
        return intent

    def _charge_view(self, charge: dict) -> dict:
        view = copy.deepcopy(charge)
        refunds = [obj for obj in self._objects.values()
                   if obj.get("object") == "refund" and obj.get("charge") == charge["id"]]
        refunds.reverse()
        view["refunds"] = {"object": "list", "data": copy.deepcopy(refunds), "has_more": False,
                           "total_count": len(refunds), "url": f"/v1/charges/{charge['id']}/refunds"}
        return view

    def _create_refund(self, ctx: _Context) -> tuple[int, dict]:
        p = ctx.params
        if p.get("payment_intent"):
            intent = self._find(ctx, p["payment_intent"], "payment_intent", "payment_intent")
            if not intent.get("latest_charge"):
                raise ApiError(400, f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                                    "refund.", code="payment_intent_unexpected_state", param="payment_intent")
            charge = self._objects[intent["latest_charge"]]
        elif p.get("charge"):
            charge = self._find(ctx, p["charge"], "charge", "charge")
        else:
            raise ApiError(400, "One of the following params should be provided for this request: payment_intent or "
                                "charge.", code="parameter_missing", param="payment_intent")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise ApiError(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = _int_param(p, "amount", default=remaining)
        if amount <= 0:
            raise ApiError(400, "Invalid positive integer", code="parameter_invalid_integer", param="amount")
        if amount > remaining:
            raise ApiError(400, f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded "
                                f"amount on charge ({_money(remaining, charge['currency'])})",
                           code="amount_too_large", param="amount")
        reason = p.get("reason")
        if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
            raise ApiError(400, "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                           code="parameter_invalid_string", param="reason")
        status = self.refund_status
        refund_id = new_id("re_3")
        txn = None
        if status != "failed":
            txn = self._transaction(ctx.account, -amount, charge["currency"], "refund", refund_id,
                                    status="available", description="REFUND FOR CHARGE")
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        refund = self._store({
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": txn["id"] if txn else None,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": _metadata_param(p),
            "payment_intent": charge.get("payment_intent"),
            "reason": reason,
            "receipt_number": None,
            "status": status,
        }, ctx.account)
        if txn is not None:
            self._emit(ctx.events, "charge.refunded", self._charge_view(charge), ctx.account)
        return 200, refund

    def _new_account(self, acct_id: str, p: dict) -> dict:
        country = (p.get("country") or "DE").upper()
        requested = p.get("capabilities") if isinstance(p.get("capabilities"), dict) else {
            "card_payments": {"requested": "true"}, "transfers": {"requested": "true"}}
        return self._store({
            "id": acct_id,
            "object": "account",
            "business_profile": {"name": None, "url": None},
            "business_type": p.get("business_type"),
            "capabilities": {name: "inactive" for name, value in requested.items()
                             if isinstance(value, dict) and value.get("requested") == "true"},
            "charges_enabled": False,
            "controller": {"type": "application", "is_controller": True},
            "country": country,
            "created": int(time.time()),
            "default_currency": COUNTRY_CURRENCY.get(country, "eur"),
            "details_submitted": False,
            "email": p.get("email"),
            "metadata": _metadata_param(p),
            "payouts_enabled": False,
            "requirements": {
                "current_deadline": None, "currently_due": list(ONBOARDING_DUE),
                "disabled_reason": "requirements.past_due", "errors": [], "eventually_due": list(ONBOARDING_DUE),
                "past_due": [], "pending_verification": [],
            },
            "settings": {"payouts": {"schedule": {"interval": "daily", "delay_days": 7}}},
            "tos_acceptance": {"date": None},
            "type": p.get("type") or "express",
        }, None)

    def _create_account(self, ctx: _Context) -> dict:
        if ctx.account:
            raise ApiError(400, "Connected accounts cannot create other accounts.")
        if ctx.params.get("type") not in ("express", "standard", "custom", None):
            raise ApiError(400, "Invalid type: must be one of custom, express, or standard",
                           code="parameter_invalid_string", param="type")
        return self._new_account(new_id("acct_1", 15), ctx.params)

    def _retrieve_account(self, ctx: _Context, acct_id: str) -> dict:
        account = self._objects.get(acct_id)
        if account is None or account.get("object") != "account" or ctx.account not in (None, acct_id):
            raise ApiError(403, f"The provided key does not have access to account '{acct_id}' (or that account "
                                "does not exist). Application access may have been revoked.")
        return account

    def _create_account_link(self, ctx: _Context) -> dict:
        p = ctx.params
        for name in ("account", "type"):
            if not p.get(name):
                raise ApiError(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
        if p["type"] not in ("account_onboarding", "account_update"):
            raise ApiError(400, "Invalid type", code="parameter_invalid_string", param="type")
        if self._objects.get(p["account"], {}).get("object") != "account":
            raise _missing("account", p["account"], "account")
        now = int(time.time())
        link = {"object": "account_link", "created": now, "expires_at": now + 300,
                "url": f"{self.base_url}/connect/onboard/{p['account']}"}
        self._links[p["account"]] = {**link, "return_url": p.get("return_url"), "refresh_url": p.get("refresh_url")}
        return link

    def _transaction(self, account: str | None, amount: int, currency: str, type: str, source: str | None, *,
                     fee: int = 0, status: str = "pending", description: str | None = None) -> dict:
        now = int(time.time())
        return self._store({
            "id": new_id("txn_3"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": now if status == "available" else now + 2 * 86400,
            "created": now,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": [{"amount": fee, "currency": currency, "description": "Stripe processing fees",
                             "type": "stripe_fee"}] if fee else [],
            "net": amount - fee,
            "reporting_category": {"charge": "charge", "refund": "refund", "payout": "payout"}.get(type, "other_adjustment"),
            "source": source,
            "status": status,
            "type": type,
        }, account)

    def _sums(self, account: str | None) -> dict[str, dict[str, int]]:
        sums: dict[str, dict[str, int]] = {"available": {}, "pending": {}}
        for txn in self.objects("balance_transaction", account):
            bucket = sums["available" if txn["status"] == "available" else "pending"]
            bucket[txn["currency"]] = bucket.get(txn["currency"], 0) + txn["net"]
        return sums

    def _balance(self, ctx: _Context) -> dict:
        sums = self._sums(ctx.account)
        default = (self._objects[ctx.account]["default_currency"] if ctx.account else self.platform_currency)
        rows = {}
        for key, bucket in sums.items():
            bucket.setdefault(default, 0)
            rows[key] = [{"amount": amount, "currency": currency, "source_types": {"card": amount}}
                         for currency, amount in sorted(bucket.items())]
        return {"object": "balance", "livemode": False, **rows}

    def _create_payout(self, ctx: _Context) -> dict:
        p = ctx.params
        amount = _int_param(p, "amount", required=True)
        currency = _currency_param(p, "currency")
        if amount <= 0:
            raise ApiError(400, "Invalid positive integer", code="parameter_invalid_integer", param="amount")
        if ctx.account and not self._objects[ctx.account]["payouts_enabled"]:
            raise ApiError(400, "Payouts are not enabled for this account.", code="payouts_not_allowed")
        available = self._sums(ctx.account)["available"].get(currency, 0)
        if amount > available:
            raise ApiError(400, "You have insufficient funds in your Stripe account for this transfer. Your card "
                                "balance is too low. You can use the /v1/balance endpoint to view your Stripe balance "
                                "(for more details, see stripe.com/docs/api#balance).", code="balance_insufficient",
                           param="amount")
        payout_id = new_id("po_1")
        txn = self._transaction(ctx.account, -amount, currency, "payout", payout_id, status="available",
                                description=p.get("description") or "STRIPE PAYOUT")
        now = int(time.time())
        return self._store({
            "id": payout_id,
            "object": "payout",
            "amount": amount,
            "arrival_date": now + 2 * 86400,
            "automatic": False,
            "balance_transaction": txn["id"],
            "created": now,
            "currency": currency,
            "description": p.get("description") or "STRIPE PAYOUT",
            "destination": "ba_1" + new_id("", 23),
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": _metadata_param(p),
            "method": p.get("method") or "standard",
            "source_type": "card",
            "statement_descriptor": p.get("statement_descriptor"),
            "status": "pending",
            "type": "bank_account",
        }, ctx.account)

    # -- hosted pages ------------------------------------------------------------------------

    def _checkout_page(self, handler: _Handler, method: str, session_id: str) -> None:
        with self.lock:
            session = self._objects.get(session_id)
            if session is None or session.get("object") != "checkout.session":
                return _send(handler, 404, _page("Not found", "<p>No such checkout session.</p>"))
            if session["status"] != "open":
                state = "paid" if session["status"] == "complete" else "expired"
                return _send(handler, 410, _page("Checkout unavailable", f"<p>This checkout session is {state}.</p>"))
            if method == "GET":
                name = self._private[session_id]["line_items"][0]["description"]
                amount = _money(session["amount_total"], session["currency"])
                body = (
                    f"<h1>{html.escape(name)}</h1>"
                    f"<p>Amount due: <strong>{html.escape(amount)}</strong></p>"
                    + (f"<p>Receipt to {html.escape(session['customer_email'])}</p>" if session["customer_email"] else "")
                    + f'<form method="post" action="/pay/{html.escape(session_id)}">'
                      '<button type="submit">Pay</button></form>'
                    + (f'<p><a href="{html.escape(session["cancel_url"])}">Cancel</a></p>'
                       if session.get("cancel_url") else "")
                )
                return _send(handler, 200, _page(f"Pay {amount} - {name}", body))
            ctx = _Context("POST", "", {}, self._owner.get(session_id))
            self._complete_session(ctx, session)
            target = (session.get("success_url") or "").replace("{CHECKOUT_SESSION_ID}", session_id)
        self._send_all(ctx.events)
        if target:
            _send(handler, 303, b"", "text/plain", {"Location": target})
        else:
            _send(handler, 200, _page("Paid", "<p>Payment received.</p>"))

    def _onboarding_page(self, handler: _Handler, method: str, acct_id: str) -> None:
        with self.lock:
            account = self._objects.get(acct_id)
            if account is None or account.get("object") != "account":
                return _send(handler, 404, _page("Not found", "<p>No such account.</p>"))
            link = self._links.get(acct_id) or {}
        if method == "GET":
            body = (f"<h1>Set up payouts for {html.escape(account.get('email') or acct_id)}</h1>"
                    f'<form method="post" action="/connect/onboard/{html.escape(acct_id)}">'
                    '<button type="submit">Finish</button></form>')
            return _send(handler, 200, _page("Finish onboarding", body))
        self.set_account(acct_id, charges_enabled=True, payouts_enabled=True, details_submitted=True)
        if link.get("return_url"):
            _send(handler, 303, b"", "text/plain", {"Location": link["return_url"]})
        else:
            _send(handler, 200, _page("Done", "<p>Onboarding complete.</p>"))


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"
    server_version = "FakeStripe/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self.fake._handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.fake._handle(self, "POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self.fake._handle(self, "DELETE")

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
          headers: dict[str, str] | None = None) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up (a timeout): its answer is lost


def _page(title: str, body: str) -> bytes:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head><body><main>{body}"
            f"<p><small>Test mode (FakeStripe): no real money moves.</small></p></main></body></html>").encode()


def _fault_error(fault: _Fault) -> ApiError:
    status = fault.status
    if status == 429:
        return ApiError(429, fault.message or "Too many requests hit the API too quickly.", code=fault.code or "rate_limit")
    if status == 402:
        return ApiError(402, fault.message or "Your card was declined.", code=fault.code or "card_declined",
                        type="card_error", extra={"decline_code": "generic_decline"})
    if status < 500:
        return ApiError(status, fault.message or "Invalid request (injected).", code=fault.code)
    return ApiError(status, fault.message or "An unknown error occurred", code=fault.code, type="api_error")


def _api_key(authorization: str) -> str:
    """``Bearer sk_...`` (the client libraries) or ``Basic base64(sk_...:)`` (``curl -u sk_...:``)."""
    scheme, _, value = authorization.partition(" ")
    if scheme == "Bearer":
        return value.strip()
    if scheme == "Basic":
        try:
            return base64.b64decode(value).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


def _int_param(params: dict, name: str, *, required: bool = False, default: int | None = None,
               prefix: str | None = None) -> int:
    full = f"{prefix}[{name}]" if prefix else name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"Missing required param: {full}.", code="parameter_missing", param=full)
        return default  # type: ignore[return-value]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "Invalid integer: " + str(value), code="parameter_invalid_integer", param=full) from None


def _currency_param(params: dict, full: str) -> str:
    value = params.get("currency")
    if not value:
        raise ApiError(400, f"Missing required param: {full}.", code="parameter_missing", param=full)
    if not re.fullmatch(r"[a-z]{3}", value):
        raise ApiError(400, f"Invalid currency: {value}. Stripe currently supports these currencies: ...",
                       code="parameter_invalid_string", param=full)
    return value


def _metadata_param(params: dict) -> dict:
    metadata = params.get("metadata")
    return dict(metadata) if isinstance(metadata, dict) else {}


def _check_minimum(amount: int, currency: str) -> None:
    minimum = MINIMUM_CHARGE.get(currency, 50)
    if amount < minimum:
        raise ApiError(400, f"Amount must be at least {_money(minimum, currency)}", code="amount_too_small",
                       param="amount")


def _fee(amount: int) -> int:
    return round(amount * 0.029) + 30


def _money(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Stripe API for trying payments locally.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="whsec_test_platform")
    parser.add_argument("--connect-webhook-secret", default=None)
    args = parser.parse_args(argv)
    fake = FakeStripe(args.webhook_url, args.webhook_secret, args.connect_webhook_secret, host=args.host,
                      port=args.port, verbose=True).start()
    print(f"FakeStripe on {fake.base_url} (any sk_test_... key); webhooks -> {args.webhook_url or 'nowhere'}",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
