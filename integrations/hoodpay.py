"""Hoodpay (hoodpay.io, crypto payments) behind the payment provider interface of ``base``.

A payment is created per order or top-up, the shopper pays on Hoodpay's hosted page, Hoodpay calls
the payment's ``notifyUrl`` (signed with the store's webhook signing secret), and
``payment_state`` reads the payment back before anything is fulfilled.

Hoodpay publishes no machine-readable reference that could be read for this module, so the HTTP
shape below was put together from public clients and integrations. Each line says where it comes
from; "UNCONFIRMED" marks a choice to check against the live API (all of them live in this file,
most in the constants just below).

Sources read:
  [S1] github zodplugin/hoodpay (npm TypeScript client): src/constants/index.ts, src/api/*.ts,
       src/types/index.ts
  [S2] github HexyeDEV/HoodPayPy (Python client): hoodpay/hoodpay.py,
       HoodpaySDK/hoodpay/types/payment.py, HoodpaySDK/hoodpay/types/directcryptocharge.py
  [S3] github stephcodess/hoodpay-wordpress-plugin: hoodpay.php, README.md
  [S4] public application code calling the live API (code index excerpts, no repository named),
       which quotes a real create answer and reads ``data.status == "COMPLETED"`` and ``errors``
  [S5] a public app's webhook receiver that reads ``eventType == "PAYMENT_COMPLETED"`` and
       ``forPaymentEvents.{id, status, metadata}`` (code index excerpt, no repository named)
  [S6] a public README configuring a Hoodpay dashboard webhook: its secret has the form
       ``whsec_`` + 32 base64 characters (Svix's format), events PAYMENT_CREATED ... PAYMENT_EXPIRED
  [S7] docs.amember.com/PluginDocs/Payment/Hoodpay: "Create a Hoodpay webhook subscription ...
       enter Hoodpay's webhook signing secret"
  [S8] Hoodpay's help center (support.hoodpay.io, "Developer" article), quoted second-hand in
       public code, not read directly: events payment:created, payment:method_selected,
       payment:completed, payment:cancelled, payment:expired

Assumptions:
  * Base URL ``https://api.hoodpay.io/v1/`` [S1, S3; S4 calls it live]. (S2 has api.hoodpay.com,
    which looks like a mistake.)
  * Auth ``Authorization: Bearer <API key>``; the business id goes in the path [S1, S2, S3].
  * Create: ``POST businesses/{businessId}/payments`` with JSON ``currency``, ``amount`` (a
    number, major units), ``name``, ``description``, ``customerEmail``, ``redirectUrl``,
    ``notifyUrl`` [S2, S3]; ``metadata`` (an object) [S1, and S5 reads it back in the webhook].
    Answer ``{"data": {"id", "url"}, "message": ...}``; the url is
    ``https://checkout.hoodpay.io/<uuid>`` [S4].
  * There is no cancel URL [S1, S2 know none]. Only ``redirectUrl`` (our success_url) is sent, so
    a shopper who gives up may come back there too: the page they land on must read the status.
  * Get: ``GET businesses/{businessId}/payments/{paymentId}`` [S1, S2]; we assume the payment
    sits under ``data`` like the create answer (a bare object is read too). Fields ``id``,
    ``status``, ``currency``, ``endAmount`` (the amount) [S2]; ``prePaymentAmount`` and
    ``amount`` are read when ``endAmount`` is missing (UNCONFIRMED which of them Hoodpay fills).
  * Statuses: ``COMPLETED`` [S4, S5]. UNCONFIRMED, from third-party code: PENDING,
    AWAITING_PAYMENT, PROCESSING, EXPIRED, CANCELLED. Mapping: COMPLETED -> SUCCEEDED; EXPIRED ->
    EXPIRED; CANCELLED/CANCELED/FAILED -> FAILED; any other status -> PENDING.
  * Credentials check: ``GET businesses/{businessId}/payments?pageNumber=1&pageSize=1``, the
    payments list [S2, S3].
  * Idempotency: we send ``Idempotency-Key``, but no source mentions one, so assume Hoodpay ignores
    it (UNCONFIRMED). A create that times out and is retried can leave a second unpaid payment
    behind. Nobody is sent to it and it expires unpaid, so nothing is charged twice.
  * Refunds: no client or doc has a refund endpoint [S1, S2, S3]; crypto payments are refunded by
    hand outside Hoodpay. ``refund`` raises ``ProviderError(code="refund_unsupported")``.
  * Errors: the message is read from ``message``, ``title``, ``error`` and ``errors`` (a list, or
    an object of field -> messages) [S1 has ``message``, S4 ``errors``] (shape UNCONFIRMED).
  * Webhook signature (UNCONFIRMED, the weakest point): the secret's ``whsec_`` format [S6]
    suggests Svix delivery: headers ``svix-id``, ``svix-timestamp``, ``svix-signature``
    (``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{raw body}"``, keyed with the
    base64-decoded part after ``whsec_``; the ``webhook-*`` header names are read too).
    ``parse_webhook`` also accepts ``x-hoodpay-signature`` (or ``hoodpay-signature``), the hex
    HMAC-SHA256 of the raw body keyed with the secret as text (optional ``sha256=``), which is what
    the project issue describes and what third-party receivers guess. ``sign`` produces the Svix
    form by default (``scheme="hex"`` for the other). Svix timestamps must be within 5 minutes.
  * Webhook body (UNCONFIRMED): the type is read from ``eventType`` [S5], ``event`` or ``type``,
    and written like ``payment:completed`` [S8] (``PAYMENT_COMPLETED``, ``payment.completed`` are
    rewritten to that); the payment is read from ``forPaymentEvents`` [S5], ``data`` or
    ``payment``, else the body itself. A body with no type gets one from the payment's status.
  * Event id (the dedupe key): the ``svix-id`` of a Svix-signed delivery (it is signed, and Svix
    keeps it across retries); else the body's own ``eventId``/``event_id``; else
    ``"{payment id}:{type}:{sha256(body)[:16]}"``, so redelivering the same body gives the same id.

Nothing here imports the app: only the standard library, ``requests`` and ``integrations.base``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import quote, urljoin

import requests

from integrations.base import (
    EXPIRED,
    FAILED,
    IGNORED,
    PAYMENT_EXPIRED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    PENDING,
    SUCCEEDED,
    Checkout,
    Fact,
    PaymentRequest,
    PaymentState,
    ProviderError,
    RefundResult,
    SignatureError,
    WebhookEvent,
)

DEFAULT_API_BASE = "https://api.hoodpay.io/v1/"
USER_AGENT = "virtual-stores-hoodpay/1"
SIGNATURE_TOLERANCE = 300  # seconds a Svix-signed delivery may be early or late
NAME_MAX = 100  # our own cap on the payment's title (Hoodpay's limit is unknown)

# Hoodpay status -> ours (anything else is still pending).
_STATUS_MAP = {"COMPLETED": SUCCEEDED, "EXPIRED": EXPIRED, "CANCELLED": FAILED, "CANCELED": FAILED,
               "FAILED": FAILED}
# Event type -> what it means; other types are IGNORED.
_FACT_KINDS = {"payment:completed": PAYMENT_SUCCEEDED, "payment:cancelled": PAYMENT_FAILED,
               "payment:canceled": PAYMENT_FAILED, "payment:failed": PAYMENT_FAILED,
               "payment:expired": PAYMENT_EXPIRED}
# A payment's status -> the event a typeless body stands for.
_STATUS_EVENTS = {"COMPLETED": "payment:completed", "CANCELLED": "payment:cancelled",
                  "CANCELED": "payment:cancelled", "EXPIRED": "payment:expired",
                  "FAILED": "payment:failed"}

# ISO 4217 minor-unit exponents that are not 2.
_ZERO_DECIMAL = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
_THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency``'s major unit (JPY 0, USD 2, KWD 3)."""
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units -> the exact major-unit Decimal Hoodpay takes: 1099 USD -> 10.99, 1500 JPY -> 1500."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"amount must be an int of minor units, not {amount!r}")
    return Decimal(amount).scaleb(-currency_exponent(currency))


