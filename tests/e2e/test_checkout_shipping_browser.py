"""A mixed cart in Chromium (one digital line, one physical line), at 1280 and 375 px: the
checkout asks where and how to ship (htmx brings the options when the country is chosen), shows
tax and shipping, passes axe; the balance pays it all; the code is delivered at once and the mug
waits until an admin ships it with carrier and tracking; then the buyer's page shows the link
and the "shipped" email has gone out."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from services import stores as store_service
from tests.e2e.conftest import watch
from tests.e2e.test_accessibility import AXE, RUN_AXE
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_shopping import DESKTOP, MOBILE, delivered, sign_in

TRACKING = "https://ctt.example/track/RR123456789PT"
# Leaving the postal code by clicking a shipping method sends two refreshes at once; the form's
# hx-sync="closest form:replace" aborts the stale one (else its late answer would undo the click),
# and htmx logs that abort on the console. Nothing else may appear there.
SUPERSEDED = ("htmx:sendAbort", "htmx:afterRequest")


def real(errors: list[str]) -> list[str]:
    return [e for e in errors if not any(s in e for s in SUPERSEDED)]


def at_both_widths(page, shot, name: str) -> None:
    """Screenshots at 1280 and 375 px without reloading (the page holds typed, unsent fields)."""
    shot(top(page), f"{name}-desktop")
    page.set_viewport_size(MOBILE)
    page.wait_for_timeout(150)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1, "sideways scroll at 375 px"
    shot(top(page), f"{name}-mobile")
    page.set_viewport_size(DESKTOP)


def axe_clean(page) -> None:
    for size in (DESKTOP, MOBILE):
        page.set_viewport_size(size)
        violations = page.evaluate(RUN_AXE)
        assert violations == [], violations
    page.set_viewport_size(DESKTOP)


def test_a_mixed_cart_is_paid_shipped_and_tracked(live_server, live_shop, live_admin, browser, shot):
    base, app = live_server
    from models import Product
    from services import products as product_service
    from services import shipping, taxes
    from tenancy import tenant_scope

    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            product_service.create_product({"title": "Logo Mug", "kind": "physical", "variants": [
                {"title": "White", "price": 1250, "stock_count": 3, "weight_grams": 350}]})
            taxes.create_rule({"name": "VAT", "country": "PT", "rate_bps": 2300})
            zone = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
            shipping.add_method(zone, {"name": "Pickup in Lisbon", "kind": "flat", "price": 0})
            shipping.add_method(zone, {"name": "CTT Expresso", "kind": "flat", "price": 390, "min_days": 1,
                                       "max_days": 2, "position": 1})
            db.session.commit()
            mug = db.session.scalar(select(Product.slug).where(Product.title == "Logo Mug"))
    outbox = app.extensions["mailman"].outbox = []

    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, live_shop["email"], live_shop["password"])
    for slug in (live_shop["slug"], mug):
        page.goto(f"{base}/p/{slug}")
        page.click("button:has-text('Add to cart')")
        page.wait_for_selector("[data-testid=cart-added]")

    page.goto(f"{base}/checkout")
    assert page.is_visible("[data-testid=checkout-delivery]")
    assert page.is_visible("[data-testid=ship-none]")  # no country yet: no options
    page.fill("#ship_name", "Ana Silva")
    page.fill("#ship_line1", "Rua Augusta 1")
    page.fill("#ship_city", "Lisboa")
    page.fill("#ship_postal_code", "1100-048")
    page.select_option("#ship_country", "PT")  # change -> htmx: the options for Portugal
    page.wait_for_selector("[data-testid=ship-2]:has-text('CTT Expresso')")
    page.check("[data-testid=ship-2] input")  # change -> htmx: the totals with it
    # 14.99 + 12.50; VAT (27.49 + 3.90) x 23 % = 7.2197 -> 7.22; shipping 3.90
    page.wait_for_selector("[data-testid=checkout-total]:has-text('€38.61')")
    assert page.text_content("[data-testid=checkout-tax]").strip() == "€7.22"
    assert page.text_content("[data-testid=checkout-shipping]").strip() == "€3.90"
    assert "€38.61" in page.text_content("[data-testid=place-order]")
    axe_clean(page)
    at_both_widths(page, shot, "checkout-physical")
    page.check("input[value=BALANCE]")
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+$"))
    number = page.url.rsplit("/", 1)[1]
    assert len(delivered(page)) == 1  # the code at once
    assert page.text_content("[data-testid=order-status]").strip() == "Processing"  # the mug waits
    assert "Rua Augusta 1" in page.text_content("[data-testid=shipping-address]")
    assert page.text_content("[data-testid=order-total]").strip() == "€38.61", page.text_content(".order-totals")
    at_both_widths(page, shot, "order-physical-waiting")

    admin_context = browser.new_context(viewport=DESKTOP)
    admin_page = admin_context.new_page()
    admin_errors = watch(admin_page)
    sign_in(admin_page, base, *live_admin)
    admin_page.goto(f"{base}/admin/orders/{number}")
    assert "Rua Augusta 1" in admin_page.text_content("[data-testid=shipping-address]")
    admin_page.fill("#carrier", "CTT")
    admin_page.fill("#tracking_number", "RR123456789PT")
    admin_page.fill("#tracking_url", TRACKING)
    admin_page.click("[data-testid=fulfill]")
    admin_page.wait_for_selector("text=is shipped")
    assert admin_page.text_content(".page-head [data-testid=order-status]").strip() == "Completed"
    at_both_widths(admin_page, shot, "admin-order-shipped")
    assert admin_errors == [], admin_errors
    admin_context.close()

    shipped = [m for m in outbox if m.to == [live_shop["email"]] and m.subject.endswith("has shipped")]
    assert len(shipped) == 1 and TRACKING in shipped[0].body
    page.reload()
    assert page.text_content("[data-testid=order-status]").strip() == "Completed"
    assert page.get_attribute("[data-testid=tracking-link]", "href") == TRACKING
    at_both_widths(page, shot, "order-physical-shipped")
    assert real(errors) == [], errors
    context.close()
