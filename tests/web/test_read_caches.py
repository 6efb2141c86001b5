"""The per-process read caches: faster pages, but a change made here is visible at once."""
from __future__ import annotations

import pytest

from models import Category, Store
from services import categories as category_service
from services.cache import cache_for
from tests.statements import statements_of


@pytest.fixture
def caching(app):
    """Turn the store and category caches on for one test (the suite runs with them off)."""
    caches = [cache_for("store_by_host", (Store,), app), cache_for("default_store", (Store,), app),
              cache_for("shop_categories", (Category,), app)]
    for cache in caches:
        cache.clear()
        cache.seconds = 60
    yield caches
    for cache in caches:
        cache.clear()
        cache.seconds = 0


def test_store_lookup_is_cached_and_a_suspension_applies_at_once(client, store, make, caching, app):
    assert client.get("/").status_code == 200
    status, statements = statements_of(app, client, "/login")
    assert status == 200
    # the first hit confirms the row's version once (services.stores.still_current; then, without
    # Redis, only when another connection wrote or once a second: tests/web/test_store_version.py), never the row
    store_reads = [s for s in statements if "FROM stores" in s]
    assert len(store_reads) == 1 and store_reads[0].startswith("SELECT stores.updated_at"), statements
    make.set_status(store, "suspended")  # a Store flush clears the cache
    assert client.get("/").status_code == 503


def test_category_list_is_cached_until_a_category_changes(client, store, make, caching):
    with make.scope(store):
        category_service.create_category(title="Gift Cards")
    assert b"Gift Cards" in client.get("/search").data
    with make.scope(store):
        category_service.create_category(title="Game Keys")
    assert b"Game Keys" in client.get("/search").data


def test_the_dashboard_menu_asks_the_store_features_once_per_cache_window(app, client, store, make):
    """The sidebar's gated links (Campaigns, Integrations) read the store's features from a read
    cache: no query on later pages, and a change of the store's addons or its plan shows at once."""
    from extensions import db
    from models import Plan
    from services import plans, tenants
    from tests.web.test_auth_pages import login

    features = cache_for(plans.FEATURES_CACHE, plans.FEATURES_MODELS, app)
    features.clear()
    features.seconds = 60
    try:
        login(client, make.user(store, role="ADMIN").email)
        with app.app_context():
            lite = Plan(slug="lite", name="Lite", monthly_price=500, currency="EUR", features=["wishlist"])
            db.session.add(lite)
            db.session.flush()
            lite_id = lite.id
            tenants.update_tenant(db.session.get(Store, store.id), {"plan": "lite"})
            db.session.commit()
        assert b'href="/admin/campaigns"' not in client.get("/admin/").data
        status, statements = statements_of(app, client, "/admin/")
        assert status == 200
        assert not [s for s in statements if "FROM plans" in s or "store_addons" in s], statements
        with app.app_context():
            tenants.update_tenant(db.session.get(Store, store.id), {"addons": ["campaigns"]})
            db.session.commit()
        assert b'href="/admin/campaigns"' in client.get("/admin/").data
        with app.app_context():
            plan = db.session.get(Plan, lite_id)
            plans.update_plan(plan, {"features": ["wishlist", "moloni"]})
            db.session.commit()
        assert b'href="/admin/integrations"' in client.get("/admin/").data
    finally:
        features.clear()
        features.seconds = 0