def to_minor(value, currency: str) -> int:
    """A major-unit amount from Hoodpay (number or numeric string) -> integer minor units, half up."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    try:
        # str() of a float is its shortest round-tripping literal: 10.99 stays exactly 10.99
        major = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not major.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return int(major.scaleb(currency_exponent(currency)).to_integral_value(rounding=ROUND_HALF_UP))


class HoodpayGateway:
    """One Hoodpay business (one store's API key and business id)."""

    name = "HOODPAY"

    def __init__(self, *, api_key: str, business_id: str, api_base: str = DEFAULT_API_BASE,
                 timeout: float = 20.0):
        if not api_key or not business_id:
            raise ValueError("Hoodpay needs an API key and a business id")
        self.api_key = api_key
        self.business_id = str(business_id)
        self.api_base = api_base if api_base.endswith("/") else api_base + "/"
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:  # never show the key
        return f"HoodpayGateway(business_id={self.business_id!r}, api_base={self.api_base!r})"

    # --- the interface ---------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest, *, idempotency_key: str) -> Checkout:
        """Create the payment; ``Checkout(ref=<payment id>, redirect_url=<hosted page>)``."""
        if request.amount <= 0:
            raise ValueError("amount must be > 0")
        currency = request.currency.upper()
        fields: dict = {
            "currency": currency,
            "name": _one_line(request.description)[:NAME_MAX],
            "description": request.description,
            "redirectUrl": request.success_url,
        }
        if request.notify_url:
            fields["notifyUrl"] = request.notify_url
        if request.email:
            fields["customerEmail"] = request.email
        if request.metadata:
            fields["metadata"] = {str(k): str(v) for k, v in request.metadata.items()}
        body = _json_with_amount(fields, to_major(request.amount, currency))
        answer = self._call("POST", self._payments_path(), body=body, idempotency_key=idempotency_key)
        data = _unwrap(answer)
        ref, url = data.get("id"), data.get("url")
        if ref in (None, "") or not url:
            raise ProviderError("Hoodpay created a payment but its answer has no id or url",
                                code="bad_response")
        return Checkout(ref=str(ref), redirect_url=str(url))

    def payment_state(self, ref: str) -> PaymentState:
        """What Hoodpay says about payment ``ref`` now (amount in minor units)."""
        payment = _unwrap(self._call("GET", f"{self._payments_path()}/{quote(str(ref), safe='')}"))
        status = str(payment.get("status") or "").upper()
        currency = str(payment.get("currency") or "").upper()
        if not currency:
            raise ProviderError(f"Hoodpay's payment {ref} has no currency", retryable=True, code="bad_response")
        amount = _payment_amount(payment, currency)
        if amount is None:
            raise ProviderError(f"Hoodpay's payment {ref} has no amount", retryable=True, code="bad_response")
        return PaymentState(ref=str(payment.get("id") or ref), status=_STATUS_MAP.get(status, PENDING),
                            amount=amount, currency=currency, metadata=_str_dict(payment.get("metadata")))

    def refund(self, ref: str, amount: int, *, idempotency_key: str, reason: str = "") -> RefundResult:
        """Hoodpay has no refund API: always ``ProviderError(code="refund_unsupported")``."""
        raise ProviderError("Hoodpay cannot refund through its API: refund the customer in crypto "
                            "outside Hoodpay and record it here by hand",
                            retryable=False, code="refund_unsupported")

    def check_credentials(self) -> None:
        """A cheap authenticated read (one page of payments); ProviderError when the key or the
        business id is wrong (``retryable`` when Hoodpay could not be reached)."""
        self._call("GET", self._payments_path(), params={"pageNumber": 1, "pageSize": 1})

    # --- HTTP --------------------------------------------------------------------------------

    def _payments_path(self) -> str:
        return f"businesses/{quote(self.business_id, safe='')}/payments"

    def _call(self, method: str, path: str, *, body: bytes | None = None, params: dict | None = None,
              idempotency_key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json",
                   "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        url = urljoin(self.api_base, path)
        what = f"Hoodpay {method} {path}"
        try:
            response = self._session.request(method, url, data=body, params=params, headers=headers,
                                             timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise ProviderError(f"{what} timed out ({exc.__class__.__name__})", retryable=True,
                                code="timeout") from exc
        except requests.ConnectionError as exc:
            raise ProviderError(f"{what}: cannot reach Hoodpay ({exc.__class__.__name__})", retryable=True,
                                code="network") from exc
        except requests.RequestException as exc:
            raise ProviderError(f"{what} failed: {exc}", code="request_error") from exc

        status = response.status_code
        if status >= 400 or 300 <= status < 400:
            raise _http_error(what, response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # a 2xx we cannot read: reading again is harmless, creating again is not
            raise ProviderError(f"{what} answered {status} with no JSON object", retryable=method == "GET",
                                code="bad_response")
        return answer


def _http_error(what: str, response: requests.Response) -> ProviderError:
    status = response.status_code
    message = f"{what} answered {status}: {_error_message(response)}"
    if status == 429:
        return ProviderError(message, retryable=True, code="rate_limited")
    if status >= 500 or status == 408:
        return ProviderError(message, retryable=True, code="server_error" if status >= 500 else "timeout")
    code = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            422: "invalid_request"}.get(status, f"http_{status}")
    return ProviderError(message, retryable=False, code=code)


def _error_message(response: requests.Response) -> str:
    """Hoodpay's own words from an error answer (``message`` / ``title`` / ``errors``)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "title", "error", "error_description", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value.strip() and value.strip() not in parts:
                parts.append(value.strip())
        errors = body.get("errors")
        if isinstance(errors, list):
            for item in errors:
                text = (item.get("message") or item.get("description")) if isinstance(item, dict) else item
                if text:
                    parts.append(str(text))
        elif isinstance(errors, dict):
            for field, problems in errors.items():
                problems = problems if isinstance(problems, list) else [problems]
                parts.append(f"{field}: {'; '.join(str(p) for p in problems)}")
        elif isinstance(errors, str) and errors:
            parts.append(errors)
    if not parts:
        text = (response.text or "").strip()
        parts.append(text[:200] if text else (response.reason or "no message"))
    return " | ".join(parts)


def _unwrap(answer: dict) -> dict:
    data = answer.get("data")
    return data if isinstance(data, dict) else answer


def _json_with_amount(fields: dict, amount: Decimal) -> bytes:
    """The JSON body with ``amount`` written as the exact decimal literal (10.99, never a float)."""
    token = f"amount-{uuid.uuid4().hex}"
    text = json.dumps({"amount": token, **fields}, separators=(",", ":"), ensure_ascii=False)
    return text.replace(json.dumps(token), format(amount, "f"), 1).encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _str_dict(value) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _payment_amount(payment: Mapping, currency: str) -> int | None:
    for key in ("endAmount", "prePaymentAmount", "amount"):
        value = payment.get(key)
        if value is None or value == "":
            continue
        try:
            return to_minor(value, currency)
        except ValueError:
            continue
    return None


# --- webhooks ----------------------------------------------------------------------------------


def _svix_key(secret: str) -> bytes:
    """Svix's HMAC key: the base64 part after ``whsec_``; a secret that is not base64 is used as text."""
    body = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return secret.encode("utf-8")


def _svix_signature(raw: bytes, secret: str, msg_id: str, timestamp: str) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    return base64.b64encode(hmac.new(_svix_key(secret), signed, hashlib.sha256).digest()).decode("ascii")


def _hex_signature(raw: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def sign(raw: bytes, secret: str, *, scheme: str = "svix", msg_id: str | None = None,
         timestamp: int | None = None) -> dict[str, str]:
    """The signature headers Hoodpay would send with ``raw`` (for tests and the fake).

    ``scheme="svix"`` (the default, see the module's assumptions): ``svix-id`` (by default derived
    from the body, so signing the same body again is a redelivery), ``svix-timestamp`` (now) and
    ``svix-signature``. ``scheme="hex"``: ``x-hoodpay-signature`` = hex HMAC-SHA256 of the body.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if scheme == "hex":
        return {"x-hoodpay-signature": _hex_signature(raw, secret)}
    if scheme != "svix":
        raise ValueError(f"unknown signature scheme {scheme!r}")
    msg_id = msg_id or "msg_" + hashlib.sha256(raw).hexdigest()[:24]
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    return {"svix-id": msg_id, "svix-timestamp": ts,
            "svix-signature": "v1," + _svix_signature(raw, secret, msg_id, ts)}


def _verify(raw: bytes, headers: Mapping[str, str], secret: str, tolerance: int, now: float | None) -> str | None:
    """Check the signature; the signed message id (Svix) or None (hex scheme). SignatureError otherwise."""
    svix_sig = headers.get("svix-signature") or headers.get("webhook-signature")
    if svix_sig:
        msg_id = headers.get("svix-id") or headers.get("webhook-id")
        ts = headers.get("svix-timestamp") or headers.get("webhook-timestamp")
        if not msg_id or not ts:
            raise SignatureError("Svix signature without its id or timestamp header")
        try:
            sent = int(ts)
        except ValueError:
            raise SignatureError("unreadable signature timestamp") from None
        current = time.time() if now is None else now
        if abs(current - sent) > tolerance:
            raise SignatureError("signature timestamp too old (or in the future)")
        expected = ("v1," + _svix_signature(raw, secret, msg_id, ts)).encode("ascii")
        for candidate in svix_sig.split():
            if hmac.compare_digest(candidate.strip().encode("utf-8"), expected):
                return msg_id
        raise SignatureError("signature does not match")
    hex_sig = headers.get("x-hoodpay-signature") or headers.get("hoodpay-signature")
    if hex_sig:
        given = hex_sig.strip()
        if given.lower().startswith("sha256="):
            given = given[len("sha256="):]
        expected = _hex_signature(raw, secret).encode("ascii")
        if hmac.compare_digest(given.strip().lower().encode("utf-8"), expected):
            return None
        raise SignatureError("signature does not match")
    raise SignatureError("no signature header")


def normalize_event_type(value) -> str:
    """``PAYMENT_COMPLETED`` / ``payment.completed`` / ``payment:completed`` -> ``payment:completed``."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    head, *rest = re.split(r"[:._]", text, maxsplit=1)
    return f"{head}:{rest[0]}" if rest else head


def _payment_object(payload: Mapping) -> Mapping:
    for key in ("forPaymentEvents", "data", "payment"):
        value = payload.get(key)
        if isinstance(value, Mapping):
            return value
    return payload


def parse_webhook(raw: bytes, headers: Mapping[str, str], secret: str, *,
                  tolerance: int = SIGNATURE_TOLERANCE, now: float | None = None) -> WebhookEvent:
    """Verify a Hoodpay notification with the store's webhook secret and read it.

    SignatureError when the secret is empty, the signature is missing or wrong (compared in
    constant time), a Svix timestamp is outside ``tolerance`` seconds, or the body is not a JSON
    object.
    """
    if not secret:
        raise SignatureError("no webhook secret configured")
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    signed_id = _verify(raw, lowered, secret, tolerance, now)
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SignatureError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise SignatureError("body is not a JSON object")

    payment = _payment_object(payload)
    event_type = normalize_event_type(payload.get("eventType") or payload.get("event") or payload.get("type"))
    if not event_type:
        event_type = _STATUS_EVENTS.get(str(payment.get("status") or "").upper(), "payment:updated")
    if payment is payload:
        payment_id = payload.get("paymentId") or payload.get("id")
    else:
        payment_id = payment.get("id") or payload.get("paymentId")
    object_ref = str(payment_id) if payment_id not in (None, "") else None

    own_id = payload.get("eventId") or payload.get("event_id")
    if signed_id:
        event_id = signed_id
    elif own_id:
        event_id = str(own_id)
    else:
        event_id = f"{(object_ref or '-')[:64]}:{event_type}:{hashlib.sha256(raw).hexdigest()[:16]}"
    return WebhookEvent(id=event_id, type=event_type, payload=payload, object_ref=object_ref,
                        metadata=_str_dict(payment.get("metadata")))


def describe(event: WebhookEvent) -> Fact:
    """What a verified Hoodpay event means. The amount is the payload's when it has one (else None):
    the caller confirms with ``payment_state`` before fulfilling."""
    kind = _FACT_KINDS.get(event.type, IGNORED)
    payment = _payment_object(event.payload)
    amount = currency = None
    code = str(payment.get("currency") or "").upper()
    if code:
        amount = _payment_amount(payment, code)
        currency = code if amount is not None else None
    return Fact(kind=kind, ref=event.object_ref, amount=amount, currency=currency,
                metadata=dict(event.metadata), detail={"type": event.type,
                                                       "status": str(payment.get("status") or "")})
