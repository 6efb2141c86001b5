"""The unit of work (transactions.py): a request commits once at its boundary, any exception
rolls it back, and jobs ride on the transaction: a savepoint's release does not send them, its
rollback drops them, only the real commit dispatches them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import transactions
from extensions import db
from models import Category
from services import categories as category_service
from services.errors import Invalid
from tenancy import tenant_scope
from transactions import enqueue_after_commit

RESET = {"username": "x", "reset_link": "http://l/1", "minutes": 5}


def _titles() -> list[str]:
    return sorted(db.session.scalars(select(Category.title)))


def test_the_request_boundary_commits_a_normal_return_and_rolls_back_any_exception(app, store):
    with app.test_request_context(), tenant_scope(store):
        with pytest.raises(RuntimeError), transactions.request_transaction():
            category_service.create_category(title="Undone")
            raise RuntimeError("the view failed after writing")
        with transactions.request_transaction():
            category_service.create_category(title="Kept")
    with app.app_context(), tenant_scope(store):  # a new session sees what was committed
        assert _titles() == ["Kept"]


def test_jobs_wait_for_the_real_commit_and_die_with_their_savepoint(app, store, mail_outbox):
    with app.test_request_context(), tenant_scope(store):
        with pytest.raises(Invalid), db.session.begin_nested():
            enqueue_after_commit("jobs.emails.send_email", to="undone@example.com", template="password_reset",
                                 queue="emails", context=RESET)
            raise Invalid("the service refused after queueing")
        with db.session.begin_nested():
            enqueue_after_commit("jobs.emails.send_email", to="kept@example.com", template="password_reset",
                                 queue="emails", context=RESET)
        assert mail_outbox == []  # a released savepoint is not a commit
        db.session.commit()
    assert [m.to for m in mail_outbox] == [["kept@example.com"]]


def test_jobs_are_named_by_their_dotted_path(app, store):
    with app.test_request_context(), tenant_scope(store), pytest.raises(TypeError):
        enqueue_after_commit(print, queue="emails")


def test_a_refused_admin_form_keeps_nothing_of_the_refused_change(app, store, make):
    """Pages: a DomainError inside web.form_errors undoes the service call (a savepoint), shows the
    message once and answers 422; the rest of the request still commits."""
    from tests.web.test_admin_orders_pages import as_role, page_token

    admin, _ = as_role(app, make, store, "ADMIN")
    with app.app_context(), tenant_scope(store):
        category_service.create_category(title="Gift cards", slug="gift-cards")
        db.session.commit()
    page = admin.get("/admin/categories")
    refused = admin.post("/admin/categories", data={"csrf_token": page_token(page), "title": "Other",
                                                     "slug": "gift-cards", "hex_code": "#112233", "sort_order": "0",
                                                     "parent_id": ""})
    html = refused.data.decode()
    assert refused.status_code == 422 and html.count("already used") == 1
    with app.app_context(), tenant_scope(store):
        assert _titles() == ["Gift cards"]


def test_a_request_whose_commit_fails_keeps_no_sign_in_and_no_flash(app, store, make, client, monkeypatch):
    """The browser session is part of the unit of work: a sign-in whose commit fails leaves the
    browser signed out, with no "Welcome back" waiting on the next page."""
    from tests.web.test_admin_orders_pages import page_token

    user = make.user(store, username="late", email="late@example.com", password="a-long-password-1")
    page = client.get("/login")

    def refuse():
        raise RuntimeError("the database went away at commit")

    monkeypatch.setattr(db.session, "commit", refuse)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer 500, as in production
    failed = client.post("/login", data={"csrf_token": page_token(page), "login": user.email,
                                         "password": "a-long-password-1"})
    monkeypatch.undo()
    assert failed.status_code == 500
    account = client.get("/account")
    assert account.status_code == 302 and "/login" in account.headers["Location"]
    assert "Welcome back" not in client.get("/login").data.decode()
