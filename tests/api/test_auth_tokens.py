"""API tokens on flask-jwt-extended: what its loaders refuse beyond tests/api/test_auth.py, and
that no hand-written JWT encoding or decoding is left in the project's own code."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def code_of(response) -> str:
    return response.get_json()["error"]["code"]


def me(client, token, **kwargs):
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}, **kwargs)


def login(client, email="tok@example.com", password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password}).get_json()


def test_tokens_carry_our_claims_and_a_login_is_fresh_but_a_refresh_is_not(client, store, make):
    user = make.user(store, username="tok", email="tok@example.com")
    tokens = login(client)
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    refresh = jwt.decode(tokens["refresh_token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "HS256"
    assert {access[k] for k in ("sub", "tenant", "role", "typ", "ver")} == {user.id, store.id, "USER", "access", 0}
    assert access["fresh"] is True and access["exp"] > access["iat"] and access["jti"]
    assert refresh["typ"] == "refresh" and refresh["type"] == "refresh" and refresh["sub"] == user.id
    rotated = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).get_json()
    assert jwt.decode(rotated["access_token"], options={"verify_signature": False})["fresh"] is False
    assert me(client, rotated["access_token"]).status_code == 200


def test_a_refresh_token_is_no_access_token(client, store, make):
    make.user(store, username="tok", email="tok@example.com")
    tokens = login(client)
    response = me(client, tokens["refresh_token"])
    assert response.status_code == 401 and code_of(response) == "token_invalid"
    guest = client.get("/api/public/guest/token").get_json()["token"]
    as_refresh = client.post("/api/auth/refresh", json={"refresh_token": guest})
    assert as_refresh.status_code == 401 and code_of(as_refresh) == "token_invalid"


@pytest.mark.parametrize("change", [
    {"exp": None},            # no expiry: refused, not eternal
    {"typ": "admin"},         # a type of no one's
    {"typ": "refresh"},       # typ and the library's type disagree
    {"jti": None},
])
def test_a_well_signed_token_without_our_claims_is_refused(client, store, make, app, change):
    user = make.user(store)
    now = datetime.now(timezone.utc)
    claims = {"sub": user.id, "tenant": store.id, "role": "USER", "ver": 0, "typ": "access", "type": "access",
              "jti": "y" * 32, "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
    claims = {k: v for k, v in {**claims, **change}.items() if v is not None}
    token = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    response = me(client, token)
    assert response.status_code == 401 and code_of(response) == "token_invalid"
    good = jwt.encode({**claims, **{k: v for k, v in {"exp": int((now + timedelta(minutes=5)).timestamp()),
                                                     "typ": "access", "jti": "z" * 32}.items()}},
                      app.config["JWT_SECRET_KEY"], algorithm="HS256")
    assert me(client, good).status_code == 200


def test_an_rs256_token_is_refused(client, store, make):
    from cryptography.hazmat.primitives.asymmetric import rsa

    user = make.user(store)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(timezone.utc)
    token = jwt.encode({"sub": user.id, "tenant": store.id, "role": "USER", "ver": 0, "typ": "access",
                        "jti": "r" * 32, "iat": now, "exp": now + timedelta(minutes=5)}, key, algorithm="RS256")
    response = me(client, token)
    assert response.status_code == 401 and code_of(response) == "token_invalid"


def test_a_password_reset_ends_older_refresh_tokens_too(client, store, make, mail_outbox):
    make.user(store, username="tok", email="tok@example.com")
    tokens = login(client)
    client.post("/api/auth/forgot-password", json={"email": "tok@example.com"})
    secret = re.search(r"/reset-password/([A-Za-z0-9_\-]+)", mail_outbox[0].body).group(1)
    assert client.post("/api/auth/reset-password", json={"token": secret, "password": "brand-new-pass"}).status_code == 200
    for response in (me(client, tokens["access_token"]),
                     client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})):
        assert response.status_code == 401 and code_of(response) == "token_revoked"


def test_a_guest_token_of_one_store_is_refused_by_another(client, store, other_store):
    guest = client.get("/api/public/guest/token").get_json()["token"]
    assert client.get("/api/cart", headers={"Authorization": f"Bearer {guest}"}).status_code == 200
    other = client.get("/api/cart", headers={"Authorization": f"Bearer {guest}"}, base_url="http://other.example.com")
    assert other.status_code == 401 and code_of(other) == "token_wrong_store"


def test_no_hand_written_jwt_code_is_left():
    own = [path for folder in ("api", "services", "storefront", "admin", "jobs", "integrations", "models")
           for path in (ROOT / folder).rglob("*.py")] + [ROOT / name for name in ("app.py", "web.py", "config.py",
                                                                                   "extensions.py", "cli.py")]
    offenders = [str(path.relative_to(ROOT)) for path in own
                 if re.search(r"^\s*import jwt\b|\bjwt\.(encode|decode)\(", path.read_text(), re.MULTILINE)]
    assert offenders == []


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_read_in_any_case(client, store, make, scheme):
    user = make.user(store)
    token = make.headers(user, store)["Authorization"].split(" ", 1)[1]
    response = client.get("/api/auth/me", headers={"Authorization": f"{scheme} {token}"})
    assert response.status_code == 200 and response.get_json()["email"] == user.email
    assert client.get("/api/auth/me", headers={"Authorization": f"Basic {token}"}).status_code == 401
