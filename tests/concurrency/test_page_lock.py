"""A page edit locks its store's row (two edits of the footer links write one after the other:
``services.pages.lock_store``), but only ``FOR NO KEY UPDATE``. A checkout of the same store,
whose new order refers to the store (its foreign key check takes ``FOR KEY SHARE`` on the store's
row), goes through while the edit's transaction is open; under ``FOR UPDATE`` every checkout of
the store would wait for the editor. PostgreSQL only: on SQLite every writer holds the whole
database (``BEGIN IMMEDIATE``), by design."""
from __future__ import annotations

import pytest

from extensions import db
from services import auth as auth_service
from services import cart as cart_service
from services import pages as page_service
from tenancy import tenant_scope

from .conftest import call
from .test_checkout_races import _product, _user


def test_a_checkout_goes_through_while_a_page_edit_of_its_store_is_open(live):
    base, app, store_id = live
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("on SQLite every writer holds the whole database (BEGIN IMMEDIATE)")
    with app.app_context(), tenant_scope(store_id):
        variant = _product(1)
        user = _user(0, 10_000)
        cart_service.add_item(cart_service.get_cart(user=user), variant.id, 1)
        token = auth_service.issue_tokens(user)["access_token"]
        db.session.commit()

    with app.app_context(), tenant_scope(store_id):
        page_service.create_page({"title": "About us", "body": "Hi"})  # its transaction stays open
        try:
            status, body = call(base, "POST", "/api/orders/checkout", token=token,
                                body={"payment_method": "BALANCE"}, timeout=5)
        finally:
            db.session.rollback()  # the edit ends (a checkout still waiting would go on now)
    assert status == 201, body
    assert body["status"] == "COMPLETED" and len(body["deliverables"]) == 1
