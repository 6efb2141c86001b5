"""The staff's replacement requests page: the queue with its columns and filters, the three
options loaded into a row, approve and deny swapping the row in place (htmx) or coming back with
a flash (no JavaScript), every refusal as a message in the row (422, 409, 403), who may do what,
where staff land after signing in, and the replacement rate on the stock page."""
from __future__ import annotations

import re

import pytest

from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.api.test_replacements_api import _buy, _items, _replace, _settings
from tests.web.test_admin_orders_pages import HX, as_role, new_client
from tests.web.test_auth_pages import PASSWORD, csrf, login


@pytest.fixture
def pending(client, shop):
    """The buyer's completed order of 2 codes, auto-replace off: two PENDING requests."""
    _settings(shop, replace_enabled=True, auto_replace_enabled=False)
    order = _buy(client, shop, 2)
    first, second = _items(order)
    a = _replace(client, shop, order, first, reason="The key says it was already redeemed").get_json()
    b = _replace(client, shop, order, second, reason="Region locked").get_json()
    assert a["status"] == b["status"] == "PENDING"
    return {"order": order, "a": a["id"], "b": b["id"]}


def token(client) -> str:
    return csrf(client.get("/admin/replacements").data)


def option_ids(html: str) -> list[str]:
    return re.findall(r'name="stock_item_id" value="([^"]+)"', html)


def buyer_order(client, shop, order) -> dict:
    return client.get(f"/api/orders/{order['id']}", headers=shop.headers).get_json()


def test_the_queue_shows_each_pending_request_with_its_columns(app, make, shop, pending):
    staff, _ = as_role(app, make, shop.store, "STAFF")
    page = staff.get("/admin/replacements")
    html = page.data.decode()
    assert page.status_code == 200 and html.count('data-testid="replacement-row"') == 2
    number = pending["order"]["order_number"]
    assert f'href="/admin/orders/{number}"' in html and f"#{number}" in html
    assert "buyer" in html and "Steam Card" in html and "10 EUR" in html  # buyer, product, subcategory
    assert "The key says it was already redeemed" in html and "Region locked" in html
    assert "•" in html and "CODE-0" not in html  # the original item, masked
    assert "just now" in html and "Auto-replace is off for this product" in html  # age, waiting reason
    assert html.index('>Overview</a>') < html.index('Replacement requests</a>') < html.index('>Reviews</a>')  # near the top of the sidebar, after Overview and Orders
    # filters: another status, another product, an order number; the htmx answer is the list alone
    assert "No requests match" in staff.get("/admin/replacements?status=APPROVED").data.decode()
    assert staff.get(f"/admin/replacements?product={shop.product}").data.decode().count(
        'data-testid="replacement-row"') == 2
    assert "0 requests" in staff.get(f"/admin/replacements?q=%23{number + 100}").data.decode()
    fragment = staff.get(f"/admin/replacements?q=%23{number}", headers=HX).data.decode()
    assert "<html" not in fragment and fragment.count('data-testid="replacement-row"') == 2
    overview = staff.get("/admin/").data.decode()
    assert 'data-testid="pending-replacements"' in overview and re.search(r">\s*2 <small", overview)


def test_approve_with_a_chosen_option_swaps_the_row_and_delivers_it(app, client, make, shop, pending):
    staff, _ = as_role(app, make, shop.store, "STAFF")
    options = staff.get(f"/admin/replacements/{pending['a']}/options", headers=HX)
    html = options.data.decode()
    ids = option_ids(html)
    assert options.status_code == 200 and len(ids) == 3 and "<html" not in html
    assert "custom_deliverable" not in html  # staff get no custom field
    answer = staff.post(f"/admin/replacements/{pending['a']}/approve", headers=HX,
                        data={"csrf_token": token(staff), "stock_item_id": ids[1]})
    row = answer.data.decode()
    assert answer.status_code == 200 and answer.headers["HX-Retarget"] == f"#req-{pending['a']}"
    assert row.lstrip().startswith("{#") is False and f'id="req-{pending["a"]}"' in row
    assert 'data-status="APPROVED"' in row and re.search(r"Approved by staff\d+, <time", row)
    fresh = buyer_order(client, shop, pending["order"])
    assert len(fresh["replacements"]) == 1
    new = [i for line in fresh["lines"] for i in line["items"] if i["replacement_for_id"]]
    assert [i["id"] for i in new] == [ids[1]]
    # a second approve of the same request: already resolved, said in the row (409)
    again = staff.post(f"/admin/replacements/{pending['a']}/approve", headers=HX,
                       data={"csrf_token": token(staff), "stock_item_id": ids[2]})
    assert again.status_code == 409 and "already approved" in again.data.decode()
    assert 'data-status="APPROVED"' in again.data.decode()
    assert len(buyer_order(client, shop, pending["order"])["replacements"]) == 1
    # the options of a resolved request: its row, 409
    late = staff.get(f"/admin/replacements/{pending['a']}/options", headers=HX)
    assert late.status_code == 409 and "already approved" in late.data.decode()


def test_an_item_taken_meanwhile_is_a_message_in_the_row(app, make, shop, pending):
    staff, _ = as_role(app, make, shop.store, "STAFF")
    ids = option_ids(staff.get(f"/admin/replacements/{pending['a']}/options", headers=HX).data.decode())
    assert staff.post(f"/admin/replacements/{pending['a']}/approve", headers=HX,
                      data={"csrf_token": token(staff), "stock_item_id": ids[0]}).status_code == 200
    taken = staff.post(f"/admin/replacements/{pending['b']}/approve", headers=HX,
                       data={"csrf_token": token(staff), "stock_item_id": ids[0]})
    html = taken.data.decode()
    assert taken.status_code == 409 and "just taken" in html and 'data-status="PENDING"' in html
    assert len(option_ids(html)) >= 1 and ids[0] not in option_ids(html)  # fresh options to pick from


