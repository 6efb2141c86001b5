"""``GET /internal/tls-ask?domain=``: the reverse proxy's on-demand TLS question (docs/deploy.md).
It answers 200 for the platform's own hosts, a subdomain naming a store and a store's custom domain
(a suspended store too, so it can show its 503), 404 otherwise; only to loopback callers or callers
with the token; and from a per-process cache after the first question (at most one query)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from extensions import db
from models import Store
from services.cache import cache_for

ASK = "/internal/tls-ask"


@pytest.fixture
def platform(app, monkeypatch):
    monkeypatch.setitem(app.config, "PLATFORM_DOMAIN", "shops.example")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shops.example")
    cache = cache_for("tls_domains", (Store,), app)
    cache.clear()
    cache.seconds = 60
    yield
    cache.clear()
    cache.seconds = 0


def ask(client, domain: str, **kw):
    return client.get(ASK, query_string={"domain": domain, **kw.pop("query", {})},
                      environ_base={"REMOTE_ADDR": kw.pop("remote", "127.0.0.1")}, **kw)


def test_only_domains_of_live_stores_and_the_platform_get_a_certificate(client, store, other_store, make, platform):
    make.store("paused", "Paused", domain="paused-shop.example", status="suspended")
    make.store("gone", "Gone", domain="gone-shop.example", status="deleted")
    answers = {domain: ask(client, domain).status_code for domain in (
        "shops.example", "www.shops.example", "main.shops.example", "other.shops.example", "OTHER.example.com.",
        "paused-shop.example", "paused.shops.example",
        "gone-shop.example", "gone.shops.example", "nobody.shops.example", "a.b.shops.example", "random.example",
        "evil.example:443", "", "-bad-.example", "x" * 300 + ".example")}
    assert answers == {
        "shops.example": 200, "www.shops.example": 200, "main.shops.example": 200, "other.shops.example": 200,
        "OTHER.example.com.": 200, "paused-shop.example": 200, "paused.shops.example": 200,
        "gone-shop.example": 404, "gone.shops.example": 404, "nobody.shops.example": 404, "a.b.shops.example": 404,
        "random.example": 404, "evil.example:443": 404, "": 404, "-bad-.example": 404, "x" * 300 + ".example": 404}
    # the Host header plays no part (the proxy asks on its own behalf)
    assert ask(client, "other.example.com", headers={"Host": "unknown.example"}).status_code == 200


def test_answers_are_cached_yes_and_no_and_a_new_domain_counts_at_once(app, client, store, make, platform):
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    listener = lambda *a: "FROM stores" in a[2] and statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert ask(client, "later.example").status_code == 404
        assert ask(client, "main.shops.example").status_code == 200
        first = len(statements)
        for _ in range(3):
            assert ask(client, "later.example").status_code == 404
            assert ask(client, "main.shops.example").status_code == 200
        again = len(statements) - first
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert first == 2 and again == 0, statements  # one query per uncached domain, none after
    make.store("later", "Later", domain="later.example")  # a Store flush clears the answers
    assert ask(client, "later.example").status_code == 200


def test_only_loopback_callers_or_the_token_may_ask(app, client, store, other_store, platform, monkeypatch):
    assert ask(client, "other.example.com", remote="203.0.113.9").status_code == 403
    assert ask(client, "other.example.com", remote="::1").status_code == 200
    monkeypatch.setitem(app.config, "TLS_ASK_TOKEN", "proxy-secret")
    assert ask(client, "other.example.com", remote="203.0.113.9", query={"token": "proxy-secret"}).status_code == 200
    assert ask(client, "other.example.com", remote="203.0.113.9",
               headers={"Authorization": "Bearer proxy-secret"}).status_code == 200
    assert ask(client, "other.example.com", remote="203.0.113.9", query={"token": "wrong"}).status_code == 403
    assert ask(client, "other.example.com", remote="127.0.0.1", query={"token": "wrong"}).status_code == 403


def test_behind_a_trusted_proxy_a_forwarded_public_client_is_not_loopback(tmp_path):
    """With TRUSTED_PROXIES=1 (a proxy on this machine) a public request comes from 127.0.0.1 with
    the client's address in X-Forwarded-For: it is that client's, and refused; the proxy's own
    question (no X-Forwarded-For) is a loopback one."""
    from tests.conftest import base_config, make_app

    app = make_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'proxy.db'}", TRUSTED_PROXIES=1,
                               PUBLIC_BASE_URL="https://platform.example"))
    client = app.test_client()
    forwarded = client.get(ASK, query_string={"domain": "x.example"}, headers={"X-Forwarded-For": "203.0.113.9"},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert forwarded.status_code == 403
    asked = client.get(ASK, query_string={"domain": "platform.example"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert asked.status_code == 200  # (the platform's own host: answered without the database)
