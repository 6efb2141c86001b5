"""Moloni invoicing (the ``moloni`` addon): connecting a store (OAuth2), choosing the company,
document set and tax, invoicing paid orders (by hand or automatically, once), credit notes for
refunded orders, and the PDF link. Moloni's HTTP shape lives in ``integrations/moloni.py``.

* **Connecting.** ``start_authorization`` keeps a one-time nonce (its SHA-256) and the admin on the
  store's connection row and signs (itsdangerous, ``SECRET_KEY``, 10 minutes) the state
  (store, admin, nonce). ``complete_authorization`` (the public callback) refuses a state that is
  forged, expired, of another admin, or whose nonce was already used (the row is locked and the
  nonce cleared in the transaction that stores the tokens), so a replayed callback changes nothing.
* **Tokens** (access, refresh) and a store's own client secret are Fernet-encrypted
  (``services.crypto``). ``client_for`` refreshes the access token a minute before it expires,
  with the connection row locked (``FOR UPDATE``), so two workers never both refresh, and commits
  the new tokens at once (``commit_early``: Moloni spent the old refresh token, so a job that then
  fails and rolls back must not lose them). Callers get their client before locking their rows.
* **Once per order.** ``MoloniInvoice`` is unique on the order and reserved (PENDING) before Moloni is
  called; issuing locks it, and before inserting asks Moloni for a document with our reference
  (``<store slug>#<order number>``), so a retried job (whose first answer was lost) records the
  invoice it made instead of making a second.
* **Taxes** (an assumption, documented in the README): an order with tax adjustment lines has net
  prices and the chosen Moloni tax is applied on top; otherwise the store's prices include VAT
  and each line's net price is its price divided by (1 + the chosen tax's rate); with no tax
  chosen, lines go out exempt with the chosen exemption reason (e.g. M07). The order's discount
  (reseller + coupon) is one percentage on every product line; shipping is its own line.
* **Credit notes**: an order that becomes fully REFUNDED (``payments.settle``) gets one credit note
  for its invoice, queued once (a guarded UPDATE on ``credit_status``). Partial refunds do not.
"""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from integrations import moloni as api
from integrations.base import ProviderError
from models import MoloniConnection, MoloniInvoice, Order, Role, Store, User
from tenancy import tenant_scope
from transactions import commit_early, enqueue_after_commit, write_lock

from . import crypto, orders, plans
from .cache import declare, store_fact
from .errors import Conflict, DomainError, Invalid, NotFound, Unavailable

FEATURE = "moloni"
STATE_SALT = "moloni-oauth-state"
STATE_MAX_AGE = 600  # seconds an authorisation may take
REFRESH_MARGIN = timedelta(seconds=60)
INVOICE_JOB = "jobs.moloni.invoice_order"
CREDIT_JOB = "jobs.moloni.credit_order"
ADMIN_ALERT = "jobs.emails.send_admin_alert"
CATEGORY_NAME = "Loja online"
EXEMPTION_CODES = ("M01", "M02", "M04", "M05", "M06", "M07", "M09", "M10", "M11", "M12", "M13", "M14", "M15",
                   "M16", "M19", "M20", "M21", "M25", "M30", "M31", "M32", "M33", "M40", "M41", "M42", "M43",
                   "M99")
PAID_STATES = ("PAID", "PARTIALLY_REFUNDED", "REFUNDED", "DISPUTED")


def _now() -> datetime:
    return datetime.now(UTC)


# --- settings ------------------------------------------------------------------------------------

def connection(*, lock: bool = False) -> MoloniConnection | None:
    stmt = select(MoloniConnection)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(stmt)


def _app_credentials(conn: MoloniConnection | None) -> tuple[str, str] | None:
    if conn is not None and conn.client_id and conn.client_secret:
        return conn.client_id, crypto.decrypt(conn.client_secret)
    config = current_app.config
    if config.get("MOLONI_CLIENT_ID") and config.get("MOLONI_CLIENT_SECRET"):
        return config["MOLONI_CLIENT_ID"], config["MOLONI_CLIENT_SECRET"]
    return None


