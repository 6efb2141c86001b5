"""Email campaigns: drafts, audiences, sending in batches through the ``emails`` queue, progress.

* **A draft** has a subject (1-200 characters), a Markdown body (rendered by
  ``text.markdown_to_html``: raw HTML off, then nh3), a ``topic`` (``marketing`` or
  ``product_news``: which preference a recipient must keep on) and an audience: ``all`` customers,
  buyers of a ``product``, ``resellers``, or a customer ``segment`` (``services.segments``).
  Customers are users with the role USER or RESELLER, active; staff are never an audience.
* **Starting** (``start_send``) is a guarded ``UPDATE campaigns SET status = 'SENDING' WHERE
  status = 'DRAFT'``: a double click starts once. The winner snapshots the audience with ONE
  ``INSERT INTO campaign_recipients ... SELECT``: people who turned the topic off are inserted
  as SKIPPED (so the result can say how many opted out), the others PENDING. Who registers or
  opts out afterwards does not change a campaign already sending.
* **Sending** (``jobs.campaigns.send_batch``), once per recipient whatever happens to the job:
  1. ``recover``: what a dead run left: SENDING (its message was being handed over and may have
     gone out) -> FAILED "interrupted", never resent; CLAIMED (not tried) -> PENDING.
  2. ``claim``: up to N PENDING -> CLAIMED under a fresh run token (their ids locked with
     ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, then a guarded UPDATE); committed.
  3. Per recipient: ``begin`` (CLAIMED by this run -> SENDING, only while the campaign is SENDING)
     is **committed before the message goes out**; then the message; then ``mark_sent`` (SENDING
     -> SENT), committed with the next ``begin``. A retried job only ever claims PENDING
     recipients, so a SENT or SENDING one is never sent again; the run token keeps one run from
     sending what another claimed.
  4. A mail server that refuses a message (an SMTP error answer: nothing was delivered) puts it
     back to PENDING with the rest of the batch, and the job raises for RQ's retry; after the
     last retry it is FAILED. A connection that breaks mid-message leaves it FAILED (unknown).
  5. The job queues the next batch until none remain; ``finish`` then marks the campaign SENT.
* **Cancelling** marks the campaign CANCELLED and its PENDING recipients SKIPPED; a batch in
  flight stops before its next message.

The once-per-recipient rule is also the primary key (campaign_id, user_id).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, exists, func, insert, literal, select, update

from extensions import db
from models import (
    AUDIENCES,
    TOPICS,
    Campaign,
    CampaignRecipient,
    NotificationPreference,
    Order,
    OrderLine,
    Product,
    User,
)
from tenancy import current_store_id
from transactions import enqueue_after_commit

from . import audit, preferences, segments
from .errors import Conflict, Invalid, NotFound
from .pagination import paginate
from .text import clean_text, has_control_chars, markdown_to_html

SUBJECT_MAX = 200
BODY_MAX = 50_000
BATCH_SIZE = 50  # recipients per job: one SMTP connection, one claim
AUDIENCE_LABELS = {"all": "All customers", "product": "Buyers of a product", "resellers": "Resellers",
                   "segment": "A customer segment"}
TOPIC_LABELS = {"marketing": "Marketing (offers and news)", "product_news": "Product news"}
SEGMENT_LABELS = {"vip": "VIP", "new": "New", "active": "Active", "at_risk": "At risk", "inactive": "Inactive"}
STATUSES = ("DRAFT", "SENDING", "SENT", "CANCELLED")
INTERRUPTED = "interrupted while it was being sent (the worker stopped): it may have gone out, so it is not sent again"


def _now() -> datetime:
    return datetime.now(UTC)


# --- drafts ------------------------------------------------------------------------------------

def _check(data: dict, campaign: Campaign | None = None) -> dict:
    """The fields of a draft, checked: ``subject``, ``body_markdown``, ``topic``, ``audience``,
    ``audience_param`` (a product id of this store, or a segment name)."""
    out: dict = {}
    if "subject" in data or campaign is None:
        subject = clean_text(data.get("subject"), "subject", max_length=SUBJECT_MAX, required=True)
        if "\n" in subject or "\r" in subject:
            raise Invalid("The subject is one line", details={"subject": ["one line"]})
        out["subject"] = subject
    if "body_markdown" in data or campaign is None:
        body = (data.get("body_markdown") or "").strip()
        if not body:
            raise Invalid("Write the email's text", details={"body_markdown": ["required"]})
        if len(body) > BODY_MAX:
            raise Invalid(f"The text may be at most {BODY_MAX} characters", details={"body_markdown": ["too long"]})
        if has_control_chars(body):
            raise Invalid("The text contains a control character", details={"body_markdown": ["control character"]})
        out["body_markdown"] = body
    if "topic" in data or campaign is None:
        topic = data.get("topic") or "marketing"
        if topic not in TOPICS:
            raise Invalid(f"topic is one of: {', '.join(TOPICS)}", details={"topic": ["invalid"]})
        out["topic"] = topic
    if "audience" in data or "audience_param" in data or campaign is None:
        audience = data.get("audience", campaign.audience if campaign else None) or "all"
        param = data.get("audience_param", campaign.audience_param if campaign and "audience" not in data else None)
        out["audience"], out["audience_param"] = check_audience(audience, param)
    return out


def check_audience(audience: str, param: str | None) -> tuple[str, str | None]:
    """``(audience, param)`` when valid: a product of this store (not deleted) for ``product``, a
    segment name for ``segment``, nothing for the others; 422 otherwise."""
    if audience not in AUDIENCES:
        raise Invalid(f"audience is one of: {', '.join(AUDIENCES)}", code="invalid_audience",
                      details={"audience": ["invalid"]})
    if audience == "product":
        if not param or db.session.scalar(select(Product.id).where(Product.id == param,
                                                                   Product.deleted_at.is_(None))) is None:
            raise Invalid("Choose a product of this store", code="unknown_product",
                          details={"product_id": ["unknown product"]})
        return audience, param
    if audience == "segment":
        segment = segments.check_segment(param)
        if segment is None:
            raise Invalid("Choose a segment", code="invalid_segment", details={"segment": ["required"]})
        return audience, segment
    return audience, None


def create_campaign(data: dict, *, created_by: User | None) -> Campaign:
    campaign = Campaign(**_check(data), status="DRAFT", created_by_id=created_by.id if created_by else None)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_campaign(campaign: Campaign, changes: dict) -> Campaign:
    """Only a draft changes (409 ``campaign_not_draft`` once sending started)."""
    if campaign.status != "DRAFT":
        raise Conflict("Only a draft can be changed; this campaign was sent or cancelled",
                       code="campaign_not_draft")
    for name, value in _check(changes, campaign).items():
        setattr(campaign, name, value)
    campaign.updated_at = _now()
    db.session.flush()
    return campaign


def get_campaign(campaign_id: str) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    if campaign is None:
        raise NotFound("No such campaign", code="campaign_not_found")
    return campaign


def list_campaigns(*, status: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    """The store's campaigns, newest first (``status`` filters)."""
    stmt = select(Campaign)
    if status:
        if status not in STATUSES:
            raise Invalid(f"status is one of: {', '.join(STATUSES)}", details={"status": ["invalid"]})
        stmt = stmt.where(Campaign.status == status)
    return paginate(stmt.order_by(Campaign.created_at.desc(), Campaign.id), page=page, page_size=page_size)


