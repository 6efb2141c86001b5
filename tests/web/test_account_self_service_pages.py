"""The account's self-service pages (issue 14): Profile, Addresses (htmx), Settings (a password
change signs out the other browsers), Privacy ("Download my data", "Delete my account"). Each uses
the service the /api/customers/me and /api/addresses routes use; CSRF is on."""
from __future__ import annotations

import json

import pytest

from extensions import db
from models import Address, User
from services import account as account_service
from tenancy import tenant_scope
from tests.factories import PASSWORD
from tests.web.test_admin_orders_pages import new_client, page_token
from tests.web.test_auth_pages import login

NEW_PASSWORD = "a-new-pass-42"
ADDRESS = {"name": "Ana Buyer", "line1": "Rua das Flores 12", "city": "Lisboa", "postal_code": "1200-195",
           "country": "PT"}


@pytest.fixture
def ana(make, store):
    return make.user(store, username="ana", email="ana@example.com")


@pytest.fixture
def browser(app, ana):
    client = new_client(app)
    assert login(client, "ana").status_code == 302
    return client


def fresh(app, store, user_id) -> User:
    with app.app_context(), tenant_scope(store):
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.mark.parametrize("url", ["/account/profile", "/account/addresses", "/account/privacy", "/account/data-export"])
def test_signed_out_visitors_go_to_sign_in(client, store, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_tabs_name_every_page(browser):
    html = browser.get("/account/profile").data.decode()
    for label in ("Overview", "Orders", "Balance", "Profile", "Addresses", "Settings", "Emails", "Privacy"):
        assert f">{label}</a>" in html, label
    assert 'href="/account/profile" aria-current="page">Profile</a>' in html


def test_the_profile_page_saves_name_username_phone_and_language(app, store, ana, browser, make):
    page = browser.get("/account/profile")
    assert page.status_code == 200 and 'value="ana"' in page.data.decode()
    make.user(store, username="taken")
    taken = browser.post("/account/profile", data={"csrf_token": page_token(page), "username": "taken"})
    assert taken.status_code == 422 and "That username is taken" in taken.data.decode()
    bad = browser.post("/account/profile", data={"csrf_token": page_token(page), "username": "ana", "phone": "call"})
    assert bad.status_code == 422 and "not valid" in bad.data.decode()
    saved = browser.post("/account/profile", data={"csrf_token": page_token(page), "full_name": "Ana Buyer",
                                                   "username": "ana.b", "phone": "+351 912 345 678",
                                                   "locale": "pt-PT"})
    assert saved.status_code == 302
    user = fresh(app, store, ana.id)
    assert (user.full_name, user.username, user.phone, user.locale) == ("Ana Buyer", "ana.b", "+351 912 345 678",
                                                                        "pt-PT")
    assert "Profile saved." in browser.get("/account/profile").data.decode()
    assert browser.post("/account/profile", data={"username": "x"}).status_code == 400  # no CSRF token


def test_addresses_are_added_made_default_edited_and_deleted_with_htmx(app, store, ana, browser):
    page = browser.get("/account/addresses")
    assert page.status_code == 200 and 'data-testid="no-addresses"' in page.data.decode()
    token = page_token(page)
    htmx = {"HX-Request": "true"}
    bad = browser.post("/account/addresses", data={"csrf_token": token, **ADDRESS, "postal_code": "1200"},
                       headers=htmx)
    assert bad.status_code == 422 and "This postal code is not valid for Portugal" in bad.data.decode()
    assert '<div id="address-book"' in bad.data.decode() and "<html" not in bad.data.decode()
    first = browser.post("/account/addresses", data={"csrf_token": token, **ADDRESS}, headers=htmx)
    assert first.status_code == 200 and "Address saved." in first.data.decode()
    assert first.data.decode().count("Default shipping") >= 2  # the badge, and the form's checkbox
    second = browser.post("/account/addresses", data={"csrf_token": token, **ADDRESS, "name": "Office",
                                                      "line1": "Avenida 5"})
    assert second.status_code == 302
    with app.app_context(), tenant_scope(store):
        office = db.session.scalar(db.select(Address).where(Address.name == "Office"))
        office_id = office.id
    made = browser.post(f"/account/addresses/{office_id}/default/shipping", data={"csrf_token": token}, headers=htmx)
    assert made.status_code == 200 and "Default shipping address changed." in made.data.decode()
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(db.select(Address.id).where(Address.is_default_shipping.is_(True))) == office_id
    edit = browser.get(f"/account/addresses/{office_id}")
    assert edit.status_code == 200 and 'value="Avenida 5"' in edit.data.decode()
    saved = browser.post(f"/account/addresses/{office_id}", data={"csrf_token": token, **ADDRESS, "name": "Office",
                                                                  "line1": "Avenida 6", "city": "Porto",
                                                                  "postal_code": "4000-322"})
    assert saved.status_code == 302
    gone = browser.post(f"/account/addresses/{office_id}/delete", data={"csrf_token": token}, headers=htmx)
    assert gone.status_code == 200 and "Avenida" not in gone.data.decode()
    assert browser.post(f"/account/addresses/{office_id}/delete", data={"csrf_token": token}).status_code == 404
    assert browser.post("/account/addresses", data=ADDRESS).status_code == 400  # CSRF


def test_someone_elses_address_is_not_found(app, store, make, browser):
    other = make.user(store)
    with app.app_context(), tenant_scope(store):
        from services import addresses as address_service
        theirs = address_service.create_address(db.session.get(User, other.id), ADDRESS).id
        db.session.commit()
    assert browser.get(f"/account/addresses/{theirs}").status_code == 404
    token = page_token(browser.get("/account/addresses"))
    assert browser.post(f"/account/addresses/{theirs}/delete", data={"csrf_token": token}).status_code == 404


def test_a_password_change_keeps_this_browser_signed_in_and_signs_out_the_others(app, store, ana, browser):
    other = new_client(app)
    assert login(other, "ana").status_code == 302
    assert other.get("/account").status_code == 200
    page = browser.get("/account/settings")
    wrong = browser.post("/account/password", data={"csrf_token": page_token(page), "current_password": "nope-nope",
                                                    "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and "The current password is wrong" in wrong.data.decode()
    done = browser.post("/account/password", data={"csrf_token": page_token(page), "current_password": PASSWORD,
                                                   "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    stays = browser.get("/account/settings")  # this browser stays signed in
    assert stays.status_code == 200 and "Every other device and app was signed out." in stays.data.decode()
    ended = other.get("/account")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]  # the other one ended
    assert login(new_client(app), "ana", NEW_PASSWORD).status_code == 302


def test_download_my_data_is_the_json_export(app, store, ana, browser):
    browser.post("/account/addresses", data={"csrf_token": page_token(browser.get("/account/addresses")), **ADDRESS})
    page = browser.get("/account/privacy")
    assert page.status_code == 200 and 'data-testid="download-data"' in page.data.decode()
    assert "Kept, without your name or email" in page.data.decode()
    download = browser.get("/account/data-export")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "no-store"
    data = json.loads(download.data)
    assert data["profile"]["email"] == "ana@example.com" and data["addresses"][0]["line1"] == "Rua das Flores 12"
    sections = {section for section, _ in account_service.EXPORTED.values()}
    assert sections <= set(data)


def test_delete_my_account_asks_for_the_password_and_signs_out(app, store, ana, browser):
    page = browser.get("/account/privacy")
    unticked = browser.post("/account/delete", data={"csrf_token": page_token(page), "password": PASSWORD})
    assert unticked.status_code == 422 and "Tick the box" in unticked.data.decode()
    wrong = browser.post("/account/delete", data={"csrf_token": page_token(page), "password": "nope-nope",
                                                  "confirm": "y"})
    assert wrong.status_code == 422 and "The current password is wrong" in wrong.data.decode()
    assert fresh(app, store, ana.id).erased_at is None
    done = browser.post("/account/delete", data={"csrf_token": page_token(page), "password": PASSWORD, "confirm": "y"})
    assert done.status_code == 302
    assert "Your account was deleted" in browser.get(done.headers["Location"]).data.decode()
    assert browser.get("/account").status_code == 302
    user = fresh(app, store, ana.id)
    assert user.erased_at is not None and user.email != "ana@example.com"
    assert login(new_client(app), "ana").status_code != 302


def test_the_profile_page_tells_a_bad_phone_and_a_taken_username_in_one_answer(app, store, ana, browser, make):
    page = browser.get("/account/profile")
    make.user(store, username="taken")
    both = browser.post("/account/profile", data={"csrf_token": page_token(page), "full_name": "Ana New",
                                                  "username": "taken", "phone": "call"})
    html = both.data.decode()
    assert both.status_code == 422
    assert '<small class="error" id="username-err">That username is taken</small>' in html
    assert '<small class="error" id="phone-err">That phone number is not valid</small>' in html
    user = fresh(app, store, ana.id)
    assert (user.full_name, user.username, user.phone) == ("", "ana", "")


def test_an_htmx_address_action_replaces_the_flash_of_an_earlier_one(app, store, ana, browser):
    page = browser.get("/account/addresses")
    token = page_token(page)
    assert browser.post("/account/addresses", data={"csrf_token": token, **ADDRESS}).status_code == 302
    shown = browser.get("/account/addresses").data.decode()
    assert '<div class="flashes" id="flashes" role="status"><p class="flash flash-success">Address saved.</p>' in shown
    with app.app_context(), tenant_scope(store):
        address_id = db.session.scalar(db.select(Address.id))
    deleted = browser.post(f"/account/addresses/{address_id}/delete", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
    html = deleted.data.decode()
    assert deleted.status_code == 200 and "Address deleted." in html and "Address saved." not in html
    # the page's flash region (still saying "Address saved.") is emptied out of band
    assert '<div class="flashes" id="flashes" role="status" hx-swap-oob="true"></div>' in html