def redirect_uri() -> str:
    config = current_app.config
    return config.get("MOLONI_REDIRECT_URI") or f"{config['PUBLIC_BASE_URL']}/api/integrations/moloni/callback"


def _client(access_token: str | None = None) -> api.MoloniClient:
    config = current_app.config
    return api.MoloniClient(api_url=config.get("MOLONI_API_URL") or api.DEFAULT_API_URL, access_token=access_token,
                            timeout=config.get("MOLONI_TIMEOUT", 15.0))


def _refused(exc: ProviderError, what: str) -> Unavailable:
    return Unavailable(f"{what} failed: {exc}", code="moloni_error", status=502,
                       details={"retryable": exc.retryable})


def save_app_credentials(store: Store, *, client_id: str, client_secret: str) -> MoloniConnection:
    """A store's own Moloni developer app (optional; the platform's is used otherwise). A blank
    secret keeps the saved one; the secret is encrypted and never shown back."""
    plans.require_feature(store, FEATURE)
    client_id, client_secret = (client_id or "").strip(), (client_secret or "").strip()
    if len(client_id) > 120 or len(client_secret) > 500:
        raise Invalid("That value is too long", details={"client_id": ["at most 120 characters"]})
    conn = connection() or _new_connection()
    if not client_id:
        conn.client_id, conn.client_secret = None, None
    else:
        if not client_secret and not conn.client_secret:
            raise Invalid("Give the client secret of your Moloni app", details={"client_secret": ["required"]})
        conn.client_id = client_id
        if client_secret:
            conn.client_secret = crypto.encrypt(client_secret)
    db.session.flush()
    return conn


def _new_connection() -> MoloniConnection:
    conn = MoloniConnection(auto_invoice=False)
    db.session.add(conn)
    db.session.flush()
    return conn


# --- connecting ------------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STATE_SALT)


def start_authorization(store: Store, admin: User) -> str:
    """The address of Moloni's authorisation page for this store, started by ``admin``."""
    plans.require_feature(store, FEATURE)
    write_lock()  # a GET that writes (the nonce)
    conn = connection() or _new_connection()
    credentials = _app_credentials(conn)
    if credentials is None:
        raise Conflict("Moloni is not set up on this platform (MOLONI_CLIENT_ID and MOLONI_CLIENT_SECRET), "
                       "and this store has not saved its own Moloni app", code="moloni_not_configured")
    nonce = secrets.token_urlsafe(24)
    conn.oauth_nonce_hash, conn.oauth_started_by_id = crypto.token_hash(nonce), admin.id
    db.session.flush()
    state = _serializer().dumps({"s": store.id, "u": admin.id, "n": nonce})
    auth_url = current_app.config.get("MOLONI_AUTH_URL") or api.DEFAULT_AUTH_URL
    return api.authorize_url(auth_url, client_id=credentials[0], redirect_uri=redirect_uri(), state=state)


def _bad_state() -> Invalid:
    return Invalid("This Moloni authorisation is not valid (expired, already used, or not started here). "
                   "Start again from the Integrations page", code="moloni_state_invalid")


