"""A long stock import in one store never keeps another store's shoppers waiting (issue 8, D).

On SQLite one write lock serves every store: the import hands it on after each chunk
(``transactions.yield_write_lock``), so a cart write waits at most for one chunk."""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from extensions import db
from models import Role, StockItem, Variant
from services import auth as auth_service
from services import products as product_service
from services import stock
from services import stores as store_service
from tenancy import tenant_scope

from .conftest import call

LINES = 200_000


def test_a_200k_line_import_leaves_every_cart_write_of_another_store_under_a_second(live):
    base, app, store_id = live
    with app.app_context():
        other = store_service.create_store("other", "Other Store", domain="other.example.com")
        db.session.commit()
        other_id = other.id
        with tenant_scope(store_id):
            admin = auth_service.create_user(username="bulk", email="bulk@example.com", password="bulk-pass-123",
                                             role=Role.ADMIN, check_strength=False)
            product = product_service.create_product({"title": "Bulk", "variants": [{"title": "x", "price": 100}]})
            bulk_variant = db.session.scalar(select(Variant.id).where(Variant.product_id == product.id))
            token = auth_service.issue_tokens(admin)["access_token"]
            db.session.commit()
        with tenant_scope(other_id):
            product = product_service.create_product({"title": "Card", "variants": [{"title": "y", "price": 100}]})
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            stock.import_stock(variant, "\n".join(f"OTHER-{i}" for i in range(50)))
            other_variant = variant.id
            db.session.commit()

    codes = "\n".join(f"BULK-{i:07d}" for i in range(LINES))
    outcome: dict = {}

    def bulk_import():
        started = time.monotonic()
        outcome["import"] = call(base, "POST", "/api/admin/stock/add", token=token, timeout=600,
                                 body={"subcategoryId": bulk_variant, "text": codes})
        outcome["import_took"] = time.monotonic() - started
        outcome["import_done"] = time.monotonic()

    importer = threading.Thread(target=bulk_import)
    importer.start()
    time.sleep(1.0)  # the import is writing its chunks now
    carts = []
    for i in range(20):
        started = time.monotonic()
        status, body = call(base, "POST", "/api/cart/items", timeout=60,
                            headers={"Host": "other.example.com", "X-Session-ID": f"shopper-{i}"},
                            body={"subcategory_id": other_variant, "quantity": 1})
        carts.append((status, time.monotonic() - started, time.monotonic()))
        time.sleep(0.05)
    importer.join(600)

    status, body = outcome["import"]
    assert status == 200 and body["added"] == LINES, body
    assert [s for s, _, _ in carts] == [200] * 20, carts
    slowest = max(took for _, took, _ in carts)
    assert slowest < 1.0, carts
    assert any(done < outcome["import_done"] for _, _, done in carts), "the import ended before the carts ran"
    with app.app_context(), tenant_scope(store_id):
        assert db.session.scalar(select(func.count()).select_from(StockItem)) == LINES
        assert db.session.get(Variant, bulk_variant).stock_count == LINES
