"""The import pages: the sysadmin's WooCommerce migration (form, progress bar, problems, resume) and
the admin's CSV import (preview with the column mapping, progress fragment that stops polling once
done). Against the fake WooCommerce (tests/fakes/woocommerce_server.py); jobs run inline."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from extensions import db
from models import ImportJob
from services import crypto
from tenancy import tenant_scope
from tests.fakes.woocommerce_server import FakeWoo
from tests.web.test_admin_orders_pages import HX, as_role, new_client, page_token
from tests.web.test_auth_pages import csrf, login


@pytest.fixture(scope="module")
def fake():
    with FakeWoo(n_products=30) as server:
        yield server


@pytest.fixture
def root_client(app, make, store, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_ALLOW_PRIVATE_URLS", True)
    monkeypatch.setitem(app.config, "IMPORT_RETRY_BACKOFF", 0.01)
    client = new_client(app)
    root = make.user(None, role="SYSADMIN")
    assert login(client, root.email).status_code == 302
    return client


def test_a_sysadmin_moves_a_store_in_from_woocommerce(app, root_client, store, fake):
    client = root_client
    page = client.get("/sysadmin/migrations")
    assert page.status_code == 200 and b"Move a store in from WooCommerce" in page.data
    refused = client.post("/sysadmin/migrations", data={"csrf_token": csrf(page.data), "store": "nope", "url": fake.url,
                                                        "consumer_key": fake.key, "consumer_secret": fake.secret})
    assert refused.status_code == 404 or b"No such store" in refused.data
    assert fake.secret.encode() not in refused.data  # the secret is never sent back
    started = client.post("/sysadmin/migrations", data={"csrf_token": csrf(page.data), "store": store.slug, "url": fake.url,
                                                        "consumer_key": fake.key, "consumer_secret": fake.secret})
    assert started.status_code == 302, started.data[:500]
    shown = client.get(started.headers["Location"])
    assert shown.status_code == 200
    assert b'data-status="DONE"' in shown.data and b'data-percent="100"' in shown.data
    assert b"<progress" in shown.data and b"hx-get" not in shown.data  # done: no more polling
    assert b"missing.jpg" in shown.data  # the broken image is listed
    listing = client.get("/sysadmin/migrations")
    assert fake.url.encode() in listing.data
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    fragment = client.get(f"/sysadmin/migrations/{job_id}/progress", headers=HX)
    assert fragment.status_code == 200 and b'id="import-progress"' in fragment.data


def test_a_running_import_polls_and_a_stopped_one_resumes(app, root_client, store, fake):
    with app.app_context(), tenant_scope(store):
        job = ImportJob(source="woocommerce", status="RUNNING", source_url=fake.url, total=30, done=10, report={})
        job.credentials_encrypted = crypto.encrypt(json.dumps({"key": fake.key, "secret": fake.secret}))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = root_client.get(f"/sysadmin/migrations/{job_id}")
    assert b'hx-trigger="every 1s"' in page.data and b"33 %" in page.data
    assert b"Resume" not in page.data  # progress a moment ago: its worker may be alive
    from tests.api.test_woocommerce_import import silence
    silence(app, store, job_id)
    page = root_client.get(f"/sysadmin/migrations/{job_id}")
    assert b"Resume" in page.data
    resumed = root_client.post(f"/sysadmin/migrations/{job_id}/resume", data={"csrf_token": csrf(page.data)})
    assert resumed.status_code == 302
    assert b'data-status="DONE"' in root_client.get(f"/sysadmin/migrations/{job_id}").data


def test_the_csv_pages(app, make, store):
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/import")
    assert page.status_code == 200 and b"Import products from CSV" in page.data
    data = (b"product,category,variant,price,min,max,description,image_url\n"
            b"Steam key,Games > PC,Global,19.99,1,5,<p>A key</p>,\n"
            b"Steam key,Games > PC,EU,17.50,1,5,,\n"
            b"Broken,Games,X,free,1,0,,\n")
    staged = admin.post("/admin/import", data={"csrf_token": page_token(page), "file": (io.BytesIO(data), "keys.csv")},
                        content_type="multipart/form-data")
    assert staged.status_code == 302
    preview = admin.get(staged.headers["Location"])
    body = preview.data.decode()
    assert 'data-testid="mapping"' in body and "<td>image_url</td><td>image_url</td>" in body
    assert "Steam key" in body and "price &#39;free&#39;" in body and "Import 2 rows" in body
    job_id = staged.headers["Location"].rsplit("/", 1)[1]
    admin.post(f"/admin/import/{job_id}/start", data={"csrf_token": page_token(preview)})
    done = admin.get(f"/admin/import/{job_id}/progress", headers=HX)
    assert b'data-status="DONE"' in done.data and b"hx-get" not in done.data
    assert b'data-testid="count-created">2<' in done.data
    with app.app_context():
        assert db.session.scalar(select(ImportJob.payload).where(ImportJob.id == job_id)
                                 .execution_options(all_stores=True)) is None  # the file is not kept after
