"""The dashboard overview shows the sales of a period (numbers from services.analytics), and its
range buttons answer the sales section alone for htmx."""
from __future__ import annotations

import json
import re
from html import unescape

from tests.web.test_auth_pages import login
from tests.web.test_cart_checkout_pages import add, checkout, shop, shopper  # noqa: F401 - the `shop` fixture


def test_the_overview_shows_the_periods_sales_and_swaps_its_section_for_htmx(app, client, store, make, shop):
    buyer = shopper(make, store, app, balance_minor=10_000)
    login(client, buyer.username)
    add(client, shop.steam, 2)
    assert checkout(client, "BALANCE").status_code == 303
    admin = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    from tests.web.test_cart_checkout_pages import new_client

    dash = new_client(app)
    login(dash, admin.username)
    page = dash.get("/admin/")
    html = page.data.decode()
    assert page.status_code == 200
    assert 'data-testid="kpi-revenue">€20.00<' in html and 'data-testid="kpi-orders">1<' in html
    # the shop's stock was imported without a unit cost: profit is the revenue, and it says so
    assert 'data-testid="kpi-profit">€20.00<' in html and "cost known for 0 % of units" in html
    data = json.loads(unescape(re.search(r'data-chart="([^"]+)"', html).group(1)))
    assert len(data["labels"]) == 30 and sum(data["revenue"]) == 20.0 and sum(data["orders"]) == 1
    assert "Steam Wallet" in html  # top products
    fragment = dash.get("/admin/?period=12m", headers={"HX-Request": "true"})
    body = fragment.data.decode()
    assert fragment.status_code == 200 and body.lstrip().startswith("{#") is False
    assert '<section class="card sales" id="sales"' in body and "<html" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    data = json.loads(unescape(re.search(r'data-chart="([^"]+)"', body).group(1)))
    assert len(data["labels"]) == 12 and sum(data["orders"]) == 1
    assert dash.get("/admin/?period=bogus").status_code == 200  # an unknown period falls back to 30 days


def test_the_dashboard_menu_starts_with_the_overview_and_its_toggle_sits_in_the_top_bar(app, client, store, make):
    """The menu reads Overview, Orders, Replacement requests... (it listed "Replacement requests"
    first); its checkbox is inside the top bar's landmark (axe-core's "region" rule)."""
    admin = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    login(client, admin.username)
    html = client.get("/admin/").data.decode()
    nav = re.search(r'<aside class="dash-side".*?<nav>(.*?)</nav>', html, re.S).group(1)
    labels = [unescape(label) for label in re.findall(r"<a [^>]*>([^<]+)</a>", nav)]
    assert labels[:4] == ["Overview", "Orders", "Replacement requests", "Reviews"]
    assert labels.index("Products") < labels.index("Settings")
    header = re.search(r'<header class="dash-top">(.*?)</header>', html, re.S).group(1)
    assert 'id="dash-toggle"' in header


def test_only_an_admin_who_can_approve_them_sees_the_manual_orders_card(app, client, store, make):
    """Approving a manual order is an admin's (admin.order_approve); staff saw the card and a link
    to orders they could not approve."""
    staff = make.user(store, role="STAFF", username="clerk", email="clerk@example.com")
    login(client, staff.username)
    for url, headers in (("/admin/", {}), ("/admin/?period=7d", {"HX-Request": "true"})):
        page = client.get(url, headers=headers)
        assert page.status_code == 200 and "Manual orders to approve" not in page.data.decode()
    from tests.web.test_cart_checkout_pages import new_client

    admin = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    dash = new_client(app)
    login(dash, admin.username)
    assert "Manual orders to approve" in dash.get("/admin/").data.decode()
