"""Email jobs: HTML + text templates from templates/emails/, sent through Flask-Mailman.

Services queue them by name, after commit:
``enqueue_after_commit("jobs.emails.send_order_email", order.id, queue="emails")``.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives

from services import auth, orders
from services import variants as variant_service
from services.errors import NotFound
from services.stores import get_store, settings_of
from tenancy import current_store_id


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
    subject = str(getattr(text_tpl.make_module(ctx), "subject", "")).strip() or ctx["store_name"]
    text = render_template(f"emails/{template}.txt", **ctx)
    html = render_template(f"emails/{template}.html", **ctx, subject=subject)
    return subject, text, html


def send_email(*, to: str, template: str, context: dict | None = None) -> str:
    subject, text, html = render_email(template, context or {})
    ctx = _store_context()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    if ctx["store"] is not None and "<" in sender:
        sender = f"{ctx['store_name']} <{sender.split('<', 1)[1]}"
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=sender, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
    return subject


def send_order_email(order_id: str, guest_token: str | None = None) -> str | None:
    """The confirmation (paid: with the items, one per line) or the 'waiting for payment' email."""
    try:
        order = orders.get_order(order_id)
    except NotFound:
        return None
    paid = order.payment_status == "PAID"
    return send_email(to=order.email, template="order_paid" if paid else "order_pending", context={
        "order": order, "lines": order.lines, "items": orders.delivered_codes(order) if paid else {},
        "link": orders.order_url(order, guest_token)})


def send_low_stock_email(variant_id: str, count: int) -> int:
    """Tell the store's admins that a subcategory fell under its low-stock threshold."""
    try:
        variant = variant_service.get_variant(variant_id)
    except NotFound:
        return 0
    admins = auth.active_admins()
    for admin in admins:
        send_email(to=admin.email, template="low_stock",
                   context={"product": variant.product, "variant": variant, "count": count})
    return len(admins)
