"""The CSV import (admins, /admin/import): upload, the preview with the columns, the first rows and
every problem, the import as a job (inline here), the summary CSV. On both databases.

Proof: 10,000 rows with 50 bad ones import the 9,950 good rows (and list the 50 with their line
and reason), then the same file again changes nothing; a WooCommerce export with a variable product
and its variations; a job killed after a batch and run again finishes with no duplicates."""
from __future__ import annotations

import csv
import io
import re
import time

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Category, ExternalRef, ImportJob, Product, Variant
from services import csv_import, migration
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import as_role, page_token

GENERIC_HEADER = ["product", "category", "variant", "price", "min", "max", "description", "image_url", "sku"]


def generic_file(n_rows: int, n_bad: int, *, per_product: int = 4) -> tuple[bytes, set[int]]:
    """``n_rows`` rows (``per_product`` variants a product), ``n_bad`` of them broken in different
    ways. Returns the file and the line numbers of the bad rows (the header is line 1)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(GENERIC_HEADER)
    step = n_rows // n_bad if n_bad else 0
    bad_lines = set()
    breakers = [
        lambda r: r.__setitem__(3, "twelve"),          # price not a number
        lambda r: r.__setitem__(0, ""),                # no product
        lambda r: r.__setitem__(3, "-3.00"),           # negative
        lambda r: (r.__setitem__(4, "5"), r.__setitem__(5, "2")),  # min above max
        lambda r: r.__setitem__(3, "1.234"),           # more decimals than EUR has
    ]
    for i in range(n_rows):
        p = i // per_product
        row = [f"Game {p:05d}", "Games > PC" if p % 2 else "Gift cards", f"Edition {i % per_product}",
               f"{5 + i % 50}.99", "1", "0" if i % 3 else "10", f"<p>About game {p}</p>", "", f"SKU-{i:06d}"]
        if step and i % step == step - 1 and len(bad_lines) < n_bad:
            breakers[len(bad_lines) % len(breakers)](row)
            bad_lines.add(i + 2)
        writer.writerow(row)
    return out.getvalue().encode(), bad_lines


@pytest.fixture
def admin(app, make, store):
    client, user = as_role(app, make, store, "ADMIN")
    return client


def upload(client, data: bytes, name="products.csv"):
    page = client.get("/admin/import")
    assert page.status_code == 200
    response = client.post("/admin/import", data={"csrf_token": page_token(page), "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.data[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def run_import(client, job_id):
    page = client.get(f"/admin/import/{job_id}")
    assert page.status_code == 200
    response = client.post(f"/admin/import/{job_id}/start", data={"csrf_token": page_token(page)})
    assert response.status_code == 302
    return client.get(f"/admin/import/{job_id}")


def job_of(app, store, job_id) -> ImportJob:
    with app.app_context(), tenant_scope(store):
        return db.session.get(ImportJob, job_id)


def counts(app, store) -> dict:
    with app.app_context(), tenant_scope(store):
        return {"products": db.session.scalar(select(func.count()).select_from(Product).where(Product.deleted_at.is_(None))),
                "variants": db.session.scalar(select(func.count()).select_from(Variant).where(Variant.deleted_at.is_(None))),
                "refs": db.session.scalar(select(func.count()).select_from(ExternalRef))}


def test_ten_thousand_rows_with_fifty_bad_ones(app, admin, store):
    data, bad_lines = generic_file(10_000, 50)
    before = counts(app, store)
    job_id = upload(admin, data)
    preview = admin.get(f"/admin/import/{job_id}").data.decode()
    assert "Generic CSV" in preview and "9950 rows to import" in preview
    assert "Game 00000" in preview  # the first rows
    listed = {int(n) for n in re.findall(r"<tr><td>(\d+)</td><td class=\"wrap\">", preview.split('data-testid="problems"')[1])}
    assert listed == bad_lines
    assert "price &#39;twelve&#39;" in preview or "price 'twelve'" in preview
    assert "min (5) is above max (2)" in preview and "product is empty" in preview

    started = time.perf_counter()
    page = run_import(admin, job_id)
    elapsed = time.perf_counter() - started
    job = job_of(app, store, job_id)
    assert job.status == "DONE", job.error
    assert (job.created, job.updated, job.skipped, job.failed) == (9950, 0, 0, 50)
    assert (job.done, job.total) == (9950, 9950)
    after = counts(app, store)
    assert after["variants"] - before["variants"] == 9950
    assert after["products"] - before["products"] == 2500
    assert b'data-percent="100"' in page.data
    with app.app_context(), tenant_scope(store):
        pc = db.session.scalar(select(Category).where(Category.title == "PC"))
        assert db.session.get(Category, pc.parent_id).title == "Games"
        variant = db.session.scalar(select(Variant).where(Variant.sku == "SKU-000005"))
        assert (variant.price, variant.max_quantity, variant.title) == (1099, 0, "Edition 1")
        product = db.session.get(Product, variant.product_id)
        assert (product.title, product.starting_at, product.kind) == ("Game 00001", 999, "digital")
    summary = admin.get(f"/admin/import/{job_id}/summary.csv")
    assert summary.status_code == 200 and summary.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(summary.data.decode())))
    assert ["created", "9950"] in lines and ["failed", "50"] in lines
    assert {int(r[0]) for r in lines if r and r[0].isdigit()} == bad_lines
    print(f"\n10,000-row CSV import ({app.config['DATABASE_URL'].split(':')[0]}): {elapsed:.2f} s")

    # the same file again: nothing new, nothing changed
    again = upload(admin, data)
    run_import(admin, again)
    job = job_of(app, store, again)
    assert (job.created, job.updated, job.skipped, job.failed) == (0, 0, 9950, 50)
    assert counts(app, store) == after


def test_a_changed_price_updates_only_that_row(app, admin, store):
    data, _ = generic_file(40, 0)
    run_import(admin, upload(admin, data))
    changed = data.replace(b"SKU-000007", b"SKU-000007", 1).decode().splitlines()
    row = next(i for i, line in enumerate(changed) if line.endswith("SKU-000007"))
    parts = next(csv.reader([changed[row]]))
    parts[3] = "77.70"
    out = io.StringIO()
    csv.writer(out).writerow(parts)
    changed[row] = out.getvalue().strip()
    job_id = upload(admin, ("\n".join(changed) + "\n").encode())
    run_import(admin, job_id)
    job = job_of(app, store, job_id)
    assert (job.created, job.updated, job.skipped) == (0, 1, 39)
    with app.app_context(), tenant_scope(store):
        variant = db.session.scalar(select(Variant).where(Variant.sku == "SKU-000007"))
        assert variant.price == 7770
        assert db.session.get(Product, variant.product_id).starting_at == 999  # Edition 0 of Game 00001 is still the cheapest


WOO_EXPORT = """ID,Type,SKU,Name,Published,"Is featured?",Description,"In stock?",Stock,"Regular price","Sale price",Categories,Tags,Images,Parent,"Attribute 1 name","Attribute 1 value(s)","Attribute 2 name","Attribute 2 value(s)"
11,variable,HOOD,Hoodie,1,0,"<p>Warm</p>",1,,,,"Clothing > Hoodies",,,,Color,"Blue, Red",Size,"S, M"
12,variation,HOOD-B-S,"Hoodie - Blue, S",1,0,,1,5,45,,,,,id:11,Color,Blue,Size,S
13,variation,HOOD-R-M,"Hoodie - Red, M",1,0,,1,0,45,40,,,,id:11,Color,Red,Size,M
14,"simple, virtual",EBOOK,"An e-book",1,0,"<p>Read</p>",1,,9.99,,Books,,,,,,,
15,simple,MUG,Mug,1,0,,1,12,"8.50",,"Kitchen",,,,,,,
16,grouped,SET,"A set",1,0,,1,,,,,,,,,,,
17,variation,ORPHAN,"Lost",1,0,,1,1,5,,,,,id:99,Color,Red,,
18,simple,,"No price",1,0,,1,3,,,,,,,,,,
"""


def test_a_woocommerce_export(app, admin, store):
    before = counts(app, store)
    job_id = upload(admin, WOO_EXPORT.encode(), "wc-product-export.csv")
    preview = admin.get(f"/admin/import/{job_id}").data.decode()
    assert "WooCommerce export" in preview and "4 rows to import" in preview
    run_import(admin, job_id)
    job = job_of(app, store, job_id)
    assert job.status == "DONE" and (job.created, job.failed) == (4, 3)
    reasons = {p["line"]: p["reason"] for p in job.report["problems"]}
    assert "grouped type is not imported" in reasons[7]
    assert "is not a variable product of this file" in reasons[8]
    assert "price is empty" in reasons[9]
    assert counts(app, store)["products"] - before["products"] == 3
    with app.app_context(), tenant_scope(store):
        blue = db.session.scalar(select(Variant).where(Variant.sku == "HOOD-B-S"))
        red = db.session.scalar(select(Variant).where(Variant.sku == "HOOD-R-M"))
        assert blue.product_id == red.product_id
        assert (blue.title, blue.price, blue.stock_count) == ("Blue / S", 4500, 5)
        assert red.price == 4000  # the sale price
        hoodie = db.session.get(Product, blue.product_id)
        assert hoodie.title == "Hoodie" and hoodie.kind == "physical" and hoodie.stock_total == 5
        ebook = db.session.scalar(select(Variant).where(Variant.sku == "EBOOK"))
        assert db.session.get(Product, ebook.product_id).kind == "digital"
    again = upload(admin, WOO_EXPORT.encode(), "wc-product-export.csv")
    run_import(admin, again)
    assert (job_of(app, store, again).created, job_of(app, store, again).skipped) == (0, 4)


def test_an_interrupted_csv_import_run_again_finishes_once(app, admin, store, monkeypatch):
    import jobs.imports

    monkeypatch.setitem(app.config, "JOBS_THREAD", False)  # the job dies inside this request: it is seen here

    class Killed(BaseException):
        pass

    data, _ = generic_file(250, 0, per_product=5)
    job_id = upload(admin, data)
    original = csv_import.batches

    def dies(run):
        for n in original(run):
            yield n
            if n == 2:
                raise Killed()

    monkeypatch.setattr(csv_import, "batches", dies)
    page = admin.get(f"/admin/import/{job_id}")
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 100)
    with pytest.raises(Killed):
        admin.post(f"/admin/import/{job_id}/start", data={"csrf_token": page_token(page)})
    job = job_of(app, store, job_id)
    assert (job.status, job.cursor, job.done) == ("RUNNING", 2, 200)
    monkeypatch.setattr(csv_import, "batches", original)
    from transactions import execute
    assert execute(app, "jobs.imports.run_csv_import", store.id, [job_id], {}) == "nothing to do"  # RUNNING: not claimed
    from tests.api.test_woocommerce_import import silence
    silence(app, store, job_id)
    with app.app_context():
        migration.resume(job_id)
        db.session.commit()  # (inline: the job runs once this commits)
    job = job_of(app, store, job_id)
    assert job.status == "DONE" and (job.created, job.done) == (250, 250)
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Variant).where(Variant.sku.like("SKU-%"))) == 250
        assert db.session.scalar(select(func.count()).select_from(Product).where(Product.title.like("Game %"))) == 50
    assert jobs.imports


def test_refusals_and_access(app, make, store, admin):
    manager, _ = as_role(app, make, store, "MANAGER")
    assert manager.get("/admin/import").status_code == 403
    page = admin.get("/admin/import")
    bad = admin.post("/admin/import", data={"csrf_token": page_token(page), "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                     content_type="multipart/form-data")
    assert bad.status_code == 422 and b"Columns not recognised" in bad.data
    empty = admin.post("/admin/import", data={"csrf_token": page_token(page), "file": (io.BytesIO(b""), "x.csv")},
                       content_type="multipart/form-data")
    assert empty.status_code == 422


def test_the_plan_limit_and_images(app, admin, store, monkeypatch):
    from models import Plan, ProductImage, Store
    from tests.fakes.woocommerce_server import FakeWoo

    monkeypatch.setitem(app.config, "IMPORT_ALLOW_PRIVATE_URLS", True)
    with app.app_context():
        plan = Plan(slug="tiny-csv", name="Tiny", monthly_price=100, currency="EUR", max_products=3, max_staff=None,
                    custom_domain_allowed=False, features=[])
        db.session.add(plan)
        db.session.flush()
        db.session.get(Store, store.id).plan_id = plan.id
        db.session.commit()
    existing = counts(app, store)["products"]
    with FakeWoo(n_products=2) as fake:
        rows = ["product,variant,price,image_url"]
        rows.append(f"Pictured,A,3.00,{fake.url}/img/good-1.png")
        rows.append(f"Pictured,B,4.00,{fake.url}/img/good-1.png")
        rows.append(f"Broken picture,A,3.00,{fake.url}/img/missing.jpg")
        rows += [f"Extra {i},A,1.00," for i in range(5)]
        job_id = upload(admin, ("\n".join(rows) + "\n").encode())
        run_import(admin, job_id)
    job = job_of(app, store, job_id)
    assert existing == 0 and job.status == "DONE"
    assert counts(app, store)["products"] == 3  # Pictured, Broken picture, Extra 0
    assert (job.created, job.failed) == (4, 4)
    problems = {p["line"]: p["reason"] for p in job.report["problems"]}
    assert [line for line, r in problems.items() if "plan's product limit" in r] == [6, 7, 8, 9]
    assert problems[4] == "image not imported: the address answered 404"  # the product itself is in
    with app.app_context(), tenant_scope(store):
        pictured = db.session.scalar(select(Product).where(Product.title == "Pictured"))
        images = db.session.scalars(select(ProductImage).where(ProductImage.product_id == pictured.id)).all()
        assert len(images) == 1 and images[0].url.endswith(".webp")  # once for its two rows, re-encoded
        assert pictured.primary_image_url == images[0].url
