"""Webhooks from the payment providers: verified, stored raw under a unique (provider, event id),
answered at once, then applied by a job (``jobs.webhooks.process_event`` on the ``webhooks``
queue) through ``services.payments.apply_fact``. However often and in whatever order an event
arrives, it is stored once and applied once: a redelivery only counts itself, and applying is a
no-op once the event is settled (the row is locked while it is applied).

Which store an event belongs to: a Stripe event for a connected account belongs to the store that
connected it; one on the platform account belongs to the store named in its metadata, else the
default store. A Hoodpay event belongs to the store whose address it was sent to (each store
verifies with its own secret). An event that names a payment of another store changes nothing and
is recorded as REFUSED, with the reason; the callback inspector lists them all.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from extensions import db
from integrations import base as facts
from integrations import hoodpay, stripe
from integrations.base import AccountStatus, Fact, ProviderError, SignatureError
from integrations.base import WebhookEvent as VerifiedEvent
from models import Store, WebhookEvent
from models.base import new_id
from tenancy import current_store_id, platform_scope, tenant_scope
from transactions import enqueue_after_commit

from . import metrics, payment_accounts, payments
from .errors import Invalid, NotFound, Unavailable
from .pagination import paginate

log = logging.getLogger(__name__)
PROCESS = "jobs.webhooks.process_event"
SETTLED = ("PROCESSED", "IGNORED", "REFUSED")
MAX_PAYLOAD = 256 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


def _bad_signature(reason: str) -> Invalid:
    return Invalid(f"Webhook signature could not be verified: {reason}", code="bad_signature", status=400)


# --- receiving --------------------------------------------------------------------------------

def receive_stripe(raw: bytes, signature_header: str | None) -> dict:
    """Verify and store a Stripe event; the job applies it. Answers what the endpoint says."""
    config = current_app.config
    secrets = [s for s in (config.get("STRIPE_WEBHOOK_SECRET"), config.get("STRIPE_CONNECT_WEBHOOK_SECRET")) if s]
    if not secrets:
        raise Unavailable("Stripe webhooks are not configured on this platform (STRIPE_WEBHOOK_SECRET)",
                          code="webhooks_not_configured")
    if len(raw) > MAX_PAYLOAD:
        raise Invalid("The webhook body is too large", code="payload_too_large", status=413)
    try:
        event = stripe.parse_webhook(raw, signature_header, secrets, tolerance=300)
    except SignatureError as exc:
        metrics.webhook_failed("STRIPE", "bad_signature")
        raise _bad_signature(str(exc)) from exc
    return _store("STRIPE", event, _stripe_store(event), raw)


def _stripe_store(event) -> str | None:
    if event.account:
        return payment_accounts.store_for_stripe_account(event.account)
    named = (event.metadata or {}).get("store_id")
    if named:
        found = db.session.scalar(select(Store.id).where(Store.id == str(named)[:36]))
        if found:
            return found
    default = db.session.scalar(select(Store.id).where(Store.is_default.is_(True)))
    return default


def receive_hoodpay(store: Store, raw: bytes, headers: Mapping[str, str]) -> dict:
    """Verify a Hoodpay notification with the store's own webhook secret, and store it."""
    credentials = payment_accounts.hoodpay_credentials(store)
    if not credentials:
        raise Unavailable("This store does not take Hoodpay payments", code="webhooks_not_configured")
    if len(raw) > MAX_PAYLOAD:
        raise Invalid("The webhook body is too large", code="payload_too_large", status=413)
    try:
        event = hoodpay.parse_webhook(raw, headers, credentials["webhook_secret"])
    except SignatureError as exc:
        metrics.webhook_failed("HOODPAY", "bad_signature")
        raise _bad_signature(str(exc)) from exc
    # Hoodpay's ids are only unique per business: the dedupe key is the store's, so one store
    # can never answer "duplicate" for another's event
    return _store("HOODPAY", event, store.id, raw, event_id=f"{store.id}:{event.id}")


def _insert(values: dict):
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(WebhookEvent.__table__).values(**values).on_conflict_do_nothing(
        index_elements=["provider", "event_id"])


def _store(provider: str, event, store_id: str | None, raw: bytes, *, event_id: str | None = None) -> dict:
    """Insert once under (provider, event id); a redelivery only counts itself. The job is queued
    in the event's store scope, after commit, unless the event is already settled."""
    table = WebhookEvent.__table__
    now = _now()
    text_body = raw.decode("utf-8", errors="replace")
    values = {"id": new_id(), "store_id": store_id, "provider": provider, "event_id": (event_id or event.id)[:255],
              "type": (event.type or "?")[:80], "account_ref": (event.account or None) and event.account[:64],
              "object_ref": (event.object_ref or None) and str(event.object_ref)[:120],
              "signature": "verified", "status": "RECEIVED", "result": "" if store_id else "no store matches",
              "payload": text_body, "deliveries": 1, "attempts": 0, "created_at": now, "updated_at": now}
    # RETURNING tells whether this call inserted (rowcount is not reliable for INSERT on psycopg)
    inserted = db.session.execute(_insert(values).returning(table.c.id)).first() is not None
    if not inserted:
        db.session.execute(update(table).where(table.c.provider == provider, table.c.event_id == values["event_id"])
                           .values(deliveries=table.c.deliveries + 1, updated_at=now))
    existing = db.session.execute(select(table.c.id, table.c.status, table.c.store_id).where(
        table.c.provider == provider, table.c.event_id == values["event_id"])).one()
    if existing.status not in SETTLED:
        scope = tenant_scope(existing.store_id) if existing.store_id else platform_scope()
        with scope:
            enqueue_after_commit(PROCESS, existing.id, queue="webhooks")
    return {"received": True, "id": existing.id, "duplicate": not inserted, "status": existing.status}