def product_options() -> list[tuple[str, str]]:
    """(id, title) of the store's products, for the audience picker."""
    return [tuple(row) for row in db.session.execute(
        select(Product.id, Product.title).where(Product.deleted_at.is_(None)).order_by(Product.title, Product.id))]


def product_titles(campaigns: list[Campaign]) -> dict[str, str]:
    """The titles of the products the ``product`` audiences of ``campaigns`` name (one query)."""
    ids = {c.audience_param for c in campaigns if c.audience == "product" and c.audience_param}
    if not ids:
        return {}
    return dict(db.session.execute(select(Product.id, Product.title).where(Product.id.in_(ids))).all())


def audience_label(campaign: Campaign, product_titles: dict[str, str] | None = None) -> str:
    if campaign.audience == "product":
        title = (product_titles or {}).get(campaign.audience_param or "")
        if title is None:
            title = db.session.scalar(select(Product.title).where(Product.id == campaign.audience_param)) or "a product"
        return f"Buyers of {title}"
    if campaign.audience == "segment":
        return f"Segment: {SEGMENT_LABELS.get(campaign.audience_param or '', campaign.audience_param)}"
    return AUDIENCE_LABELS[campaign.audience]


# --- rendering ---------------------------------------------------------------------------------

@dataclass
class Rendered:
    subject: str
    html: str  # the body, safe HTML (the email's layout and footer are added when it is sent)
    text: str  # the plain-text part: the Markdown itself, readable as it is


