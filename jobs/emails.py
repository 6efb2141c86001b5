"""Email jobs: HTML + text templates from templates/emails/, sent through Flask-Mailman."""
from __future__ import annotations

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives

from tenancy import current_store_id


def _store_context() -> dict:
    from extensions import db
    from models import Store
    from services.stores import settings_of

    store_id = current_store_id()
    store = db.session.get(Store, store_id) if store_id else None
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
