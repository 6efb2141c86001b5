"""The WooCommerce import (`POST /api/migration/woocommerce/import`, SysAdmin) against a fake
WooCommerce on 127.0.0.1 (tests/fakes/woocommerce_server.py): 240 products over 5 pages of 50,
variable products, a 404 image, a body that is no image, an image above the byte limit, and a 429
once. Jobs run inline (no Redis): the import has run when the POST has answered.

Proof: run twice with no duplicates and the counts of the fake's catalogue; a job killed after two
batches and resumed ends with the same catalogue; a dry run writes nothing; the secret is nowhere in
clear; the plan's product limit skips the rest with the reason."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from extensions import db
from models import (
    AuditEntry,
    Category,
    ExternalRef,
    ImportJob,
    Plan,
    Product,
    ProductImage,
    Store,
    Tag,
    Variant,
)
from services import migration
from tenancy import tenant_scope
from tests.fakes.woocommerce_server import FakeWoo

URL = "/api/migration/woocommerce/import"


@pytest.fixture(scope="module")
def fake():
    with FakeWoo(n_products=240) as server:
        yield server


@pytest.fixture(autouse=True)
def _settings(app, monkeypatch, fake):
    monkeypatch.setitem(app.config, "IMPORT_ALLOW_PRIVATE_URLS", True)
    monkeypatch.setitem(app.config, "IMPORT_RETRY_BACKOFF", 0.01)
    fake.fail_once = {"products?page=2"}


@pytest.fixture
def root(make):
    return make.user(None, role="SYSADMIN", username="root", email="root@platform.example")


def start(client, make, root, store, fake, **extra):
    body = {"store": store.slug, "url": fake.url, "consumer_key": fake.key, "consumer_secret": fake.secret, **extra}
    response = client.post(URL, json=body, headers=make.headers(root, store))
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def status(client, make, root, store, job_id):
    response = client.get(f"/api/migration/imports/{job_id}", headers=make.headers(root, store))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def tally(app, store) -> dict:
    with app.app_context(), tenant_scope(store):
        def n(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(*where))
        return {"products": n(Product, Product.deleted_at.is_(None)), "variants": n(Variant, Variant.deleted_at.is_(None)),
                "categories": n(Category), "tags": n(Tag), "images": n(ProductImage),
                "refs": n(ExternalRef), "skus": n(Variant, Variant.sku.is_not(None))}


def test_an_import_run_twice_makes_the_catalogue_once(app, client, make, store, root, fake):
    before = tally(app, store)
    first = start(client, make, root, store, fake)
    job = status(client, make, root, store, first["id"])
    assert job["status"] == "DONE", job
    assert (job["total"], job["done"], job["percent"]) == (240, 240, 100)
    assert (job["created"], job["updated"], job["skipped"]) == (240, 0, 0)
    assert job["counts"]["category"]["created"] == len(fake.categories)
    assert job["counts"]["tag"]["created"] == len(fake.tags)
    assert job["counts"]["variant"]["created"] == fake.variant_count
    after = tally(app, store)
    assert after["products"] - before["products"] == 240
    assert after["variants"] - before["variants"] == fake.variant_count
    assert after["categories"] - before["categories"] == len(fake.categories)
    assert after["tags"] - before["tags"] == len(fake.tags)
    assert after["images"] - before["images"] == 12  # the good ones; the broken three are reported
    reasons = " ".join(p["reason"] for p in job["problems"])
    assert "missing.jpg: the address answered 404" in reasons
    assert "not-an-image.jpg" in reasons and "huge.png: the file is larger than" in reasons
    # the 429 was waited out: page 2 was asked twice
    assert sum(1 for path, p in fake.requests if path.endswith("/products") and p.get("page") == "2") >= 2

    # the tree, a price in minor units, variants with their attributes, physical stock, digital kind
    with app.app_context(), tenant_scope(store):
        child = next(c for c in fake.categories if c["slug"] == "clothing-sale-hoodies")
        local = db.session.scalar(select(Category).where(Category.title == child["name"]))
        parent = db.session.get(Category, local.parent_id)
        assert parent.title == "Clothing Sale" and db.session.get(Category, parent.parent_id).title == "Clothing"
        simple = next(p for p in fake.products if p["type"] == "simple" and p["manage_stock"])
        variant = db.session.scalar(select(Variant).where(Variant.sku == simple["sku"]))
        from decimal import Decimal
        assert variant.price == int(Decimal(simple["price"]) * 100)
        assert variant.stock_count == simple["stock_quantity"]
        product = db.session.get(Product, variant.product_id)
        assert product.kind == "physical" and "<script>" not in product.description
        virtual = next(p for p in fake.products if p["virtual"])
        vv = db.session.scalar(select(Variant).where(Variant.sku == virtual["sku"]))
        assert db.session.get(Product, vv.product_id).kind == "digital" and vv.stock_count == 0
        variable = next(p for p in fake.products if p["type"] == "variable")
        rows = fake.variations[variable["id"]]
        got = db.session.scalars(select(Variant).where(Variant.sku.in_([r["sku"] for r in rows]))).all()
        assert len(got) == len(rows)
        assert {v.title for v in got} == {f"{r['attributes'][0]['option']} / {r['attributes'][1]['option']}" for r in rows}

    # again: nothing new, everything skipped; then one price changes in WooCommerce: one update
    second = start(client, make, root, store, fake)
    job2 = status(client, make, root, store, second["id"])
    assert job2["status"] == "DONE"
    assert (job2["created"], job2["updated"], job2["skipped"]) == (0, 0, 240)
    assert tally(app, store) == after
    changed = next(p for p in fake.products if p["type"] == "simple")
    old = changed["price"]
    changed["price"] = changed["regular_price"] = "999.99"
    try:
        third = status(client, make, root, store, start(client, make, root, store, fake)["id"])
    finally:
        changed["price"] = changed["regular_price"] = old
    assert (third["created"], third["updated"], third["skipped"]) == (0, 1, 239)
    assert tally(app, store) == after
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Variant.price).where(Variant.sku == changed["sku"])) == 99999


def test_a_dry_run_reports_and_writes_nothing(app, client, make, store, root, fake):
    before = tally(app, store)
    job = status(client, make, root, store, start(client, make, root, store, fake, dry_run=True)["id"])
    assert job["status"] == "DONE" and job["dry_run"] is True
    assert (job["created"], job["updated"], job["skipped"]) == (240, 0, 0)
    assert job["counts"]["variant"]["created"] == fake.variant_count
    assert job["counts"]["image"]["created"] == 15  # would be tried
    assert tally(app, store) == before


def test_an_interrupted_import_resumed_completes_once(app, client, make, store, root, fake, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_THREAD", False)  # the job dies inside this request: it is seen here
    class Killed(BaseException):
        """The worker dying: nothing in the job catches it."""

    original = migration.woo_batches
    batches = []

    def dies_after_two(run):
        for batch in original(run):
            batches.append(batch)
            yield batch
            if len(batches) == 3:  # taxonomy + 2 pages committed, the third page never starts
                raise Killed()

    monkeypatch.setattr(migration, "woo_batches", dies_after_two)
    body = {"store": store.slug, "url": fake.url, "consumer_key": fake.key, "consumer_secret": fake.secret}
    with pytest.raises(Killed):
        client.post(URL, json=body, headers=make.headers(root, store))
    with app.app_context():
        job = db.session.scalar(select(ImportJob).execution_options(all_stores=True)
                                .order_by(ImportJob.created_at.desc()).limit(1))
        job_id, state = job.id, (job.status, job.cursor, job.done, job.created)
    assert state == ("RUNNING", 3, 100, 100)  # two whole pages are in, with their progress
    assert tally(app, store)["products"] >= 100
    monkeypatch.setattr(migration, "woo_batches", original)
    busy = client.post(f"/api/migration/imports/{job_id}/resume", headers=make.headers(root, store))
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "import_running"  # it may still be alive
    silence(app, store, job_id)
    response = client.post(f"/api/migration/imports/{job_id}/resume", headers=make.headers(root, store))
    assert response.status_code == 202, response.get_json()
    job = status(client, make, root, store, job_id)
    assert job["status"] == "DONE" and (job["done"], job["created"]) == (240, 240)
    after = tally(app, store)
    assert after["variants"] >= fake.variant_count
    with app.app_context(), tenant_scope(store):
        dupes = db.session.execute(select(Product.title, func.count()).where(Product.deleted_at.is_(None))
                                   .group_by(Product.title).having(func.count() > 1)).all()
        assert dupes == []


def test_the_secret_is_never_kept_in_clear(app, client, make, store, root, fake):
    job = start(client, make, root, store, fake, dry_run=True)
    assert fake.secret not in json.dumps(job)
    with app.app_context():
        row = db.session.scalar(select(ImportJob).where(ImportJob.id == job["id"]).execution_options(all_stores=True))
        assert row.credentials_encrypted is None  # done: not kept at all
        entries = db.session.scalars(select(AuditEntry).execution_options(all_stores=True)
                                     .where(AuditEntry.resource_type == "import")).all()
        assert entries and all(fake.secret not in json.dumps(e.changes) for e in entries)
    # over plain http the secret goes as an OAuth 1.0a signature, never in a URL
    assert not any(fake.secret in json.dumps(params) for _, params in fake.requests)


def test_the_plan_limit_skips_what_does_not_fit(app, client, make, store, root, fake):
    with app.app_context():
        plan = Plan(slug="tiny-import", name="Tiny", monthly_price=100, currency="EUR", max_products=10, max_staff=None,
                    custom_domain_allowed=False, features=[])
        db.session.add(plan)
        db.session.flush()
        db.session.get(Store, store.id).plan_id = plan.id
        db.session.commit()
    existing = tally(app, store)["products"]
    job = status(client, make, root, store, start(client, make, root, store, fake)["id"])
    assert job["status"] == "DONE"
    assert job["created"] == 10 - existing and job["skipped"] == 240 - (10 - existing)
    assert any("plan allows 10 products" in p["reason"] for p in job["problems"])
    assert tally(app, store)["products"] == 10


def test_a_refused_key_fails_the_job_with_the_reason(app, client, make, store, root, fake):
    body = {"store": store.slug, "url": fake.url, "consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"}
    started = client.post(URL, json=body, headers=make.headers(root, store)).get_json()
    job = status(client, make, root, store, started["id"])
    assert job["status"] == "FAILED" and "401" in job["error"]
    assert "cs_wrong" not in json.dumps(job)


def test_refusals(client, make, store, root, fake):
    headers = make.headers(root, store)
    body = {"store": "nope", "url": fake.url, "consumer_key": "k", "consumer_secret": "s"}
    assert client.post(URL, json=body, headers=headers).status_code == 404
    bad_url = client.post(URL, json={**body, "store": store.slug, "url": "ftp://x.example"}, headers=headers)
    assert bad_url.status_code == 422
    admin = make.user(store, role="ADMIN")
    assert client.post(URL, json={**body, "store": store.slug}, headers=make.headers(admin, store)).status_code == 403
    assert client.get("/api/migration/imports/00000000-0000-4000-8000-000000000000", headers=headers).status_code == 404


def silence(app, store, job_id) -> None:
    """The worker of a RUNNING job died: no progress for longer than ``migration.STALE_AFTER``."""
    from datetime import UTC, datetime

    from sqlalchemy import update as sa_update

    from extensions import db as _db
    from models import ImportJob as _Job
    from services import migration as _migration
    from tenancy import tenant_scope as _scope

    with app.app_context(), _scope(store):
        _db.session.execute(sa_update(_Job).where(_Job.id == job_id).values(
            updated_at=datetime.now(UTC) - _migration.STALE_AFTER - _migration.STALE_AFTER / 10))
        _db.session.commit()
