"""Email jobs: HTML + text templates from templates/emails/, sent through Flask-Mailman.

Services queue them by name, after commit:
``enqueue_after_commit("jobs.emails.send_order_email", order.id, queue="emails")``.
"""
from __future__ import annotations

import logging
import smtplib
from email.utils import formataddr, parseaddr

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives

from services import auth, orders, payments, refunds, replacements, topups, users
from services import variants as variant_service
from services.errors import NotFound
from services.stores import base_url, get_store, settings_of, show_money
from tenancy import current_store_id
from transactions import begins_deferred

log = logging.getLogger(__name__)


def _store_context() -> dict:
    store_id = current_store_id()
    store = get_store(store_id) if store_id else None
    return {
        "store": store,
        "store_name": store.name if store else current_app.config["PLATFORM_NAME"],
        "branding": settings_of(store).branding if store else None,
    }


def render_email(template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) for ``templates/emails/<template>.{txt,html}``."""
    ctx = {**_store_context(), **context}
    env = current_app.jinja_env
    text_tpl = env.get_template(f"emails/{template}.txt")
    # one line: a header cannot hold a line break (a product's title may have one)
    subject = " ".join(str(getattr(text_tpl.make_module(ctx), "subject", "")).split()) or ctx["store_name"]
    text = render_template(f"emails/{template}.txt", **ctx)
    html = render_template(f"emails/{template}.html", **ctx, subject=subject)
    return subject, text, html


def send_email(*, to: str, template: str, context: dict | None = None, headers: dict | None = None,
               connection=None) -> str:
    """Render and send one email. ``headers``: extra headers (a campaign's List-Unsubscribe);
    ``connection``: an open mail connection to reuse (a campaign batch), else one per message."""
    subject, text, html = render_email(template, context or {})
    ctx = _store_context()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    if ctx["store"] is not None and "<" in sender:
        # quoted (and encoded) as a header needs it: a store named "Smith, Jones & Co" is one name
        sender = formataddr((" ".join(ctx["store_name"].split()), parseaddr(sender)[1]))
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=sender, to=[to], headers=headers,
                                     connection=connection)
    message.attach_alternative(html, "text/html")
    message.send()
    return subject


@begins_deferred  # reads only: SQLite's write lock stays free for checkouts while it renders
def send_order_email(order_id: str, guest_token: str | None = None, placed: bool = False) -> str | None:
    """The confirmation (paid, even if refunded since: with the items, one per line) or the
    'waiting for payment' email.

    ``placed``: queued when the order was placed, unpaid (``orders.notify_placed``). Paid by the
    time it runs (a busy or restarted worker, a shopper quick on the provider's page, nothing to
    pay), it is not a second confirmation: the payment queued that itself. A signed-in buyer gets
    nothing from it; a guest gets the 'received' email, which carries their secret link (the
    confirmation cannot: only the link's hash is kept)."""
    try:
        order = orders.get_order(order_id)
    except NotFound:
        return None
    paid = order.paid_at is not None  # refunded in part or in full, disputed: it was paid, its items delivered
    if placed and paid:
        if guest_token is None:
            return None
        paid = False  # the 'received' email, saying the payment arrived
    store = get_store(order.store_id)
    return send_email(to=order.email, template="order_paid" if paid else "order_pending", context={
        "order": order, "lines": order.lines, "items": orders.delivered_codes(order) if paid else {},
        "link": orders.order_url(order, guest_token),
        # how to pay a waiting MANUAL order (the store's own words; the templates escape them)
        "manual_instructions": settings_of(store).manual_payment_instructions if store else ""})


def send_shipped_email(order_id: str, again: bool = False) -> str | None:
    """Tell the buyer the physical items are on their way: carrier, tracking number and link,
    and where they go (``again``: the tracking was corrected)."""
    try:
        order = orders.get_order(order_id)
    except NotFound:
        return None
    if order.fulfilled_at is None:
        return None
    return send_email(to=order.email, template="order_shipped", context={
        "order": order, "again": again, "lines": [ln for ln in order.lines if ln.kind == "physical"],
        "address": order.shipping_address or {},
        "link": orders.order_url(order)})  # None for a guest: the link of their first email


def send_cancelled_email(order_id: str, reason: str = "") -> str | None:
    """Tell the buyer the store ended their unpaid order (cancelled or marked failed by a person;
    an expiry sends nothing), with the reason the admin gave."""
    try:
        order = orders.get_order(order_id)
    except NotFound:
        return None
    if order.status not in ("CANCELLED", "FAILED"):
        return None
    return send_email(to=order.email, template="order_cancelled", context={
        "order": order, "lines": order.lines, "reason": (reason or "").strip(),
        "support_email": settings_of(get_store(order.store_id)).support_email,
        "link": orders.order_url(order)})  # None for a guest: the link of their first email


def send_low_stock_email(variant_id: str, count: int) -> int:
    """Tell the store's admins that a subcategory fell under its low-stock threshold."""
    try:
        variant = variant_service.get_variant(variant_id)
    except NotFound:
        return 0
    product = variant.product
    # where to add it: a digital subcategory's stock page, a physical product's inventory
    page = f"/admin/subcategories/{variant.id}/stock" if product.kind == "digital" else f"/admin/products/{product.id}"
    return _admins_send("low_stock", {"product": product, "variant": variant, "count": count,
                                      "link": base_url(get_store(variant.store_id)) + page})


def _refused_for_good(exc: smtplib.SMTPException) -> bool:
    """The mail server refused this message for good (a 5xx: no such mailbox, a blocked address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _admins_send(template: str, context: dict) -> int:
    """One email to each active admin; how many were sent. An address the mail server refuses for
    good is logged and skipped: raising would retry the job, sending the admins before it the
    same email again and those after it nothing."""
    sent = 0
    for admin in auth.active_admins():
        try:
            send_email(to=admin.email, template=template, context=context)
        except smtplib.SMTPException as exc:
            if not _refused_for_good(exc):
                raise
            log.warning("the mail server refused the %s email to admin %s: %s", template, admin.email, exc)
            continue
        sent += 1
    return sent


def _admin_order_link(order) -> str:
    return f"{base_url(get_store(order.store_id))}/admin/orders/{order.order_number}"


def send_admin_alert(headline: str, message: str, order_id: str | None = None) -> int:
    """Something a person must act on (a payment after expiry, a refused refund, a double payment)."""
    order = None
    if order_id:
        try:
            order = orders.get_order(order_id, with_lines=False)
        except NotFound:
            order = None
    return _admins_send("admin_alert", {"headline": headline, "message": message, "order": order,
                                        "link": _admin_order_link(order) if order else None})


def send_dispute_email(order_id: str, dispute: str | None = None, reason: str | None = None) -> int:
    """Tell the admins a buyer disputed a payment, with the first-reveal evidence."""
    try:
        order = orders.get_order(order_id, with_lines=False)
    except NotFound:
        return 0
    return _admins_send("dispute", {"order": order, "dispute": dispute, "reason": reason,
                                    "evidence": payments.first_reveal(order), "link": _admin_order_link(order)})


def send_refund_email(refund_id: str) -> str | None:
    """Tell the buyer money is coming back."""
    try:
        refund = refunds.get_refund(refund_id)
        order = orders.get_order(refund.order_id, with_lines=False)
    except NotFound:
        return None
    if refund.status != "SUCCEEDED":  # a refund the provider refused: the buyer gets nothing back
        return None
    return send_email(to=order.email, template="refund", context={
        "refund": refund, "order": order, "amount": show_money(refund.amount, refund.currency),
        "link": orders.order_url(order)})


def send_topup_email(topup_id: str) -> str | None:
    try:
        topup = topups.get_topup(topup_id)
    except NotFound:
        return None
    user = users.get_user(topup.user_id)
    store = get_store(topup.store_id)
    after = topups.balance_after(topup)  # as it was once credited: a later purchase is not this email's news
    return send_email(to=user.email, template="topup", context={
        "amount": show_money(topup.amount, topup.currency),
        "new_balance": show_money(user.balance if after is None else after, topup.currency),
        "link": f"{base_url(store)}/account/balance"})


def send_replacement_email(request_id: str) -> str | None:
    """Tell the buyer what became of their replacement request (the new item, or why not)."""
    try:
        request = replacements.get_request(request_id)
        order = orders.get_order(request.order_id, with_lines=False)
    except NotFound:
        return None
    item = orders.delivered_item(request.replacement_item_id) if request.replacement_item_id else None
    return send_email(to=order.email, template="replacement", context={
        "request": request, "order": order, "item": item, "link": orders.order_url(order)})
