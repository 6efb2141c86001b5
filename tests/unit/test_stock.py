"""Stock import, set, clear and the cached counts; deliverables encrypted at rest."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from extensions import db
from models import Product, StockItem, Variant
from services import products as product_service
from services import stock
from services.errors import Invalid
from tenancy import tenant_scope


@pytest.fixture
def variant(app, store):
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Steam Card", "variants": [{"title": "$10", "price": 1000}]})
        db.session.commit()
        return db.session.scalar(select(Variant).where(Variant.product_id == product.id))


def run(app, store, fn):
    with app.app_context(), tenant_scope(store):
        result = fn()
        db.session.commit()
        return result


def test_import_counts_blank_whitespace_and_duplicates(app, store, variant):
    source = "  AAA-1  \n\nBBB-2\nAAA-1\n   \nCCC-3\r\n"
    result = run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), source))
    assert (result.added, result.duplicate_in_file, result.already_known, result.total_lines) == (3, 1, 0, 4)
    assert result.stock_count == 3
    again = run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "BBB-2\nDDD-4"))
    assert (again.added, again.already_known) == (1, 1)
    with app.app_context(), tenant_scope(store):
        v = db.session.get(Variant, variant.id)
        product = db.session.get(Product, v.product_id)
        assert v.stock_count == 4 and product.stock_total == 4 and product.starting_at == 1000


def test_deliverables_are_encrypted_at_rest_and_hashes_are_keyed(app, store, variant):
    run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "SECRET-CODE-123"))
    with app.app_context():
        raw = db.session.execute(text("SELECT deliverable_encrypted, deliverable_hash FROM stock_items")).all()
        assert len(raw) == 1
        assert "SECRET-CODE-123" not in raw[0][0] and b"SECRET" not in bytes(raw[0][1])
        assert len(bytes(raw[0][1])) == 32
        with tenant_scope(store):
            item = db.session.scalar(select(StockItem))
            assert stock.reveal(item) == "SECRET-CODE-123"
            assert stock.masked(item) == "SE" + "•" * 11 + "23"


def test_set_replaces_unsold_keeps_sold_and_removed_codes_never_return(app, store, variant):
    run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "A\nB\nC\nD"))
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(StockItem).where(StockItem.deliverable_hash.isnot(None))
                           .where(StockItem.id == db.session.scalar(select(StockItem.id).limit(1))).values(is_sold=True))
        db.session.get(Variant, variant.id).stock_count -= 1  # as checkout does when it sells
        db.session.commit()
    result = run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "B\nC\nE", mode="set"))
    assert result.added == 1 and result.stock_count == 3  # B, C kept (if unsold), E added
    assert result.removed >= 1
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(StockItem).where(StockItem.is_sold.is_(True))).removed_at is None
    cleared = run(app, store, lambda: stock.clear_stock(db.session.get(Variant, variant.id)))
    assert cleared == 3
    back = run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "A\nB\nE\nZ"))
    assert back.added == 1 and back.already_known == 3 and back.stock_count == 1


def test_empty_import_and_physical_products_are_refused(app, store, variant):
    with app.app_context(), tenant_scope(store):
        with pytest.raises(Invalid, match="empty"):
            stock.import_stock(db.session.get(Variant, variant.id), "\n   \n")
        db.session.rollback()
        physical = product_service.create_product({"title": "Mug", "kind": "physical",
                                           "variants": [{"title": "Blue", "price": 500, "stock_count": 7}]})
        v = db.session.scalar(select(Variant).where(Variant.product_id == physical.id))
        assert v.stock_count == 7 and physical.stock_total == 7
        with pytest.raises(Invalid):
            stock.import_stock(v, "X")
        db.session.rollback()


def test_csv_and_custom_delimiters(app, store, variant):
    result = run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id),
                                                        'a,b,"c,d"\ne', delimiter=","))
    assert result.added == 4
    result = run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "x|y|x", delimiter="|"))
    assert (result.added, result.duplicate_in_file) == (2, 1)


def test_the_same_code_in_two_stores_is_independent(app, store, other_store, variant):
    run(app, store, lambda: stock.import_stock(db.session.get(Variant, variant.id), "SHARED"))
    with app.app_context(), tenant_scope(other_store):
        product = product_service.create_product({"title": "Other card", "variants": [{"title": "x", "price": 1}]})
        v = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        result = stock.import_stock(v, "SHARED")
        assert result.added == 1
        db.session.rollback()
