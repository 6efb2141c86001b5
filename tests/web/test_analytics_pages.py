"""The analytics page (Seed B stats as a page) and the reports page: Manager+, the numbers of the
hand-computed shop of tests/api/test_reports_api.py, htmx fragments, CSV downloads, and a fixed
number of SQL statements however many products, customers and orders there are."""
from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest

from extensions import db
from models import Order, OrderLine, Product, Variant
from tenancy import tenant_scope
from tests.api.test_reports_api import _order, _utc, shop  # noqa: F401 - the `shop` fixture
from tests.web.test_admin_orders_pages import as_role
from tests.web.test_catalog_query_count import count_statements

NOV = "period=custom&date_from=2026-11-01&date_to=2026-11-30"


@pytest.fixture
def manager(app, make, store):
    return as_role(app, make, store, "MANAGER")[0]


def _chart(html: str) -> dict:
    return json.loads(unescape(re.search(r'data-chart="([^"]+)"', html).group(1)))


@pytest.mark.parametrize("url", ["/admin/analytics", "/admin/reports", "/admin/reports/export?type=orders",
                                 "/admin/analytics/subcategories"])
def test_the_pages_are_for_managers_and_up(app, make, store, client, url):
    assert client.get(url).status_code == 302
    staff, _ = as_role(app, make, store, "STAFF")
    assert staff.get(url).status_code == 403
    manager, _ = as_role(app, make, store, "MANAGER")
    assert manager.get(url).status_code == 200


def test_analytics_shows_totals_and_a_chart_for_all_one_product_or_one_subcategory(app, store, shop, manager):  # noqa: F811
    page = manager.get(f"/admin/analytics?{NOV}")
    html = page.data.decode()
    assert page.status_code == 200 and 'href="/admin/analytics" aria-current="page"' in html
    assert 'data-testid="analytics-revenue">€50.00<' in html  # lines: 20 + 5 + 10 + 10 + 5
    assert 'data-testid="analytics-units">10<' in html and 'data-testid="analytics-orders">4<' in html
    chart = _chart(html)
    assert len(chart["labels"]) == 30 and sum(chart["units"]) == 10 and sum(chart["revenue"]) == 50.0
    assert chart["labels"][0] == "2026-11-01" and chart["units"][0] == 2  # order 2, Nov 1 in Tokyo
    assert '<option value="' + shop.a + '">Alpha</option>' in html
    with app.app_context(), tenant_scope(store):
        variant_a = db.session.query(Variant).filter_by(product_id=shop.a).one().id
    one = manager.get(f"/admin/analytics?{NOV}&product_id={shop.a}", headers={"HX-Request": "true"})
    body = one.data.decode()
    assert one.status_code == 200 and "<html" not in body and body.lstrip().startswith("{#") is False
    assert 'id="analytics-results"' in body and 'data-testid="analytics-title">Alpha<' in body
    assert 'data-testid="analytics-units">4<' in body and 'data-testid="analytics-revenue">€40.00<' in body
    assert "HX-Request" in one.headers["Vary"]
    sub = manager.get(f"/admin/analytics?period=12m&product_id={shop.a}&subcategory_id={variant_a}",
                      headers={"HX-Request": "true"}).data.decode()
    assert len(_chart(sub)["labels"]) == 12 and "Alpha · A" in sub
    # a subcategory of another product (the product just changed): all of this product's
    stale = manager.get(f"/admin/analytics?{NOV}&product_id={shop.b}&subcategory_id={variant_a}").data.decode()
    assert 'data-testid="analytics-units">6<' in stale
    choices = manager.get(f"/admin/analytics/subcategories?product_id={shop.a}", headers={"HX-Request": "true"})
    assert choices.status_code == 200 and f'<option value="{variant_a}">A</option>' in choices.data.decode()
    assert 'id="subcategory-field"' in choices.data.decode() and "<html" not in choices.data.decode()


def test_analytics_refuses_bad_ranges_next_to_their_fields(store, manager):
    missing = manager.get("/admin/analytics?period=custom&date_from=2026-11-01")
    assert missing.status_code == 422 and "Choose the last day of the range" in missing.data.decode()
    backwards = manager.get("/admin/analytics?period=custom&date_from=2026-11-10&date_to=2026-11-01",
                            headers={"HX-Request": "true"})
    assert backwards.status_code == 422 and "The range ends before it starts" in backwards.data.decode()
    assert manager.get("/admin/analytics?product_id=nope").status_code == 422
    assert manager.get("/admin/analytics?period=5y").status_code == 422