def render(subject: str, body_markdown: str) -> Rendered:
    return Rendered(subject=subject, html=markdown_to_html(body_markdown), text=(body_markdown or "").strip())


def render_campaign(campaign: Campaign) -> Rendered:
    return render(campaign.subject, campaign.body_markdown)


# --- audiences ---------------------------------------------------------------------------------

def _audience_ids(audience: str, param: str | None, store_id: str):
    """A SELECT of the user ids an audience names. Every table is filtered by ``store_id`` by hand:
    this SELECT also feeds a Core INSERT, which the ORM's store scoping does not see."""
    if audience == "product":
        return (select(Order.buyer_id).join(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.store_id == store_id, OrderLine.store_id == store_id, OrderLine.product_id == param,
                       Order.paid_at.isnot(None), Order.buyer_id.isnot(None)))
    if audience == "resellers":
        return select(User.id).where(User.store_id == store_id, User.role == "RESELLER")
    ids = segments.customer_ids(param if audience == "segment" else None)
    return ids.where(User.store_id == store_id)


def _audience_filter(audience: str, param: str | None, store_id: str) -> list:
    """The WHERE of an audience's users: active customers of the store named by the audience."""
    return [User.store_id == store_id, User.is_active.is_(True), User.role.in_(segments.CUSTOMER_ROLES),
            User.id.in_(_audience_ids(audience, param, store_id))]


def audience_count(audience: str, param: str | None, topic: str = "marketing") -> dict:
    """How many customers an audience holds, and how many of them would get the email
    (``reachable``: the others turned the topic off). One query."""
    audience, param = check_audience(audience, param)
    if topic not in TOPICS:
        raise Invalid(f"topic is one of: {', '.join(TOPICS)}", details={"topic": ["invalid"]})
    wanted = preferences.opted_in(topic, NotificationPreference)
    stmt = (select(func.count(), func.coalesce(func.sum(case((wanted, 1), else_=0)), 0))
            .select_from(User).outerjoin(NotificationPreference, preferences.join_condition())
            .where(*_audience_filter(audience, param, current_store_id())))
    total, reachable = db.session.execute(stmt).one()
    return {"total": int(total), "reachable": int(reachable), "opted_out": int(total) - int(reachable)}


def _snapshot_recipients(campaign: Campaign) -> None:
    """ONE ``INSERT ... SELECT``: the audience as it is now, opted-out people as SKIPPED."""
    store_id = campaign.store_id
    wanted = preferences.opted_in(campaign.topic, NotificationPreference)
    rows = (select(literal(campaign.id), User.id, User.email, literal(store_id),
                   case((wanted, literal("PENDING")), else_=literal("SKIPPED")), literal(0))
            .select_from(User).outerjoin(NotificationPreference, preferences.join_condition())
            .where(*_audience_filter(campaign.audience, campaign.audience_param, store_id)))
    table = CampaignRecipient.__table__
    stmt = insert(table).from_select(
        [table.c.campaign_id, table.c.user_id, table.c.email, table.c.store_id, table.c.status, table.c.attempts], rows)
    # Core INSERT ... SELECT: the store is named in every WHERE above (the ORM scoping sees no rows to stamp)
    db.session.execute(stmt, execution_options={"all_stores": True})


# --- sending -----------------------------------------------------------------------------------

