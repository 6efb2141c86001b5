"""The admins' operational emails (low stock, alerts) on a real RQ worker and a real SMTP server:
one admin address the mail server refuses does not cost the others their email, nor send it twice."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from extensions import db
from models import Role, Variant
from services import auth as auth_service
from services import products as product_service
from tenancy import tenant_scope
from tests.jobs.test_jobs import SMTPCollector, redis_app, run_worker, serving_smtp  # noqa: F401 - redis_app fixture
from transactions import enqueue_after_commit, queue


class RefusingCollector(SMTPCollector):
    """Takes every message, except for mailboxes named ``bounce@...`` (550, as a relay does)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        if address.startswith("bounce@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp_server():
    with serving_smtp(RefusingCollector()) as served:
        yield served


def test_a_refused_admin_address_costs_the_other_admins_nothing(redis_app, smtp_server):
    from services import stores as store_service

    application, config = redis_app
    _, collector = smtp_server
    with application.app_context():
        store = store_service.create_store("jobs", "Jobs Store", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            for email in ("first@example.com", "bounce@example.com", "last@example.com"):
                auth_service.create_user(username=email.split("@")[0], email=email, password="admin-pass-123",
                                         role=Role.ADMIN)
            product = product_service.create_product({"title": "Key", "variants": [{"title": "x", "price": 100}]})
            variant_id = db.session.scalar(select(Variant.id).where(Variant.product_id == product.id))
            db.session.commit()
        with application.test_request_context(), tenant_scope(store):
            enqueue_after_commit("jobs.emails.send_low_stock_email", variant_id, 2, queue="emails")
            db.session.commit()

    result = run_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    received = sorted(address for envelope in collector.messages for address in envelope.rcpt_tos)
    # each reachable admin once; the job is done (not waiting to send the first admin's copy again)
    assert received == ["first@example.com", "last@example.com"], result.stderr[-3000:]
    subjects = {str(message_from_bytes(envelope.content, policy=default)["Subject"]) for envelope in collector.messages}
    assert subjects == {"Low stock: Key – x"}
    emails = queue(application, "emails")
    assert emails.count == 0 and emails.scheduled_job_registry.count == 0 and emails.failed_job_registry.count == 0
