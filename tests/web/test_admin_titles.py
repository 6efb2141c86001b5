"""Every dashboard page names the store in its <title>, after the page ("Coupons · Main Store",
"SPRING · Coupons · Main Store"): a tab or a bookmark of one store's dashboard is told from
another's. The forms and detail pages (a coupon, a page, a campaign, a shipping zone...) too, not
only the lists."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from models import ImportJob, Plan, ShippingMethod, ShippingZone, Store, TaxRule, Variant
from services import campaigns, categories, coupons, pages
from services import products as product_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import as_role
from tests.web.test_shipping_tax_pages import METHOD, RULE, ZONE, post_form

STORE_NAME = "Main Store"


def title_of(response) -> str:
    found = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
    assert found, response.get_data(as_text=True)[:300]
    return html.unescape(found.group(1)).strip()


@pytest.fixture
def admin(app, make, store):
    return as_role(app, make, store, "ADMIN")[0]


@pytest.fixture
def things(app, store, admin) -> dict[str, str]:
    """One of each thing a dashboard form or detail page shows, by the URL of its page."""
    assert post_form(admin, "/admin/shipping/zones/new", ZONE).status_code == 302
    with app.app_context(), tenant_scope(store):
        zone_id = db.session.scalar(select(ShippingZone.id))
    assert post_form(admin, f"/admin/shipping/zones/{zone_id}/methods/new", METHOD).status_code == 302
    assert post_form(admin, "/admin/taxes/new", RULE).status_code == 302
    with app.app_context(), tenant_scope(store):
        method_id = db.session.scalar(select(ShippingMethod.id))
        tax_id = db.session.scalar(select(TaxRule.id))
        category = categories.create_category(title="Game Keys")
        product = product_service.create_product({"title": "Starfall", "category_id": category.id,
                                                  "variants": [{"title": "Standard", "price": 999}]})
        db.session.flush()
        variant_id = db.session.scalar(select(Variant.id).where(Variant.product_id == product.id))
        coupon = coupons.create_coupon({"code": "SPRING", "kind": "fixed", "value": 100})
        page = pages.create_page({"title": "About us", "body": "Hi"})
        draft = campaigns.create_campaign({"subject": "Spring sale", "body_markdown": "Hello", "topic": "marketing",
                                           "audience": "all", "audience_param": None}, created_by=None)
        sent = campaigns.create_campaign({"subject": "Winter sale", "body_markdown": "Hello", "topic": "marketing",
                                          "audience": "all", "audience_param": None}, created_by=None)
        db.session.flush()
        sent.status = "SENT"
        job = ImportJob(source="csv", status="DONE", file_name="products.csv", csv_format="generic", report={})
        db.session.add(job)
        db.session.commit()
        return {
            f"/admin/categories/{category.id}": "Game Keys · Categories",
            "/admin/coupons/new": "New coupon · Coupons", f"/admin/coupons/{coupon.id}": "SPRING · Coupons",
            "/admin/pages/new": "New page · Pages", f"/admin/pages/{page.id}": "About us · Pages",
            "/admin/campaigns/new": "New campaign · Campaigns", f"/admin/campaigns/{draft.id}": "Spring sale · Campaigns",
            f"/admin/campaigns/{draft.id}/send": "Send Spring sale · Campaigns",
            f"/admin/campaigns/{sent.id}": "Winter sale · Campaigns",
            "/admin/import": "Import products", f"/admin/import/{job.id}": "products.csv · Import",
            f"/admin/subcategories/{variant_id}": "Standard · Starfall",
            f"/admin/subcategories/{variant_id}/stock": "Stock · Standard · Starfall",
            "/admin/shipping/zones/new": "New zone · Shipping", f"/admin/shipping/zones/{zone_id}": "Portugal · Shipping",
            f"/admin/shipping/zones/{zone_id}/methods/new": "New method · Portugal · Shipping",
            f"/admin/shipping/methods/{method_id}": "Post · Portugal · Shipping",
            "/admin/taxes/new": "New tax rule · Taxes", f"/admin/taxes/{tax_id}": "IVA · Taxes",
        }


def test_forms_and_detail_pages_end_their_title_with_the_store_name(admin, things):
    wrong = {}
    for url, page in things.items():
        response = admin.get(url)
        assert response.status_code == 200, url
        if title_of(response) != f"{page} · {STORE_NAME}":
            wrong[url] = title_of(response)
    assert wrong == {}


def test_every_dashboard_page_without_a_parameter_ends_its_title_with_the_store_name(app, admin):
    urls = sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("admin.") and "GET" in rule.methods and not rule.arguments)
    assert len(urls) > 25, urls
    wrong, seen = {}, 0
    for url in urls:
        response = admin.get(url)
        if response.status_code != 200 or response.mimetype != "text/html" or b"<title>" not in response.data:
            continue  # a download, a redirect, an htmx fragment
        seen += 1
        if not title_of(response).endswith(f" · {STORE_NAME}"):
            wrong[url] = title_of(response)
    assert seen > 20 and wrong == {}


def test_the_upgrade_hint_names_the_store_too(app, admin, store):
    with app.app_context():
        bare = Plan(slug="bare", name="Bare", monthly_price=0, currency="EUR", features=[], is_active=True)
        db.session.add(bare)
        db.session.flush()
        db.session.get(Store, store.id).plan_id = bare.id
        db.session.commit()
    response = admin.get("/admin/campaigns")
    assert response.status_code == 403 and "not part of your plan" in response.get_data(as_text=True)
    assert title_of(response) == f"Not in your plan · {STORE_NAME}"