def complete_authorization(state: str | None, code: str | None, error: str | None = None) -> Store:
    """The callback: check the state, then exchange the code for tokens. Returns the store."""
    write_lock()  # a GET that writes
    try:
        data = _serializer().loads(state or "", max_age=STATE_MAX_AGE)
    except (SignatureExpired, BadSignature):
        raise _bad_state() from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("s", "u", "n")):
        raise _bad_state()
    store = db.session.scalar(select(Store).where(Store.id == data["s"], Store.status == "active")
                              .execution_options(all_stores=True))
    if store is None:
        raise _bad_state()
    with tenant_scope(store):
        plans.require_feature(store, FEATURE)
        conn = connection(lock=True)
        if conn is None or not conn.oauth_nonce_hash or conn.oauth_nonce_hash != crypto.token_hash(data["n"]) \
                or conn.oauth_started_by_id != data["u"]:
            raise _bad_state()
        admin = db.session.get(User, data["u"])
        if admin is None or not admin.is_active or not Role(admin.role).at_least(Role.ADMIN):
            raise _bad_state()
        if error or not code:
            raise Invalid(f"Moloni did not authorise the connection ({error or 'no code'})",
                          code="moloni_not_authorised")
        credentials = _app_credentials(conn)
        if credentials is None:
            raise Conflict("Moloni is not set up on this platform", code="moloni_not_configured")
        try:
            tokens = _client().exchange_code(client_id=credentials[0], client_secret=credentials[1],
                                             redirect_uri=redirect_uri(), code=code)
        except ProviderError as exc:
            raise _refused(exc, "Connecting to Moloni") from exc
        conn.oauth_nonce_hash, conn.oauth_started_by_id = None, None  # used once
        _keep_tokens(conn, tokens)
        conn.connected_at, conn.connected_by_id, conn.last_error = _now(), admin.id, None
        _choose_only_company(conn)
        db.session.flush()
    return store


def _keep_tokens(conn: MoloniConnection, tokens: api.Tokens) -> None:
    now = _now()
    conn.access_token = crypto.encrypt(tokens.access_token)
    conn.refresh_token = crypto.encrypt(tokens.refresh_token)
    conn.access_expires_at = now + timedelta(seconds=tokens.expires_in)
    conn.refresh_expires_at = now + timedelta(days=api.REFRESH_TOKEN_DAYS)


def _choose_only_company(conn: MoloniConnection) -> None:
    """Right after connecting: a single company (and its single document set) is chosen at once."""
    try:
        client = _client(crypto.decrypt(conn.access_token))
        companies = client.companies()
        if len(companies) == 1 and conn.company_id is None:
            conn.company_id, conn.company_name = companies[0]["company_id"], companies[0]["name"]
            sets = client.document_sets(conn.company_id)
            if len(sets) == 1:
                conn.document_set_id, conn.document_set_name = sets[0]["document_set_id"], sets[0]["name"]
    except ProviderError as exc:  # the admin chooses on the page instead
        conn.last_error = f"Reading the companies failed: {exc}"[:500]


def client_for() -> tuple[MoloniConnection, api.MoloniClient]:
    """The store's connection (row locked) and a client with a live access token (refreshed
    first when it expires within a minute)."""
    write_lock()  # a GET (the settings page, the PDF link) may refresh the token
    conn = connection(lock=True)
    if conn is None or not conn.access_token:
        raise Conflict("Connect Moloni first (Integrations)", code="moloni_not_connected")
    if conn.access_expires_at and conn.access_expires_at > _now() + REFRESH_MARGIN:
        return conn, _client(crypto.decrypt(conn.access_token))
    if conn.refresh_expires_at and conn.refresh_expires_at <= _now():
        raise Conflict("The Moloni connection expired: connect again (Integrations)", code="moloni_not_connected")
    credentials = _app_credentials(conn)
    if credentials is None:
        raise Conflict("Moloni is not set up on this platform", code="moloni_not_configured")
    try:
        tokens = _client().refresh(client_id=credentials[0], client_secret=credentials[1],
                                   refresh_token=crypto.decrypt(conn.refresh_token))
    except ProviderError as exc:
        if not exc.retryable:
            conn.last_error = f"Refreshing the token failed: {exc}"[:500]
            raise Conflict("Moloni refused to renew the connection: connect again (Integrations)",
                           code="moloni_not_connected") from exc
        raise
    _keep_tokens(conn, tokens)
    # Moloni spent the old refresh token: keep the new ones whatever happens to the rest of this
    # unit of work (a job that then finds Moloni down rolls back; its retry needs these tokens).
    # Callers lock their own rows only after this (the commit ends every lock taken so far).
    commit_early("Moloni's refreshed tokens (the old refresh token is spent)")
    conn = connection(lock=True)
    return conn, _client(crypto.decrypt(conn.access_token))


