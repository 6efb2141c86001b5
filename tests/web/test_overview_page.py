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


def test_by_payment_method_counts_the_paid_orders_the_orders_figure_counts(app, client, store, make):
    """An unpaid manual order and a cancelled one were counted under "By payment method" beside an
    "Orders" figure of the paid ones: the breakdown now counts the same orders as the figure."""
    from datetime import UTC, datetime, timedelta

    from extensions import db
    from models import Order
    from tenancy import tenant_scope

    now = datetime.now(UTC)
    with app.app_context(), tenant_scope(store):
        for number, method, status, paid_at in ((1, "BALANCE", "COMPLETED", now - timedelta(hours=2)),
                                                (2, "MANUAL", "PENDING", None), (3, "MANUAL", "CANCELLED", None)):
            db.session.add(Order(order_number=number, email=f"b{number}@example.com", payment_method=method,
                                 currency="EUR", total=1500, subtotal=1500, item_count=1, status=status,
                                 payment_status="PAID" if paid_at else "UNPAID", paid_at=paid_at,
                                 created_at=now - timedelta(hours=3)))
        db.session.commit()
    admin = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    login(client, admin.username)
    html = client.get("/admin/").data.decode()
    assert 'data-testid="kpi-orders">1<' in html
    methods = re.search(r"<h3>By payment method</h3>(.*?)</div>", html, re.S).group(1)
    assert "1 order · €15.00" in methods and "Manual" not in methods and "MANUAL" not in methods