def test_deny_needs_a_reason_then_shows_it(app, client, make, shop, pending, mail_outbox):
    staff, _ = as_role(app, make, shop.store, "STAFF")
    blank = staff.post(f"/admin/replacements/{pending['b']}/deny", headers=HX,
                       data={"csrf_token": token(staff), "reason": "  "})
    assert blank.status_code == 422 and "Say why" in blank.data.decode()
    assert 'data-status="PENDING"' in blank.data.decode()
    denied = staff.post(f"/admin/replacements/{pending['b']}/deny", headers=HX,
                        data={"csrf_token": token(staff), "reason": "The key works: redeem it on the EU store"})
    row = denied.data.decode()
    assert denied.status_code == 200 and 'data-status="DENIED"' in row
    assert re.search(r"Denied by staff\d+: The key works: redeem it on the EU store", row)
    assert buyer_order(client, shop, pending["order"])["replacements"] == []
    listed = staff.get("/admin/replacements?status=DENIED").data.decode()
    assert "redeem it on the EU store" in listed


def test_without_javascript_the_forms_post_and_come_back_with_a_flash(app, make, shop, pending):
    staff, _ = as_role(app, make, shop.store, "STAFF")
    page = staff.get(f"/admin/replacements/{pending['a']}/options")  # the request's own page
    assert page.status_code == 200 and "<html" in page.data.decode() and len(option_ids(page.data.decode())) == 3
    done = staff.post(f"/admin/replacements/{pending['a']}/approve",
                      data={"csrf_token": csrf(page.data), "stock_item_id": option_ids(page.data.decode())[0]})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/replacements")
    assert "Replacement approved" in staff.get("/admin/replacements").data.decode()
    refused = staff.post(f"/admin/replacements/{pending['b']}/deny", data={"csrf_token": token(staff), "reason": ""})
    assert refused.status_code == 422 and "Say why" in refused.data.decode() and "<html" in refused.data.decode()


def test_a_custom_deliverable_is_for_admins(app, client, make, shop, pending):
    staff, _ = as_role(app, make, shop.store, "STAFF")
    refused = staff.post(f"/admin/replacements/{pending['a']}/approve", headers=HX,
                         data={"csrf_token": token(staff), "custom_deliverable": "HAND-TYPED-KEY-001"})
    assert refused.status_code == 403 and "Only an admin" in refused.data.decode()
    assert 'data-status="PENDING"' in refused.data.decode()
    admin, _ = as_role(app, make, shop.store, "ADMIN")
    options = admin.get(f"/admin/replacements/{pending['a']}/options", headers=HX).data.decode()
    assert 'name="custom_deliverable"' in options
    approved = admin.post(f"/admin/replacements/{pending['a']}/approve", headers=HX,
                          data={"csrf_token": token(admin), "custom_deliverable": "HAND-TYPED-KEY-001"})
    assert approved.status_code == 200 and 'data-status="APPROVED"' in approved.data.decode()
    assert buyer_order(client, shop, pending["order"])["replacements"] == ["HAND-TYPED-KEY-001"]
    duplicate = admin.post(f"/admin/replacements/{pending['b']}/approve", headers=HX,
                           data={"csrf_token": token(admin), "custom_deliverable": "HAND-TYPED-KEY-001"})
    assert duplicate.status_code == 409 and "already had that code" in duplicate.data.decode()


def test_users_get_403_and_strangers_sign_in(app, client, make, shop, pending):
    user, _ = as_role(app, make, shop.store, "USER")
    assert user.get("/admin/replacements").status_code == 403
    assert user.get(f"/admin/replacements/{pending['a']}/options", headers=HX).status_code == 403
    assert user.post(f"/admin/replacements/{pending['a']}/deny",
                     data={"csrf_token": csrf(user.get("/account").data), "reason": "x"}).status_code == 403
    anonymous = new_client(app).get("/admin/replacements")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    staff, _ = as_role(app, make, shop.store, "STAFF")
    assert staff.get("/admin/replacements/00000000-0000-4000-8000-000000000000/options").status_code == 404


def test_staff_land_on_the_queue_and_others_keep_their_landing(app, make, shop):
    staff = make.user(shop.store, role="STAFF", username="desk", email="desk@example.com")
    answer = login(new_client(app), staff.username)
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/replacements"
    admin = make.user(shop.store, role="ADMIN", username="boss", email="boss@example.com")
    assert login(new_client(app), admin.username).headers["Location"] == "/account"
    explicit = new_client(app)
    page = explicit.get("/login?next=/admin/orders")
    sent = explicit.post("/login?next=/admin/orders",
                         data={"csrf_token": csrf(page.data), "login": "desk", "password": PASSWORD})
    assert sent.status_code == 302 and sent.headers["Location"] == "/admin/orders"


def test_the_stock_page_shows_the_replacement_rate(app, client, make, shop):
    _settings(shop, replace_enabled=True, auto_replace_enabled=True)
    order = _buy(client, shop, 4)
    for item in _items(order)[:2]:
        assert _replace(client, shop, order, item).get_json()["status"] == "APPROVED"
    manager, _ = as_role(app, make, shop.store, "MANAGER")
    html = manager.get(f"/admin/subcategories/{shop.digital}/stock").data.decode()
    assert re.search(r'data-testid="batch-rate">2 / 4 sold · <strong>50.0&nbsp;%</strong>', html)
    assert re.search(r'data-testid="product-rate">.*?50.0&nbsp;%.*?2 of 4 sold', html, re.S)
