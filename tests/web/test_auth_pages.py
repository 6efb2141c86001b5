"""Auth and account pages: forms with CSRF, error messages, sessions, role guards, settings."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import User
from tenancy import tenant_scope
from tests.factories import PASSWORD


def csrf(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        rb'name="csrf_token" value="([^"]+)"', html)
    return match.group(1).decode()


def login(client, identifier, password=PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf(page.data), "login": identifier, "password": password})


def test_register_page_creates_the_account_and_signs_in(client, store, app):
    page = client.get("/register")
    assert page.status_code == 200 and b"Create an account" in page.data
    response = client.post("/register", data={"csrf_token": csrf(page.data), "username": "pat", "email": "pat@example.com",
                                              "password": "a-good-password", "confirm": "a-good-password"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    account = client.get("/account")
    assert account.status_code == 200 and b"pat@example.com" in account.data
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(User).where(User.username == "pat")).store_id == store.id


def test_register_form_shows_errors_and_keeps_input(client, store, make):
    make.user(store, username="taken", email="taken@example.com")
    page = client.get("/register")
    response = client.post("/register", data={"csrf_token": csrf(page.data), "username": "newbie", "email": "taken@example.com",
                                              "password": "a-good-password", "confirm": "a-good-password"})
    assert response.status_code == 422
    assert b"already registered" in response.data and b'value="newbie"' in response.data
    mismatch = client.post("/register", data={"csrf_token": csrf(page.data), "username": "newbie", "email": "n@example.com",
                                              "password": "a-good-password", "confirm": "different-one"})
    assert mismatch.status_code == 422 and b"The passwords differ" in mismatch.data


def test_forms_without_csrf_token_are_refused(client, store):
    response = client.post("/login", data={"login": "x", "password": "y"})
    assert response.status_code == 400 and b"form expired" in response.data


def test_login_logout_and_wrong_password_message(client, store, make):
    make.user(store, username="quinn", email="quinn@example.com")
    wrong = login(client, "quinn@example.com", "not-the-password")
    assert wrong.status_code == 422 and b"Wrong email/username or password" in wrong.data
    ok = login(client, "quinn")
    assert ok.status_code == 302
    home = client.get("/")
    assert b"quinn" in home.data and b"Sign out" in home.data
    out = client.post("/logout", data={"csrf_token": csrf(home.data)})
    assert out.status_code == 302
    assert client.get("/account").status_code == 302


def test_login_redirects_back_to_next_but_never_offsite(client, store, make):
    make.user(store, username="rita", email="rita@example.com")
    page = client.get("/login?next=/account")
    response = client.post("/login?next=//evil.example/x", data={"csrf_token": csrf(page.data), "login": "rita", "password": PASSWORD})
    assert response.headers["Location"] == "/account"


def test_account_requires_sign_in_and_dashboard_requires_staff(client, store, make):
    anonymous = client.get("/account")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    make.user(store, username="sam", email="sam@example.com")
    login(client, "sam")
    assert client.get("/admin/").status_code == 403
    staff_client = client.application.test_client()
    staff_client.environ_base["REMOTE_ADDR"] = "10.200.0.1"
    make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    login(staff_client, "boss")
    dash = staff_client.get("/admin/")
    assert dash.status_code == 200 and b"Overview" in dash.data


def test_a_session_of_one_store_is_not_valid_in_another(client, store, other_store, make):
    make.user(store, username="tess", email="tess@example.com")
    login(client, "tess")
    assert client.get("/account").status_code == 200
    assert client.get("/account", base_url="http://other.example.com").status_code == 302


def test_forgot_and_reset_pages(app, client, store, make, mail_outbox):
    make.user(store, username="uma", email="uma@example.com")
    page = client.get("/forgot-password", base_url="http://evil.example")
    sent = client.post("/forgot-password", data={"csrf_token": csrf(page.data), "email": "uma@example.com"},
                       base_url="http://evil.example")
    assert sent.status_code == 200 and b"Check your email" in sent.data
    # the link names the store's own address, never the Host the request came with
    assert "evil.example" not in mail_outbox[0].body
    base = re.escape(app.config["PUBLIC_BASE_URL"])
    link = re.search(base + r"(/reset-password/[A-Za-z0-9_\-]+)", mail_outbox[0].body).group(1)
    form = client.get(link)
    done = client.post(link, data={"csrf_token": csrf(form.data), "password": "uma-new-password", "confirm": "uma-new-password"})
    assert done.status_code == 302
    again = client.post(link, data={"csrf_token": csrf(form.data), "password": "uma-new-password", "confirm": "uma-new-password"})
    assert again.status_code == 422 and b"invalid or has expired" in again.data
    assert login(client, "uma", "uma-new-password").status_code == 302


def test_a_used_or_unknown_reset_link_asks_for_a_new_one_before_any_typing(app, client, store, make, mail_outbox):
    """Opening a reset link that no longer works says so at once (with a way to get a new one),
    rather than offering a form that is refused only after the new password is typed twice."""
    make.user(store, username="uma", email="uma@example.com")
    page = client.get("/forgot-password")
    client.post("/forgot-password", data={"csrf_token": csrf(page.data), "email": "uma@example.com"})
    link = re.search(r"(/reset-password/[A-Za-z0-9_\-]+)", mail_outbox[0].body).group(1)
    fresh = client.get(link)
    assert fresh.status_code == 200 and b'name="password"' in fresh.data and b"reset-link-dead" not in fresh.data
    client.post(link, data={"csrf_token": csrf(fresh.data), "password": "uma-new-password", "confirm": "uma-new-password"})
    for dead in (link, "/reset-password/not-a-token"):
        html = client.get(dead)
        assert html.status_code == 400
        assert b"reset-link-dead" in html.data and b'href="/forgot-password"' in html.data
        assert b'name="password"' not in html.data


def test_announcement_bar_links_and_brand_colour_come_from_settings(client, make):
    make.store("branded", "Branded", default=True, branding={"primary_color": "#123456"},
               external_links=[{"name": "Discord", "href": "https://discord.example", "in_nav_bar": True, "in_footer": False},
                               {"name": "Terms", "href": "/terms", "in_nav_bar": False, "in_footer": True}],
               announcement_bar_config={"enabled": True, "text": "Big sale today", "template": 3, "scrolling": True})
    html = client.get("/").data.decode()
    assert "--brand:#123456" in html
    assert "Big sale today" in html and "is-scrolling" in html
    nav = html[html.index('class="site-nav"'):html.index("</nav>")]
    footer = html[html.index('class="site-footer"'):]
    assert "Discord" in nav and "Terms" not in nav
    assert "Terms" in footer and "Discord" not in footer


def test_unsafe_link_schemes_are_refused(make):
    import pytest

    from services.errors import Invalid

    with pytest.raises(Invalid):
        make.store("bad", "Bad", external_links=[{"name": "x", "href": "javascript:alert(1)"}])


def test_suspended_store_shows_a_503_page(client, store, make):
    make.set_status(store, "suspended")
    response = client.get("/")
    assert response.status_code == 503 and b"temporarily unavailable" in response.data


def test_htmx_requests_pass_csrf_with_the_body_header_token(client, store, make):
    make.user(store, username="hxuser", email="hx@example.com")
    login(client, "hxuser")
    page = client.get("/account")
    token = re.search(rb'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page.data).group(1).decode()
    refused = client.post("/logout", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 302
    assert "HX-Request" in client.get("/").headers.get("Vary", "")


def test_a_signed_out_session_cookie_replayed_is_refused(client, store, make, app):
    """Signing out revokes this session on the server (every instance checks it), not only in the
    browser; another session of the same user stays signed in."""
    make.user(store, username="rory", email="rory@example.com")
    assert login(client, "rory").status_code == 302
    stolen = client.get_cookie("session").value
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = client.environ_base["REMOTE_ADDR"]
    assert login(other, "rory").status_code == 302
    home = client.get("/")
    assert client.post("/logout", data={"csrf_token": csrf(home.data)}).status_code == 302
    assert client.get("/account").status_code == 302  # the browser dropped it
    client.set_cookie("session", stolen)  # someone kept a copy
    replayed = client.get("/account")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]
    assert other.get("/account").status_code == 200


def test_register_form_tells_a_taken_email_and_a_taken_username_in_one_answer(app, client, store, make):
    make.user(store, username="taken", email="taken@example.com")
    page = client.get("/register")
    response = client.post("/register", data={"csrf_token": csrf(page.data), "username": "Taken",
                                              "email": "taken@example.com", "password": "a-good-password",
                                              "confirm": "a-good-password"})
    assert response.status_code == 422
    html = response.data.decode()
    # each field's problem is next to its own field
    assert re.search(r'<small class="error" id="email-err">This email is already registered', html)
    assert '<small class="error" id="username-err">That username is taken</small>' in html
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(User).where(User.username == "Taken")) is None


def test_a_suspended_stores_shop_is_a_plain_closed_page_with_retry_after(client, store, make):
    make.set_status(store, "suspended")
    for url in ("/", "/cart", "/register", "/p/anything"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 503 and response.headers["Retry-After"] == "3600", url
        assert "Temporarily closed" in html, url
        for link in ('href="/login"', 'href="/register"', 'id="mini-cart"', "Create account", "Sign in",
                     'role="search"'):
            assert link not in html, (url, link)


def test_a_suspended_stores_shopper_is_told_at_sign_in_instead_of_landing_on_a_503(client, store, make):
    shopper = make.user(store, username="shopper", email="shopper@example.com")
    make.set_status(store, "suspended")
    page = client.get("/login")
    assert page.status_code == 200 and 'data-testid="closed-note"' in page.get_data(as_text=True)
    assert "Create an account" not in page.get_data(as_text=True)
    refused = login(client, shopper.email)
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
    assert "The shop is temporarily closed" in refused.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # not signed in (a signed-in visitor is sent on)