def start_send(campaign: Campaign, *, batch_size: int | None = None) -> bool:
    """DRAFT -> SENDING, once (a guarded UPDATE: a double click or two admins start it once);
    snapshot the recipients and queue the first batch after commit. False when it was not a draft
    any more (nothing is done)."""
    started = db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.status == "DRAFT")
        .values(status="SENDING", started_at=_now(), updated_at=_now())
        .execution_options(synchronize_session=False)).rowcount
    if not started:
        db.session.refresh(campaign)
        return False
    db.session.refresh(campaign)
    _snapshot_recipients(campaign)
    counts = dict(db.session.execute(
        select(CampaignRecipient.status, func.count()).where(CampaignRecipient.campaign_id == campaign.id)
        .group_by(CampaignRecipient.status)).all())
    campaign.recipients_total = sum(counts.values())
    campaign.skipped = counts.get("SKIPPED", 0)
    db.session.flush()
    audit.record("campaign.send", "campaign", campaign.id, {  # the guarded bulk UPDATE above: said here
        "before": {"status": "DRAFT"},
        "after": {"status": "SENDING", "recipients": campaign.recipients_total, "skipped": campaign.skipped}})
    enqueue_after_commit("jobs.campaigns.send_batch", campaign.id, batch_size or BATCH_SIZE, queue="emails")
    return True


def send_test(campaign: Campaign, to: User) -> None:
    """A test of the campaign as saved, to ``to`` (the admin), after commit; records nothing."""
    enqueue_after_commit("jobs.campaigns.send_test", campaign.id, to.id, queue="emails")


def cancel(campaign: Campaign) -> bool:
    """DRAFT or SENDING -> CANCELLED; the recipients not yet sent become SKIPPED. False when it was
    already sent or cancelled."""
    was = campaign.status
    done = db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.status.in_(("DRAFT", "SENDING")))
        .values(status="CANCELLED", cancelled_at=_now(), finished_at=_now(), updated_at=_now())
        .execution_options(synchronize_session=False)).rowcount
    if done:
        _move(campaign.id, ("PENDING", "CLAIMED"), "SKIPPED", "cancelled before it was sent")
        audit.record("campaign.cancel", "campaign", campaign.id,
                     {"before": {"status": was}, "after": {"status": "CANCELLED"}})
    db.session.refresh(campaign)
    return bool(done)


@dataclass
class Claimed:
    user_id: str
    email: str


def sending(campaign_id: str) -> Campaign | None:
    """The campaign if it is SENDING now (read fresh), else None."""
    return db.session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.status == "SENDING")
                             .execution_options(populate_existing=True))


def recover(campaign_id: str) -> tuple[int, int]:
    """Before a batch claims: what a run that died left behind. A recipient SENDING was being
    handed to the mail server: it may have gone out, so FAILED, never sent again. One CLAIMED was
    not tried yet: PENDING again. ``(failed, released)``."""
    failed = _move(campaign_id, ("SENDING",), "FAILED", INTERRUPTED)
    released = _move(campaign_id, ("CLAIMED",), "PENDING", None)
    return failed, released


def claim(campaign_id: str, size: int, run: str) -> list[Claimed]:
    """Claim up to ``size`` PENDING recipients for the batch run ``run`` (-> CLAIMED); the caller
    commits the claim. Two statements: the ids, locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
    SQLite's job transaction holds the write lock), then a guarded UPDATE of exactly those. (One
    ``UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE)`` can take more than n rows on
    PostgreSQL: a rescanned locking subquery re-checks the rows it just changed and moves on.)"""
    r = CampaignRecipient
    ids = list(db.session.scalars(
        select(r.user_id).where(r.campaign_id == campaign_id, r.status == "PENDING")
        .order_by(r.user_id).limit(max(1, int(size))).with_for_update(skip_locked=True)))
    if not ids:
        return []
    rows = db.session.execute(
        update(r).where(r.campaign_id == campaign_id, r.status == "PENDING", r.user_id.in_(ids))
        .values(status="CLAIMED", claim_token=run, claimed_at=_now())
        .returning(r.user_id, r.email).execution_options(synchronize_session=False)).all()
    return sorted((Claimed(user_id, email) for user_id, email in rows), key=lambda c: c.user_id)


def begin(campaign_id: str, user_id: str, run: str) -> bool:
    """CLAIMED by ``run`` -> SENDING, only while the campaign is SENDING (a guarded UPDATE; the
    caller commits before handing the message over). False: cancelled, or not this run's."""
    r = CampaignRecipient
    still_sending = exists().where(Campaign.id == campaign_id, Campaign.status == "SENDING")
    return bool(db.session.execute(
        update(r).where(r.campaign_id == campaign_id, r.user_id == user_id, r.status == "CLAIMED",
                        r.claim_token == run, still_sending)
        .values(status="SENDING", attempts=r.attempts + 1).execution_options(synchronize_session=False)).rowcount)