def disconnect(store: Store) -> None:
    plans.require_feature(store, FEATURE)
    conn = connection()
    if conn is not None:
        db.session.delete(conn)
        db.session.flush()


# --- the company, document set and tax ------------------------------------------------------------------

def options(store: Store) -> dict:
    """What the admin chooses from: companies, and the chosen company's document sets and taxes."""
    plans.require_feature(store, FEATURE)
    conn, client = client_for()
    try:
        companies = client.companies()
        sets = client.document_sets(conn.company_id) if conn.company_id else []
        taxes = client.taxes(conn.company_id) if conn.company_id else []
    except ProviderError as exc:
        raise _refused(exc, "Reading Moloni") from exc
    return {"companies": companies, "document_sets": sets, "taxes": taxes, "exemption_reasons": EXEMPTION_CODES}


def update_settings(store: Store, *, company_id: int | None = None, document_set_id: int | None = None,
                    tax_id: int | None = None, exemption_reason: str | None = None,
                    auto_invoice: bool | None = None) -> MoloniConnection:
    """Choose the company (once: changing it resets the series and tax), the document set, the
    default tax (0 = none) or exemption reason, and whether paid orders are invoiced automatically."""
    plans.require_feature(store, FEATURE)
    conn, client = client_for()
    try:
        if company_id is not None and company_id != conn.company_id:
            match = [c for c in client.companies() if c["company_id"] == company_id]
            if not match:
                raise Invalid("No such Moloni company", details={"company_id": ["not one of your companies"]})
            conn.company_id, conn.company_name = company_id, match[0]["name"]
            conn.document_set_id = conn.document_set_name = conn.tax_id = conn.tax_name = conn.tax_rate_bps = None
            conn.category_id = conn.unit_id = None
        if document_set_id is not None:
            sets = client.document_sets(_company(conn))
            match = [s for s in sets if s["document_set_id"] == document_set_id]
            if not match:
                raise Invalid("No such document set", details={"document_set_id": ["not a series of this company"]})
            conn.document_set_id, conn.document_set_name = document_set_id, match[0]["name"]
        if tax_id is not None:
            if tax_id == 0:
                conn.tax_id = conn.tax_name = conn.tax_rate_bps = None
            else:
                match = [t for t in client.taxes(_company(conn)) if t["tax_id"] == tax_id]
                if not match:
                    raise Invalid("No such tax", details={"tax_id": ["not a tax of this company"]})
                conn.tax_id, conn.tax_name = tax_id, match[0]["name"]
                conn.tax_rate_bps = int((Decimal(str(match[0]["value"])) * 100).to_integral_value(ROUND_HALF_UP))
    except ProviderError as exc:
        raise _refused(exc, "Reading Moloni") from exc
    if exemption_reason is not None:
        reason = exemption_reason.strip().upper()
        if reason and reason not in EXEMPTION_CODES:
            raise Invalid("Unknown exemption reason", details={"exemption_reason": [f"one of {', '.join(EXEMPTION_CODES)}"]})
        conn.exemption_reason = reason or None
    if auto_invoice is not None:
        conn.auto_invoice = bool(auto_invoice)
    db.session.flush()
    return conn


def _company(conn: MoloniConnection) -> int:
    if not conn.company_id:
        raise Invalid("Choose the Moloni company first", code="moloni_company_missing",
                      details={"company_id": ["required"]})
    return conn.company_id


