"""Which store a request is for, and where emailed links point (issue 8, A and C and E).

Links in emails are built on the store's own public address, never on the Host header; in
production a Host that names no store and is not the platform's own gets nothing. The store of
a token on a bare host does not depend on what an earlier request cached; a failed request
leaves nothing shared behind."""
from __future__ import annotations

import re

import pytest

from extensions import db
from models import Store
from tenancy import tenant_scope

from .conftest import error_code

PASSWORD = "s3cret-enough"


def _reset_link(outbox) -> str:
    return re.search(r"(https?://[^\s/]+)/reset-password/", outbox[-1].body).group(1)


def test_a_reset_link_names_the_stores_own_address_whatever_host_asked(app, client, store, other_store, make,
                                                                       mail_outbox):
    make.user(store, email="pat@example.com")
    make.user(other_store, email="kim@example.com")
    sent = client.post("/api/auth/forgot-password", json={"email": "pat@example.com"},
                       headers={"Host": "evil.example"})
    assert sent.status_code == 202 and len(mail_outbox) == 1
    assert _reset_link(mail_outbox) == app.config["PUBLIC_BASE_URL"] and "evil" not in mail_outbox[0].body
    # a store with its own domain: its links name that domain
    client.post("/api/auth/forgot-password", json={"email": "kim@example.com"}, base_url="http://other.example.com")
    assert _reset_link(mail_outbox).endswith("://other.example.com")


@pytest.mark.parametrize("path,body", [("/api/auth/forgot-password", {"json": {"email": "pat@example.com"}}),
                                       ("/api/public/config", None)])
def test_in_production_an_unknown_host_gets_nothing(app, client, store, make, mail_outbox, monkeypatch, path, body):
    make.user(store, email="pat@example.com")
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    send = client.post if body else client.get
    refused = send(path, headers={"Host": "evil.example"}, **(body or {}))
    assert refused.status_code == 404 and error_code(refused) == "unknown_host" and mail_outbox == []
    page = client.get("/forgot-password", headers={"Host": "evil.example"})
    assert page.status_code == 404 and "set-cookie" not in {k.lower() for k in page.headers.keys()}
    served = send(path, headers={"Host": "shop.example.com"}, **(body or {}))
    assert served.status_code in (200, 202)
    assert client.get("/api/health", headers={"Host": "evil.example"}).status_code == 200  # storeless


def test_the_store_of_a_token_on_a_bare_host_is_the_tokens_every_time(app, client, store, other_store, make):
    """Alternating anonymous and token requests with the read caches on (issue 8, E)."""
    make.user(other_store, username="kim", email="kim@example.com", password=PASSWORD)
    login = client.post("/api/auth/login", json={"email": "kim@example.com", "password": PASSWORD},
                        base_url="http://other.example.com")
    token = login.get_json()["access_token"]
    app.config["STORE_CACHE_SECONDS"] = 5
    app.extensions.pop("read_caches", None)
    try:
        for _ in range(5):
            assert client.get("/api/public/config").get_json()["store_name"] == "Main Store"
            me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.get_json()["email"] == "kim@example.com"
    finally:
        app.config["STORE_CACHE_SECONDS"] = 0
        app.extensions.pop("read_caches", None)


def test_a_failed_request_leaves_no_broken_rows_in_the_read_caches(app, client, store, make, monkeypatch):
    """Issue 8, C: the caches hold plain values, so a request that fails after filling them (its
    rollback expires its rows) does not break the next requests' pages."""
    from services import categories as category_service
    from services import storefront as shop_service

    with app.app_context(), tenant_scope(store):
        category_service.create_category(title="Gift cards")
        db.session.commit()
    app.config["STORE_CACHE_SECONDS"] = 5
    app.extensions.pop("read_caches", None)
    real_catalog_page = shop_service.catalog_page

    def fail_after_reading(*args, **kwargs):
        real_catalog_page(*args, **kwargs)
        raise RuntimeError("the database went away mid-request")

    try:
        monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
        monkeypatch.setattr(shop_service, "catalog_page", fail_after_reading)
        assert client.get("/search?q=x").status_code == 500
        monkeypatch.setattr(shop_service, "catalog_page", real_catalog_page)
        for path in ("/search?q=gift", "/c/gift-cards", "/"):
            page = client.get(path)
            assert page.status_code == 200 and "Gift cards" in page.data.decode(), path
        with app.app_context():
            cached = app.extensions["read_caches"]["shop_categories"].entries
            assert cached and all(not isinstance(v, Store) for _, snaps in cached.values() for v in snaps)
    finally:
        app.config["STORE_CACHE_SECONDS"] = 0
        app.extensions.pop("read_caches", None)