def mark_sent(campaign_id: str, user_id: str, run: str) -> bool:
    r = CampaignRecipient
    done = db.session.execute(
        update(r).where(r.campaign_id == campaign_id, r.user_id == user_id, r.status == "SENDING", r.claim_token == run)
        .values(status="SENT", sent_at=_now(), error=None).execution_options(synchronize_session=False)).rowcount
    if done:
        _bump(campaign_id, sent=done)
    return bool(done)


def not_sent(campaign_id: str, user_id: str, run: str, error: str, *, retry: bool) -> None:
    """The mail server refused the message (nothing was delivered): PENDING again for a retry,
    else FAILED."""
    _move(campaign_id, ("SENDING",), "PENDING" if retry else "FAILED", error, user_ids=[user_id], run=run)


def delivery_unknown(campaign_id: str, user_id: str, run: str, error: str) -> None:
    """The connection broke while handing the message over: it may have gone out. FAILED, never resent."""
    _move(campaign_id, ("SENDING",), "FAILED", f"delivery unknown, not sent again ({error})", user_ids=[user_id], run=run)


def unclaim(campaign_id: str, run: str, *, error: str | None = None) -> int:
    """The run's claimed recipients it did not try: PENDING again (safe to send later)."""
    return _move(campaign_id, ("CLAIMED",), "PENDING", error, run=run)


def fail_claimed(campaign_id: str, run: str, error: str) -> int:
    """The run's claimed recipients when the mail server cannot be reached and no retry is left."""
    return _move(campaign_id, ("CLAIMED",), "FAILED", error, run=run)


def _move(campaign_id: str, old: tuple[str, ...], new: str, error: str | None, *,
          user_ids: list[str] | None = None, run: str | None = None) -> int:
    r = CampaignRecipient
    stmt = update(r).where(r.campaign_id == campaign_id, r.status.in_(old))
    if user_ids is not None:
        stmt = stmt.where(r.user_id.in_(user_ids))
    if run is not None:
        stmt = stmt.where(r.claim_token == run)
    moved = db.session.execute(stmt.values(status=new, error=(error or "")[:500] or None)
                               .execution_options(synchronize_session=False)).rowcount
    if moved and new in ("FAILED", "SKIPPED"):
        _bump(campaign_id, **{new.lower(): moved})
    return moved


def _bump(campaign_id: str, **deltas: int) -> None:
    values = {name: getattr(Campaign, name) + delta for name, delta in deltas.items()}
    db.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values, updated_at=_now())
                       .execution_options(synchronize_session=False))


def finish(campaign_id: str) -> bool:
    """SENDING -> SENT once no recipient is waiting or being sent (a guarded UPDATE)."""
    r = CampaignRecipient
    open_left = exists().where(r.campaign_id == campaign_id, r.status.in_(("PENDING", "CLAIMED", "SENDING")))
    return bool(db.session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "SENDING", ~open_left)
        .values(status="SENT", finished_at=_now(), updated_at=_now())
        .execution_options(synchronize_session=False)).rowcount)


# --- progress ----------------------------------------------------------------------------------

def progress(campaign: Campaign) -> dict:
    """Counts and the share processed (sent, skipped or failed) of the recipients."""
    total = campaign.recipients_total
    processed = campaign.sent + campaign.skipped + campaign.failed
    done = campaign.status in ("SENT", "CANCELLED")
    if campaign.status == "SENT":
        percent = 100
    else:
        percent = min(100, processed * 100 // total) if total else 0
    return {"status": campaign.status, "total": total, "sent": campaign.sent, "skipped": campaign.skipped,
            "failed": campaign.failed, "pending": max(0, total - processed), "percent": percent, "done": done}


def recipients(campaign: Campaign, *, status: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    r = CampaignRecipient
    stmt = select(r).where(r.campaign_id == campaign.id)
    if status:
        stmt = stmt.where(r.status == status)
    return paginate(stmt.order_by(r.email, r.user_id), page=page, page_size=page_size)