def readiness(conn: MoloniConnection | None) -> str | None:
    """None when orders can be invoiced; otherwise what is missing, for an admin."""
    if conn is None or not conn.access_token:
        return "Connect Moloni first"
    if not conn.company_id:
        return "Choose the Moloni company"
    if not conn.document_set_id:
        return "Choose the document set (series) for invoices"
    if not conn.tax_id and not conn.exemption_reason:
        return "Choose the default tax, or the exemption reason for untaxed sales"
    return None


def status(store: Store) -> dict:
    plans.require_feature(store, FEATURE)
    conn = connection()
    connected = conn is not None and bool(conn.access_token)
    return {
        "connected": connected, "configured": _app_credentials(conn) is not None,
        "own_app": bool(conn and conn.client_id), "client_id": conn.client_id if conn else None,
        "company": {"id": conn.company_id, "name": conn.company_name} if connected and conn.company_id else None,
        "document_set": {"id": conn.document_set_id, "name": conn.document_set_name}
        if connected and conn.document_set_id else None,
        "tax": {"id": conn.tax_id, "name": conn.tax_name, "rate": (conn.tax_rate_bps or 0) / 100}
        if connected and conn.tax_id else None,
        "exemption_reason": conn.exemption_reason if conn else None,
        "auto_invoice": bool(conn and conn.auto_invoice),
        "connected_at": conn.connected_at if connected else None,
        "access_expires_at": conn.access_expires_at if connected else None,
        "refresh_expires_at": conn.refresh_expires_at if connected else None,
        "ready": readiness(conn) is None, "reason": readiness(conn), "last_error": conn.last_error if conn else None,
        "redirect_uri": redirect_uri(),
    }


# --- invoices ------------------------------------------------------------------------------------------

def invoice_of(order_id: str) -> MoloniInvoice | None:
    return db.session.scalar(select(MoloniInvoice).where(MoloniInvoice.order_id == order_id))


def _reference(order: Order) -> str:
    store = db.session.get(Store, order.store_id)
    return f"{store.slug[:40]}#{order.order_number}"


def _reserve(order: Order) -> tuple[MoloniInvoice, bool]:
    """The order's invoice row, made PENDING now if it has none (unique on the order)."""
    row = invoice_of(order.id)
    if row is not None:
        return row, False
    try:
        with db.session.begin_nested():
            row = MoloniInvoice(order_id=order.id, status="PENDING", our_reference=_reference(order), attempts=0)
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # another request reserved it first
        return invoice_of(order.id), False
    return row, True


AUTO_INVOICE_CACHE = declare("moloni_auto_invoice", (MoloniConnection,))


def _auto_invoice_on() -> bool:
    conn = connection()
    return bool(conn is not None and conn.auto_invoice and conn.access_token)


def invoices_automatically() -> bool:
    """Whether the bound store has Moloni connected with "invoice automatically" on
    (``cache.store_fact``: cleared by any change of the connection row here, and in other processes
    through Redis), so a paid order of a store without Moloni costs no query."""
    return store_fact(AUTO_INVOICE_CACHE, (MoloniConnection,), _auto_invoice_on)


def on_paid(order: Order) -> None:
    """An order just became paid (``orders.record_sale``): with "invoice automatically" on, reserve
    its invoice and queue the job once. No query for a store without Moloni (the cached answer)."""
    if order.is_gift or order.total <= 0 or not invoices_automatically():
        return
    conn = connection()
    if conn is None or not conn.auto_invoice or not conn.access_token:
        return
    if not plans.has_feature(db.session.get(Store, order.store_id), FEATURE):
        return
    _, created = _reserve(order)
    if created:
        enqueue_after_commit(INVOICE_JOB, order.id, queue="default")


def on_refunded(order: Order) -> None:
    """An order just became fully refunded (``payments.settle``): one credit note, queued once
    (after its invoice, if that is still on its way)."""
    row = invoice_of(order.id)
    if row is None:
        return
    claimed = db.session.execute(update(MoloniInvoice).where(MoloniInvoice.id == row.id,
                                                             MoloniInvoice.credit_status.is_(None))
                                 .values(credit_status="PENDING").execution_options(synchronize_session=False)).rowcount
    db.session.refresh(row)
    if claimed == 1 and row.status == "INVOICED":
        enqueue_after_commit(CREDIT_JOB, order.id, queue="default")