def test_reports_page_shows_every_report_and_links_its_csv(store, shop, manager):  # noqa: F811
    page = manager.get(f"/admin/reports?{NOV}&group_by=week&sort_by=units")
    html = page.data.decode()
    assert page.status_code == 200 and 'href="/admin/reports" aria-current="page"' in html
    assert 'data-testid="report-revenue">€48.00<' in html and 'data-testid="report-cost">€14.50<' in html
    assert 'data-testid="report-profit">€33.50<' in html and "known for 45.5 % of units" in html
    assert "<th scope=\"row\">2026-11-16</th>" in html and "-€2.50" in html  # the replacement's week
    week = re.search(r'<tr><th scope="row">2026-11-02</th>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]+)</td>', week) == ["1", "5", "€3.00", "€2.00", "€0.00", "€3.00",
                                                                "100.0 %"]
    total = re.search(r'<tfoot><tr><th scope="row">Total</th>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]+)</td>', total)[:2] == ["4", "10"]
    rows = re.findall(r'data-testid="product-row"><th scope="row" class="wrap">([^<]+)<', html)
    assert [unescape(r) for r in rows] == ['=HYPERLINK("http://evil.example")', "Alpha"]  # by units: 6, 4
    # the per-product figures are list prices: the page says so under the table, not only the docs
    assert "before coupons, reseller discounts and refunds" in html.split('data-testid="report-products"')[1]
    assert re.findall(r'data-testid="category-row"><th scope="row" class="wrap">([^<]+)<', html) == ["Games", "No category"]
    assert 'data-testid="customers-new">1<' in html and 'data-testid="customers-returning">1<' in html
    assert re.findall(r'data-testid="customer-row"><th scope="row" class="wrap">(\w+)<', html) == ["alice", "bob", "dave"]
    link = unescape(re.search(r'href="([^"]+)"[^>]*data-testid="csv-sales"', html).group(1))
    assert link.startswith("/admin/reports/export?") and "type=sales" in link and "group_by=week" in link
    download = manager.get(link)
    assert download.status_code == 200 and download.is_streamed and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert table[-1][0] == "total" and table[-1][6] == "48.00" and len(table) == 1 + 6 + 1
    products = unescape(re.search(r'href="([^"]+)"[^>]*data-testid="csv-products"', html).group(1))
    titles = [r[1] for r in csv.reader(io.StringIO(manager.get(products).get_data(as_text=True)))][1:]
    assert titles[0].startswith("'=")  # by units, defused


def test_reports_fragment_and_refusals(store, shop, manager):  # noqa: F811
    fragment = manager.get(f"/admin/reports?{NOV}&group_by=month", headers={"HX-Request": "true"})
    body = fragment.data.decode()
    assert fragment.status_code == 200 and "<html" not in body and body.count('<div id="reports-body"') == 1
    assert "<th scope=\"row\">2026-11</th>" in body
    wrong = manager.get("/admin/reports?period=7d&group_by=month")
    assert wrong.status_code == 422 and "grouped by day or week" in wrong.data.decode()
    assert 'data-testid="report-products"' in wrong.data.decode()  # the other reports still show
    assert manager.get("/admin/reports/export?type=invoices").status_code == 422


def _more(app, store, start: int, count: int) -> None:
    """``count`` more products, each sold once to a new buyer in November."""
    with app.app_context(), tenant_scope(store):
        for n in range(start, start + count):
            p = Product(title=f"Extra {n}", slug=f"extra-{n}")
            db.session.add(p)
            db.session.flush()
            v = Variant(product_id=p.id, title="x", price=100 + n)
            db.session.add(v)
            db.session.flush()
            _order(1000 + n, email=f"x{n}@example.com", paid_at=_utc(2026, 11, 3 + n % 20, 3, 0), lines=[(p, v, 1, 100 + n)])
        db.session.commit()


def test_the_pages_cost_the_same_number_of_statements_for_more_rows(app, store, shop, manager):  # noqa: F811
    urls = [f"/admin/reports?{NOV}&group_by=week", f"/admin/analytics?{NOV}&product_id={shop.a}", f"/admin/analytics?{NOV}"]
    _more(app, store, 0, 2)
    few = {}
    for url in urls:
        with count_statements(app) as statements:
            assert manager.get(url).status_code == 200
        few[url] = len(statements)
    _more(app, store, 2, 12)
    with app.app_context(), tenant_scope(store):
        assert db.session.query(Order).count() > 20 and db.session.query(OrderLine).count() > 20
    for url in urls:
        with count_statements(app) as statements:
            html = manager.get(url).data.decode()
        assert len(statements) == few[url], (url, statements)
    assert html.count("Extra ") >= 12  # the product choice lists them all
