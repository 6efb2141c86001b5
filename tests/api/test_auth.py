"""Authentication API: tokens, refresh, logout, reset, blacklist, rate limits and bad input."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlalchemy import select

from extensions import db
from models import Blacklist, PasswordResetToken, RevokedToken, User
from tenancy import tenant_scope
from tests.factories import PASSWORD


def register(client, username="alice", email="alice@example.com", password="s3cret-enough", **extra):
    return client.post("/api/auth/register", json={"username": username, "email": email, "password": password, **extra})


def error_code(response) -> str:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"]
    return body["error"]["code"]


def test_register_returns_tokens_and_user_and_stores_a_hashed_password(client, store, app):
    response = register(client)
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["username"] == "alice" and body["user"]["role"] == "USER"
    assert body["user"]["balance"] == 0 and body["user"]["currency"] == "EUR"
    assert body["access_token"] and body["refresh_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["email"] == "alice@example.com"
    with app.app_context(), tenant_scope(store):
        user = db.session.scalar(select(User).where(User.username == "alice"))
        assert user.store_id == store.id
        assert user.password_hash.startswith("$argon2") and "s3cret" not in user.password_hash


def test_register_refuses_duplicates_weak_passwords_and_bad_emails(client, store):
    assert register(client).status_code == 201
    again = register(client, username="alice2")
    assert again.status_code == 409 and error_code(again) == "email_taken"
    same_name = register(client, username="ALICE", email="other@example.com")
    assert same_name.status_code == 409 and error_code(same_name) == "username_taken"
    weak = register(client, username="bob", email="bob@example.com", password="short")
    assert weak.status_code == 422
    bad_email = register(client, username="carol", email="not-an-email")
    assert bad_email.status_code == 422 and "email" in bad_email.get_json()["error"]["details"]


@pytest.mark.parametrize("field,value", [("role", "ADMIN"), ("balance", 1000), ("store_id", "x"), ("discount", 50)])
def test_register_refuses_privileged_fields_and_creates_nothing(client, store, app, field, value):
    response = register(client, **{field: value})
    assert response.status_code == 422 and error_code(response) == "validation_error"
    assert field in response.get_json()["error"]["details"]["fields"]
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(User).where(User.username == "alice")) is None


@pytest.mark.parametrize("body,content_type,status,code", [
    ('{"username": ', "application/json", 400, "malformed_json"),
    ("username=alice", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("hello", "text/plain", 415, "unsupported_media_type"),
    ("[1, 2]", "application/json", 422, "validation_error"),
    ('{"username": 5, "email": [], "password": {}}', "application/json", 422, "validation_error"),
    ('{"username": "' + "a" * 5000 + '", "email": "x@example.com", "password": "s3cret-enough"}', "application/json", 422, "validation_error"),
])
def test_bad_bodies_get_the_error_envelope(client, store, body, content_type, status, code):
    response = client.post("/api/auth/register", data=body, content_type=content_type)
    assert response.status_code == status
    assert error_code(response) == code


def test_unknown_route_and_wrong_method_use_the_envelope(client, store):
    missing = client.get("/api/does-not-exist")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    wrong = client.delete("/api/auth/login")
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"


def test_login_by_email_or_username_and_wrong_password(client, store, make):
    user = make.user(store, username="dave", email="dave@example.com")
    ok = client.post("/api/auth/login", json={"email": "DAVE@example.com", "password": PASSWORD})
    assert ok.status_code == 200 and ok.get_json()["user"]["id"] == user.id
    by_name = client.post("/api/auth/login", json={"username": "dave", "password": PASSWORD})
    assert by_name.status_code == 200
    bad = client.post("/api/auth/login", json={"email": "dave@example.com", "password": "wrong-password"})
    assert bad.status_code == 401 and error_code(bad) == "invalid_credentials"
    nobody = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"})
    assert nobody.status_code == 401 and error_code(nobody) == "invalid_credentials"


def test_login_is_rate_limited(client, store, make):
    make.user(store, username="erin", email="erin@example.com")
    statuses = [client.post("/api/auth/login", json={"email": "erin@example.com", "password": "nope-nope"}).status_code
                for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    limited = client.post("/api/auth/login", json={"email": "erin@example.com", "password": PASSWORD})
    assert limited.status_code == 429 and error_code(limited) == "rate_limited"


def test_refresh_rotates_and_a_spent_refresh_token_is_refused(client, store):
    tokens = register(client).get_json()
    first = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    assert first.get_json()["access_token"] != tokens["access_token"]
    again = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401 and error_code(again) == "token_revoked"
    as_bearer = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {first.get_json()['refresh_token']}"})
    assert as_bearer.status_code == 200
    no_token = client.post("/api/auth/refresh")
    assert no_token.status_code == 401
    access_as_refresh = client.post("/api/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert access_as_refresh.status_code == 401


def test_logout_revokes_access_and_refresh_tokens_server_side(client, store, app):
    tokens = register(client).get_json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = client.post("/api/auth/logout", headers=auth, json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200
    me = client.get("/api/auth/me", headers=auth)
    assert me.status_code == 401 and error_code(me) == "token_revoked"
    refresh = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    with app.app_context():
        assert db.session.scalar(select(RevokedToken).limit(1)) is not None


def test_logout_after_the_access_token_expired_still_revokes_the_refresh_token(client, store, make):
    """The ordinary logout of a client that was away longer than the access token's 15 minutes:
    the expired Bearer token must not stop the 30-day refresh token from being revoked."""
    user = make.user(store)
    tokens = make.expired_tokens(user, store)
    expired = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert error_code(client.get("/api/auth/me", headers=expired)) == "token_expired"
    out = client.post("/api/auth/logout", headers=expired, json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200 and out.get_json() == {"message": "Signed out"}
    refresh = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401 and error_code(refresh) == "token_revoked"
    # signing out again with the same (now dead) tokens is still a success: nothing is left alive
    again = client.post("/api/auth/logout", headers=expired, json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200


def test_logout_revokes_a_refresh_token_sent_alone_or_as_the_bearer_token(client, store, make):
    user = make.user(store)
    in_body, as_bearer = make.tokens(user, store), make.tokens(user, store)
    assert client.post("/api/auth/logout", json={"refresh_token": in_body["refresh_token"]}).status_code == 200
    bearer = {"Authorization": f"Bearer {as_bearer['refresh_token']}"}
    assert client.post("/api/auth/logout", headers=bearer).status_code == 200
    for tokens in (in_body, as_bearer):
        refresh = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401 and error_code(refresh) == "token_revoked"
    # the access tokens of those pairs were not named, so they still work
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {in_body['access_token']}"}).status_code == 200


def test_logout_with_a_refresh_token_that_is_not_one_is_a_401_and_revokes_nothing(client, store, other_store, make):
    user = make.user(store)
    tokens = make.tokens(user, store)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    foreign = make.tokens(make.user(other_store, username="elsewhere"), other_store)["refresh_token"]
    for bad, code in (("garbage", "token_invalid"), (tokens["access_token"], "token_invalid"),
                      (foreign, "token_wrong_store")):
        out = client.post("/api/auth/logout", headers=auth, json={"refresh_token": bad})
        assert out.status_code == 401 and error_code(out) == code, bad
    assert client.get("/api/auth/me", headers=auth).status_code == 200
    assert client.post("/api/auth/refresh", json={"refresh_token": foreign},
                       base_url="http://other.example.com").status_code == 200


def test_forged_expired_and_alg_none_tokens_are_refused(client, store, make, app):
    user = make.user(store)
    now = datetime.now(timezone.utc)
    claims = {"sub": user.id, "tenant": store.id, "role": "ADMIN", "ver": 0, "typ": "access",
              "jti": "x" * 32, "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
    none_token = jwt.encode(claims, key=None, algorithm="none")
    forged = jwt.encode(claims, "some-other-secret-that-is-long-enough", algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int((now - timedelta(minutes=1)).timestamp())},
                         app.config["JWT_SECRET_KEY"], algorithm="HS256")
    for token, code in ((none_token, "token_invalid"), (forged, "token_invalid"), (expired, "token_expired"),
                        ("garbage", "token_invalid")):
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and error_code(response) == code
    basic = client.get("/api/auth/me", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_a_token_of_one_store_is_refused_by_another(client, store, other_store, make):
    user = make.user(store)
    headers = make.headers(user, store)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    other = client.get("/api/auth/me", headers=headers, base_url="http://other.example.com")
    assert other.status_code == 401 and error_code(other) == "token_wrong_store"


def test_the_token_tenant_picks_the_store_when_the_host_does_not(client, store, other_store, make):
    user = make.user(other_store, username="otheruser")
    response = client.get("/api/auth/me", headers=make.headers(user, other_store))
    assert response.status_code == 200 and response.get_json()["store_id"] == other_store.id


def test_guest_tokens_identify_guests_but_are_not_sign_ins(client, store):
    guest = client.get("/api/public/guest/token")
    assert guest.status_code == 200
    body = guest.get_json()
    assert body["role"] == "GUEST" and body["guest_id"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 401 and error_code(me) == "authentication_required"


def test_sysadmin_signs_in_at_any_store_with_a_storeless_token(client, store, other_store, make):
    make.user(None, role="SYSADMIN", username="root", email="root@platform.example")
    for base in ("http://localhost", "http://other.example.com"):
        response = client.post("/api/auth/login", json={"email": "root@platform.example", "password": PASSWORD},
                               base_url=base)
        assert response.status_code == 200
        body = response.get_json()
        assert body["user"]["role"] == "SYSADMIN" and body["user"]["store_id"] is None
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}, base_url=base)
        assert me.status_code == 200


def test_blacklisted_ip_email_and_username_get_a_clear_403(client, store, make, app):
    make.user(store, username="mallory", email="mallory@example.com")
    with make.scope(store) as session:
        session.add_all([Blacklist(kind="email", value="mallory@example.com", reason="chargebacks"),
                         Blacklist(kind="username", value="troll"),
                         Blacklist(kind="ip", value="10.66.66.66")])
    login = client.post("/api/auth/login", json={"email": "mallory@example.com", "password": PASSWORD})
    assert login.status_code == 403 and error_code(login) == "blacklisted"
    reg = register(client, username="troll", email="troll@example.com")
    assert reg.status_code == 403 and error_code(reg) == "blacklisted"
    from_ip = register(client, username="fresh", email="fresh@example.com", environ_base={"REMOTE_ADDR": "10.66.66.66"}) \
        if False else client.post("/api/auth/register", json={"username": "fresh", "email": "fresh@example.com",
                                                               "password": "s3cret-enough"},
                                  environ_base={"REMOTE_ADDR": "10.66.66.66"})
    assert from_ip.status_code == 403 and error_code(from_ip) == "blacklisted"
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(User).where(User.username.in_(["troll", "fresh"]))) is None


def test_forgot_and_reset_password_with_a_single_use_token(client, store, make, mail_outbox, app):
    user = make.user(store, username="frank", email="frank@example.com")
    old_tokens = make.headers(user, store)
    response = client.post("/api/auth/forgot-password", json={"email": "frank@example.com"})
    assert response.status_code == 202
    assert len(mail_outbox) == 1
    message = mail_outbox[0]
    assert message.to == ["frank@example.com"] and "Reset your Main Store password" == message.subject
    html = message.alternatives[0][0]
    token = re.search(r"/reset-password/([A-Za-z0-9_\-]+)", message.body).group(1)
    assert token in html
    with app.app_context(), tenant_scope(store):
        stored = db.session.scalar(select(PasswordResetToken))
        assert stored.token_hash != token  # only a hash is kept
    reset = client.post("/api/auth/reset-password", json={"token": token, "password": "brand-new-pass"})
    assert reset.status_code == 200
    reuse = client.post("/api/auth/reset-password", json={"token": token, "password": "another-pass-1"})
    assert reuse.status_code == 400 and error_code(reuse) == "reset_token_invalid"
    assert client.post("/api/auth/login", json={"email": "frank@example.com", "password": "brand-new-pass"}).status_code == 200
    assert client.post("/api/auth/login", json={"email": "frank@example.com", "password": PASSWORD}).status_code == 401
    # tokens issued before the reset no longer work
    assert client.get("/api/auth/me", headers=old_tokens).status_code == 401


def test_forgot_password_does_not_reveal_accounts_and_expired_tokens_fail(client, store, make, mail_outbox, app):
    unknown = client.post("/api/auth/forgot-password", json={"email": "ghost@example.com"})
    assert unknown.status_code == 202 and mail_outbox == []
    user = make.user(store, email="gina@example.com")
    client.post("/api/auth/forgot-password", json={"email": "gina@example.com"})
    token = re.search(r"/reset-password/([A-Za-z0-9_\-]+)", mail_outbox[0].body).group(1)
    with make.scope(store) as session:
        record = session.scalar(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
        record.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    expired = client.post("/api/auth/reset-password", json={"token": token, "password": "brand-new-pass"})
    assert expired.status_code == 400 and error_code(expired) == "reset_token_invalid"


def test_suspended_store_answers_503_and_unknown_subdomain_404(client, store, make, app):
    make.set_status(store, "suspended")
    response = client.get("/api/public/config")
    assert response.status_code == 503 and error_code(response) == "store_suspended"
    assert client.get("/api/health").status_code == 200
    app.config["PLATFORM_DOMAIN"] = "shops.test"
    try:
        missing = client.get("/api/public/config", base_url="http://nope.shops.test")
        assert missing.status_code == 404 and error_code(missing) == "store_not_found"
    finally:
        app.config["PLATFORM_DOMAIN"] = None


def test_subdomain_of_the_platform_domain_selects_the_store(client, store, other_store, app):
    app.config["PLATFORM_DOMAIN"] = "shops.test"
    try:
        response = client.get("/api/public/config", base_url="http://other.shops.test")
        assert response.status_code == 200 and response.get_json()["store_name"] == "Other Store"
        assert client.get("/api/public/config").get_json()["store_name"] == "Main Store"
    finally:
        app.config["PLATFORM_DOMAIN"] = None


def test_password_reset_requests_are_rate_limited(client, store):
    statuses = [client.post("/api/auth/forgot-password", json={"email": "someone@example.com"}).status_code
                for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    reset = [client.post("/api/auth/reset-password", json={"token": "x" * 20, "password": "whatever-pass"}).status_code
             for _ in range(4)]
    assert reset[-1] == 429


def test_register_tells_every_field_problem_in_one_answer(client, store, make):
    make.user(store, username="taken", email="taken@example.com")
    both = register(client, username="TAKEN", email="taken@example.com")
    assert both.status_code == 409 and error_code(both) == "email_taken"
    assert set(both.get_json()["error"]["details"]) == {"email", "username"}
    bad = register(client, username="no spaces", email="not-an-email", password="short")
    assert bad.status_code == 422 and error_code(bad) == "validation_error"
    assert set(bad.get_json()["error"]["details"]) == {"username", "email", "password"}
    mixed = register(client, username="no spaces", email="taken@example.com")
    assert mixed.status_code == 422 and set(mixed.get_json()["error"]["details"]) == {"username", "email"}
    assert register(client, username="fresh", email="fresh@example.com").status_code == 201


def test_a_suspended_stores_503_says_when_to_retry(client, store, make):
    make.set_status(store, "suspended")
    for url in ("/api/public/config", "/api/cart", "/api/auth/login"):
        response = client.get(url) if url != "/api/auth/login" else client.post(url, json={"login": "x", "password": "y"})
        assert response.status_code == 503 and error_code(response) == "store_suspended", url
        assert response.headers["Retry-After"] == "3600", url