def request_invoice(store: Store, order: Order) -> tuple[MoloniInvoice, bool]:
    """Invoice a paid order now (the API). Returns (row, created now). Already invoiced: that one."""
    plans.require_feature(store, FEATURE)
    if order.payment_status not in PAID_STATES or order.paid_at is None:
        raise Conflict("Only a paid order can be invoiced", code="order_not_paid")
    if order.total <= 0:
        raise Conflict("An order with nothing to pay is not invoiced", code="order_not_invoiceable")
    row, _ = _reserve(order)
    if row.status == "INVOICED":
        return row, False
    try:
        issue_invoice(order.id)
    except ProviderError as exc:
        raise _refused(exc, "The invoice") from exc
    db.session.refresh(row)
    if row.status == "FAILED":
        raise Conflict(f"Invoice failed: {row.failure_reason}", code="invoice_failed",
                       details={"reason": row.failure_reason})
    return row, True


def retry(store: Store, order: Order) -> MoloniInvoice:
    """The order page's retry button: queue the invoice (or the credit note) job again."""
    plans.require_feature(store, FEATURE)
    if order.payment_status not in PAID_STATES or order.total <= 0:
        raise Conflict("Only a paid order can be invoiced", code="order_not_paid")
    row, _ = _reserve(order)
    if row.status == "INVOICED" and row.credit_status == "FAILED":
        row.credit_status, row.credit_failure_reason = "PENDING", None
        enqueue_after_commit(CREDIT_JOB, order.id, queue="default")
    elif row.status != "INVOICED":
        row.status, row.failure_reason = "PENDING", None
        enqueue_after_commit(INVOICE_JOB, order.id, queue="default")
    db.session.flush()
    return row


def _money(minor: Decimal | int) -> str:
    return str((Decimal(minor) / 100).quantize(Decimal("0.00001"), ROUND_HALF_UP))


def _document_lines(conn: MoloniConnection, client: api.MoloniClient, order: Order) -> list[dict]:
    company = conn.company_id
    taxed_on_top = any(a.kind == "tax" and not a.included for a in order.adjustments)  # included: in the prices
    if (taxed_on_top or not conn.exemption_reason) and not conn.tax_id:
        raise ValueError("no tax is chosen for this store's invoices (Integrations)")
    rate = Decimal(conn.tax_rate_bps or 0) / 10000 if conn.tax_id else Decimal(0)
    divisor = Decimal(1) if taxed_on_top else (1 + rate)
    taxes = [{"tax_id": conn.tax_id, "value": str(rate * 100), "order": 0, "cumulative": 0}] if conn.tax_id else []
    exemption = None if conn.tax_id else conn.exemption_reason
    if conn.category_id is None:
        conn.category_id = client.category_id(company, CATEGORY_NAME)
    if conn.unit_id is None:
        conn.unit_id = client.unit_id(company)
    discount = (Decimal(order.discount_total) * 100 / order.subtotal).quantize(Decimal("0.00001")) \
        if order.subtotal and order.discount_total else Decimal(0)
    items = [(f"VS-{(line.variant_id or line.id)[:8]}", f"{line.product_title} - {line.variant_title}"[:250],
              line.quantity, Decimal(line.unit_price) / divisor, discount) for line in order.lines]
    if order.shipping_total:
        items.append(("VS-SHIPPING", "Portes / Shipping", 1, Decimal(order.shipping_total) / divisor, Decimal(0)))
    lines = []
    for position, (reference, name, qty, net, line_discount) in enumerate(items):
        product_id = client.product_id(company, reference=reference, name=name, category_id=conn.category_id,
                                       unit_id=conn.unit_id, price=_money(net), taxes=taxes,
                                       exemption_reason=exemption)
        lines.append({"product_id": product_id, "name": name, "qty": qty, "price": _money(net),
                      "discount": str(line_discount), "order": position, "taxes": taxes,
                      "exemption_reason": exemption})
    return lines