# --- applying --------------------------------------------------------------------------------

def _locked(event_id: str) -> WebhookEvent | None:
    stmt = select(WebhookEvent).where(WebhookEvent.id == event_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def _fact(row: WebhookEvent) -> Fact:
    """What the stored event means (the provider module reads its own shape)."""
    payload = json.loads(row.payload)
    data = (payload.get("data") or {}).get("object") or {} if isinstance(payload, dict) else {}
    verified = VerifiedEvent(id=row.event_id, type=row.type, payload=payload, account=row.account_ref,
                        object_ref=row.object_ref, metadata=(data.get("metadata") or {}) if isinstance(data, dict) else {})
    return stripe.describe(verified) if row.provider == "STRIPE" else hoodpay.describe(verified)


def _confirm_hoodpay(fact: Fact) -> Fact | str:
    """Hoodpay's notification is only a hint: ask Hoodpay what the payment is before fulfilling."""
    store = db.session.get(Store, current_store_id())
    try:
        state = payment_accounts.hoodpay_gateway(store).payment_state(fact.ref)
    except ProviderError as exc:
        if exc.retryable:
            raise  # Hoodpay unreachable: the job retries
        return f"Hoodpay does not confirm this payment: {exc}"  # not this business's payment, say
    if state.status != facts.SUCCEEDED:
        return f"Hoodpay reports this payment as {state.status}, not completed"
    return Fact(kind=fact.kind, ref=state.ref, amount=state.amount, currency=state.currency,
                metadata={**(state.metadata or {}), **(fact.metadata or {})}, detail=fact.detail)


def process(event_id: str, *, force: bool = False) -> str:
    """Apply one stored event (the job). Settled events are left alone unless ``force`` (the
    inspector's "process again", safe because every action is idempotent)."""
    row = _locked(event_id)
    if row is None:
        return "no such event"
    if row.status in SETTLED and not force:
        return f"already {row.status}"
    row.attempts += 1
    if row.store_id is None:
        return _settle(row, "REFUSED", row.result or "no store matches this event")
    fact = _fact(row)
    if fact.kind == facts.IGNORED:
        return _settle(row, "IGNORED", (fact.detail or {}).get("why") or f"{row.type} is not used")
    if fact.kind == facts.ACCOUNT_UPDATED:
        updated = payment_accounts.apply_account_update(AccountStatus(**{
            k: v for k, v in (fact.detail or {}).items() if k in AccountStatus.__dataclass_fields__}))
        return _settle(row, "PROCESSED" if updated else "REFUSED",
                       "Stripe account status updated" if updated else "no store of this account")
    if row.provider == "HOODPAY" and fact.kind == facts.PAYMENT_SUCCEEDED:
        confirmed = _confirm_hoodpay(fact)
        if isinstance(confirmed, str):
            return _settle(row, "REFUSED", confirmed)
        fact = confirmed
    outcome = payments.apply_fact(row.provider, fact)
    row.order_id, row.topup_id = outcome.order_id, outcome.topup_id
    row.payment_id = outcome.payment.id if outcome.payment is not None else None
    return _settle(row, outcome.status, outcome.result)


def _settle(row: WebhookEvent, status: str, result: str) -> str:
    if row.status == "PROCESSED" and status == "IGNORED":
        # processed again (the inspector): it changed things the first time and nothing now; keep
        # what it did rather than hide it behind "nothing to change"
        again = " (processed again: nothing more to change)"
        status, result = "PROCESSED", row.result if row.result.endswith(again) else row.result[:450] + again
    row.status, row.result, row.error, row.processed_at = status, result[:500], None, _now()
    db.session.flush()
    return f"{status}: {result}"


def record_failure(event_id: str, error: BaseException, *, will_retry: bool = True) -> None:
    """A job that raised (provider unreachable, a bug): the inspector shows it, and whether the
    queue tries again or gave up (then "process again" is the admin's way)."""
    row = db.session.get(WebhookEvent, event_id)
    if row is None:
        return
    metrics.webhook_failed(row.provider, "error")
    row.status, row.attempts = "FAILED", row.attempts + 1
    row.error = f"{type(error).__name__}: {error}"[:4000]
    row.result = "retrying" if will_retry else "gave up after retries: use process again"
    db.session.flush()


def reprocess(event_id: str) -> WebhookEvent:
    """The inspector's "process again": queue the event once more (idempotent)."""
    row = get_event(event_id)
    enqueue_after_commit(PROCESS, row.id, force=True, queue="webhooks")
    return row


# --- the inspector ---------------------------------------------------------------------------

def list_events(*, provider: str | None = None, status: str | None = None, type: str | None = None,
                search: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    stmt = select(WebhookEvent).order_by(WebhookEvent.created_at.desc(), WebhookEvent.id)
    if provider:
        stmt = stmt.where(WebhookEvent.provider == provider.upper())
    if status:
        stmt = stmt.where(WebhookEvent.status == status.upper())
    if type:
        stmt = stmt.where(WebhookEvent.type == type)
    if search:
        term = search.strip()[:120]
        stmt = stmt.where(or_(WebhookEvent.event_id == term, WebhookEvent.object_ref == term,
                              WebhookEvent.order_id == term, WebhookEvent.result.contains(term, autoescape=True)))
    return paginate(stmt, page=page, page_size=page_size)


def get_event(event_id: str) -> WebhookEvent:
    row = db.session.get(WebhookEvent, event_id) if event_id else None
    if row is None:
        raise NotFound("No such webhook event", code="webhook_event_not_found")
    return row