def _customer(client: api.MoloniClient, company: int, order: Order) -> int:
    vat = (order.customer_tax_number or "").strip() or api.FINAL_CONSUMER_VAT
    buyer = db.session.get(User, order.buyer_id) if order.buyer_id else None
    if vat == api.FINAL_CONSUMER_VAT:
        return client.customer_id(company, vat=vat, name="Consumidor final", email=None, number="CF")
    return client.customer_id(company, vat=vat, name=buyer.username if buyer else order.email, email=order.email,
                              number=f"VS-{(order.buyer_id or order.id)[:8]}")


def _client_first() -> tuple[MoloniConnection, api.MoloniClient] | Exception:
    """``client_for`` before any invoice row is locked (a token refresh commits); its error is
    kept for the caller to record on the row it then locks."""
    try:
        return client_for()
    except (ProviderError, DomainError) as exc:
        return exc


def _unwrap(session):
    if isinstance(session, Exception):
        raise session
    return session


def issue_invoice(order_id: str) -> str:
    """The work of invoicing one order (the job's and the API's): at most one Moloni invoice. A
    refusal (or a setting missing) marks the row FAILED and tells the admins; a network failure
    raises ``ProviderError`` for the caller to retry."""
    session = _client_first()
    row = db.session.scalar(select(MoloniInvoice).where(MoloniInvoice.order_id == order_id).with_for_update()
                            .execution_options(populate_existing=True))
    if row is None:
        return "nothing reserved"
    if row.status == "INVOICED":
        return f"already invoiced ({row.number})"
    order = orders.get_order(order_id)
    try:
        plans.require_feature(db.session.get(Store, order.store_id), FEATURE)
        if order.currency != "EUR":
            raise ValueError(f"Moloni invoices are in euros; this order is in {order.currency}")
        conn, client = _unwrap(session)
        missing = readiness(conn)
        if missing:
            raise ValueError(missing)
        row.attempts += 1
        found = client.find_document("invoices", conn.company_id, row.our_reference)
        if found is None:
            today = _now().date().isoformat()
            document_id = client.insert_document("invoices", {
                "company_id": conn.company_id, "date": today, "expiration_date": today,
                "document_set_id": conn.document_set_id, "customer_id": _customer(client, conn.company_id, order),
                "our_reference": row.our_reference, "your_reference": f"#{order.order_number}",
                "products": _document_lines(conn, client, order), "status": 1})
            found = client.get_document("invoices", conn.company_id, document_id)
    except ProviderError as exc:
        if exc.retryable:
            raise
        return fail(row, order, str(exc))
    except (ValueError, DomainError) as exc:  # a setting missing, not connected, the plan's gate
        return fail(row, order, getattr(exc, "message", None) or str(exc))
    row.status, row.document_id, row.number = "INVOICED", found["document_id"], found["number"]
    row.failure_reason, row.invoiced_at = None, _now()
    orders.event(order, "invoice", f"Invoice {row.number} issued in Moloni", document_id=row.document_id)
    db.session.flush()
    if row.credit_status == "PENDING":
        enqueue_after_commit(CREDIT_JOB, order.id, queue="default")
    return f"order #{order.order_number} invoiced: {row.number}"


def fail(row: MoloniInvoice, order: Order, reason: str, *, credit: bool = False) -> str:
    """Record why Moloni did not make the document; the admins are told once per failure."""
    reason = (reason or "unknown error")[:480]
    if credit:
        was = row.credit_status
        row.credit_status, row.credit_failure_reason = "FAILED", reason
        what = "Credit note"
    else:
        was = row.status
        row.status, row.failure_reason = "FAILED", reason
        what = "Invoice"
    message = f"{what} failed: {reason}"
    orders.event(order, "invoice_failed", message)
    db.session.flush()
    if was != "FAILED":
        enqueue_after_commit(ADMIN_ALERT, f"{what} failed on order #{order.order_number}", message, order.id,
                             queue="emails")
    return message


def fail_by_order(order_id: str, reason: str, credit: bool = False) -> str:
    row = invoice_of(order_id)
    if row is None:
        return "nothing reserved"
    return fail(row, orders.get_order(order_id, with_lines=False), reason, credit=credit)


def issue_credit_note(order_id: str) -> str:
    """One credit note for a refunded order's invoice (looked up by our reference first)."""
    session = _client_first()
    row = db.session.scalar(select(MoloniInvoice).where(MoloniInvoice.order_id == order_id).with_for_update()
                            .execution_options(populate_existing=True))
    if row is None or row.status != "INVOICED" or row.credit_status not in ("PENDING", "FAILED"):
        return "nothing to credit"
    order = orders.get_order(order_id)
    reference = f"{row.our_reference}-NC"
    try:
        conn, client = _unwrap(session)
        found = client.find_document("creditNotes", conn.company_id, reference)
        if found is None:
            invoice = client.get_document("invoices", conn.company_id, row.document_id)
            related = [line["document_product_id"] for line in invoice["lines"]]
            lines = _document_lines(conn, client, order)
            for position, line in enumerate(lines):
                if position < len(related) and related[position]:
                    line["related_id"] = related[position]
            today = _now().date().isoformat()
            document_id = client.insert_document("creditNotes", {
                "company_id": conn.company_id, "date": today, "document_set_id": conn.document_set_id,
                "customer_id": _customer(client, conn.company_id, order), "our_reference": reference,
                "your_reference": f"#{order.order_number}",
                "associated_documents": [{"associated_id": row.document_id, "value": _money(order.total)}],
                "products": lines, "status": 1})
            found = client.get_document("creditNotes", conn.company_id, document_id)
    except ProviderError as exc:
        if exc.retryable:
            raise
        return fail(row, order, str(exc), credit=True)
    except (ValueError, DomainError) as exc:
        return fail(row, order, getattr(exc, "message", None) or str(exc), credit=True)
    row.credit_status, row.credit_document_id, row.credit_number = "ISSUED", found["document_id"], found["number"]
    row.credit_failure_reason = None
    orders.event(order, "credit_note", f"Credit note {row.credit_number} issued in Moloni for invoice {row.number}",
                 document_id=row.credit_document_id)
    db.session.flush()
    return f"order #{order.order_number} credited: {row.credit_number}"


def pdf_link(store: Store, order: Order) -> dict:
    """The invoice's PDF link (Moloni's ``documents/getPDFLink``), and the credit note's if any."""
    plans.require_feature(store, FEATURE)
    row = invoice_of(order.id)
    if row is None or row.status != "INVOICED":
        raise NotFound("This order has no Moloni invoice", code="invoice_not_found")
    conn, client = client_for()
    try:
        url = client.pdf_link(conn.company_id, row.document_id)
        credit_url = client.pdf_link(conn.company_id, row.credit_document_id) if row.credit_document_id else None
    except ProviderError as exc:
        raise _refused(exc, "Reading the PDF link") from exc
    return {"order_id": order.id, "document_id": row.document_id, "number": row.number, "url": url,
            "credit_note_number": row.credit_number, "credit_note_url": credit_url}


def invoice_view(row: MoloniInvoice | None) -> dict | None:
    if row is None:
        return None
    return {"status": row.status, "number": row.number, "document_id": row.document_id,
            "failure_reason": row.failure_reason, "invoiced_at": row.invoiced_at, "attempts": row.attempts,
            "credit_status": row.credit_status, "credit_note_number": row.credit_number,
            "credit_note_document_id": row.credit_document_id, "credit_failure_reason": row.credit_failure_reason}
