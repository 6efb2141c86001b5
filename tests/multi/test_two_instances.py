"""Two machines' worth of the platform: two gunicorn web instances and two RQ workers, separate
processes, against one PostgreSQL database and one Redis database (issue 16, "Many machines").

What one instance does, the other honours at once: a settings change, a new category and a
blacklist entry (the read caches' generations in Redis), a page session and a JWT (and their
logout), a rate limit's count.
The same webhook sent to both at once is applied once; the periodic jobs run once per period across
both workers; a worker killed with SIGKILL while it runs a job loses nothing: the other worker
runs the job again, and its effect happens exactly once.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import create_engine, func, select, text, update

from extensions import db
from tests.cluster import Cluster
from tests.conftest import (
    REDIS_TEST_URL,
    base_config,
    create_pg_database,
    drop_pg_database,
    make_app,
    migrate,
    port_open,
    service_missing,
    stripe_settings,
)
from tests.fakes import stripe_server

pytestmark = pytest.mark.multi_instance

PASSWORD = "a-long-enough-password"
WORKER_ENV = {"RQ_JOB_MONITORING_SECONDS": 1, "RQ_ABANDONED_GRACE_SECONDS": 3, "RQ_CRON_TICK_SECONDS": 1,
              "RQ_MAINTENANCE_SECONDS": 5}


def _seed(app) -> dict:
    """A default store taking balance and card payments, an admin, a shopper with money, a product
    with stock, an unpaid order past its time and a completed order past its feedback window."""
    from models import Order, Role, Store, User, Variant
    from services import auth, balance, checkout, payments, stock
    from services import cart as cart_service
    from services import products as product_service
    from services import stores as store_service
    from tenancy import tenant_scope

    with app.test_request_context():
        store = store_service.create_store("main", "Main Store", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            store = db.session.get(Store, store.id)
            store_service.update_settings(store, {"enforced_ratings": True, "feedback_window_days": 7})
            payments.set_methods(store, {"BALANCE": True, "STRIPE": True})
            auth.create_user(username="boss", email="boss@example.com", password=PASSWORD, role=Role.ADMIN,
                             check_strength=False)
            buyer = auth.create_user(username="buyer", email="buyer@example.com", password=PASSWORD,
                                     role=Role.USER, check_strength=False)
            balance.credit(buyer.id, 100_000, "topup", reason="seed")
            product = product_service.create_product({"title": "Game Key", "variants": [{"title": "Key", "price": 1000}]})
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            stock.import_stock(variant, "\n".join(f"KEY-{n:03d}" for n in range(30)))
            db.session.commit()
            buyer = db.session.get(User, buyer.id)
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, variant.id, 2)
            late = checkout.place_order(store, cart, buyer=buyer, method="MANUAL").order
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, variant.id, 1)
            old = checkout.place_order(store, cart, buyer=buyer, method="BALANCE").order
            db.session.execute(update(Order).where(Order.id == late.id)
                               .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
            db.session.execute(update(Order).where(Order.id == old.id)
                               .values(completed_at=datetime.now(UTC) - timedelta(days=8)))
            db.session.commit()
            return {"store_id": store.id, "variant_id": variant.id, "late_order": late.id, "old_order": old.id}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    redis = Redis.from_url(REDIS_TEST_URL)
    redis.flushdb()
    tmp = tmp_path_factory.mktemp("two-instances")
    name = f"vstore_multi_{os.getpid()}"
    url = create_pg_database(name)
    fake = stripe_server.FakeStripe(connect_webhook_secret="whsec_test_connect").start()
    stripe = stripe_settings(fake)
    config = base_config(tmp, url, REDIS_URL=REDIS_TEST_URL, **stripe)
    app = make_app(config)
    migrate(app)
    seeded = _seed(app)
    redis.flushdb()  # what seeding queued (emails) is not part of the test; no periodic key either
    env = {k: v for k, v in config.items() if isinstance(v, (str, int, float)) and k.isupper()
           and k not in ("TESTING", "STORE_CACHE_SECONDS")}
    env.update(STORE_CACHE_SECONDS=60, LOGIN_RATE_LIMIT="50 per minute", RESET_RATE_LIMIT="6 per minute",
               **WORKER_ENV)
    started = time.monotonic()
    instances = Cluster(url, REDIS_TEST_URL, tmp, env=env)
    try:
        instances.start(timeout=90)
        instances.app, instances.fake, instances.seeded, instances.redis = app, fake, seeded, redis
        instances.workers_started = started
        yield instances
    finally:
        instances.stop()
        fake.stop()
        with app.app_context():
            db.engine.dispose()
        redis.flushdb()
        drop_pg_database(name)


def _login(base: str, email: str) -> dict:
    response = requests.post(base + "/api/auth/login", json={"login": email, "password": PASSWORD}, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def _scalar(cluster, stmt):
    from tenancy import tenant_scope

    with cluster.app.app_context(), tenant_scope(cluster.seeded["store_id"]):
        return db.session.scalar(stmt)


def _wait(predicate, timeout: float, what: str, cluster=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout} s" + (f"\n{cluster.logs()}" if cluster else ""))


# --- web instances ---------------------------------------------------------------------------------

def test_a_settings_change_and_a_new_category_on_a_show_on_b_at_once(cluster):
    a, b = cluster.web_urls
    admin = _bearer(_login(a, "boss@example.com"))
    assert "Main Store" in requests.get(b + "/", timeout=20).text  # B has the store and categories cached
    assert "Boxed Games" not in requests.get(b + "/search", timeout=20).text
    changed = requests.post(a + "/api/admin/config/update", json={"name": "Renamed Store"}, headers=admin, timeout=20)
    assert changed.status_code == 200, changed.text
    created = requests.post(a + "/api/categories", json={"title": "Boxed Games"}, headers=admin, timeout=20)
    assert created.status_code in (200, 201), created.text
    # the very next request to B (the caches live 60 s here): no waiting
    assert requests.get(b + "/api/public/config", timeout=20).json()["store_name"] == "Renamed Store"
    page = requests.get(b + "/search", timeout=20).text
    assert "Boxed Games" in page and "Renamed Store" in page
    generations = cluster.redis.keys("vstores:cache-gen:*")
    assert b"vstores:cache-gen:shop_categories" in generations


def test_a_blacklist_entry_added_on_a_refuses_a_sign_in_on_b_at_once(cluster):
    """B remembers that the store blocks nobody (its cache lives 60 s here); an entry an admin adds
    through A is honoured by B on the very next sign-in, and so is its removal."""
    a, b = cluster.web_urls
    admin = _bearer(_login(a, "boss@example.com"))
    _login(b, "buyer@example.com")  # B now knows: nobody is blocked
    listed = requests.post(a + "/api/admin/blacklist", json={"kind": "email", "value": "buyer@example.com"},
                           headers=admin, timeout=20)
    assert listed.status_code == 201, listed.text
    refused = requests.post(b + "/api/auth/login", json={"login": "buyer@example.com", "password": PASSWORD}, timeout=20)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "blacklisted", refused.text
    assert b"vstores:cache-gen:blacklist_exists" in cluster.redis.keys("vstores:cache-gen:*")
    removed = requests.delete(a + f"/api/admin/blacklist/{listed.json()['id']}", headers=admin, timeout=20)
    assert removed.status_code == 204, removed.text
    _login(b, "buyer@example.com")


def test_a_page_session_and_a_token_from_a_work_on_b_and_a_logout_on_a_holds_on_b(cluster):
    a, b = cluster.web_urls
    tokens = _login(a, "buyer@example.com")
    me = requests.get(b + "/api/auth/me", headers=_bearer(tokens), timeout=20)
    assert me.status_code == 200 and me.json()["email"] == "buyer@example.com"
    out = requests.post(a + "/api/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                        headers=_bearer(tokens), timeout=20)
    assert out.status_code in (200, 204), out.text
    assert requests.get(b + "/api/auth/me", headers=_bearer(tokens), timeout=20).status_code == 401
    assert requests.post(b + "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                         timeout=20).status_code == 401

    browser = requests.Session()  # cookies are per host, not per port: one browser, two instances
    form = browser.get(a + "/login", timeout=20).text
    signed_in = browser.post(a + "/login", data={"csrf_token": _csrf(form), "login": "buyer", "password": PASSWORD},
                             allow_redirects=False, timeout=20)
    assert signed_in.status_code == 302, signed_in.text[-500:]
    kept = browser.cookies.get("session")
    account = browser.get(b + "/account", allow_redirects=False, timeout=20)
    assert account.status_code == 200 and "buyer@example.com" in account.text
    home = browser.get(a + "/", timeout=20).text
    assert browser.post(a + "/logout", data={"csrf_token": _csrf(home)}, allow_redirects=False,
                        timeout=20).status_code == 302
    replayed = requests.get(b + "/account", cookies={"session": kept}, allow_redirects=False, timeout=20)
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]


def test_a_rate_limit_counts_requests_to_both_instances(cluster):
    a, b = cluster.web_urls
    statuses = []
    for n in range(8):  # RESET_RATE_LIMIT is 6 per minute, per client address
        base = (a, b)[n % 2]
        statuses.append(requests.post(base + "/api/auth/forgot-password", json={"email": "nobody@example.com"},
                                      timeout=20).status_code)
    assert statuses == [202] * 6 + [429, 429], statuses  # each instance alone saw only 3 or 4


def _stripe_order(cluster, base: str, tokens: dict) -> tuple[str, dict]:
    """A STRIPE order placed through ``base``; (its id, the signed checkout.session.completed event)."""
    fake, headers = cluster.fake, _bearer(tokens)
    added = requests.post(base + "/api/cart/items", json={"subcategory_id": cluster.seeded["variant_id"], "quantity": 1},
                          headers=headers, timeout=20)
    assert added.status_code == 200, added.text
    placed = requests.post(base + "/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=headers, timeout=30)
    assert placed.status_code == 201, placed.text
    session_id = placed.json()["redirect_url"].rsplit("/", 1)[1]
    seen = len(fake.events)
    fake.complete_session(session_id)
    event = next(e for e in fake.events[seen:] if e["type"] == "checkout.session.completed")
    return placed.json()["id"], event


def _post_event(base: str, fake, event: dict) -> requests.Response:
    body = json.dumps(event).encode()
    return requests.post(base + "/api/webhooks/stripe", data=body, timeout=20, headers={
        "Stripe-Signature": stripe_server.sign(body, fake.secret_for(event)), "Content-Type": "application/json"})


def _sold(cluster, order_id: str) -> int:
    from models import StockItem

    return _scalar(cluster, select(func.count()).select_from(StockItem).where(StockItem.order_id == order_id))


def test_the_same_webhook_sent_to_both_instances_at_once_is_applied_once(cluster):
    from models import Order, Payment, WebhookEvent

    a, b = cluster.web_urls
    tokens = _login(a, "buyer@example.com")
    order_id, event = _stripe_order(cluster, b, tokens)
    answers: list = []
    barrier = threading.Barrier(4)

    def send(base):
        barrier.wait()
        answers.append(_post_event(base, cluster.fake, event))

    threads = [threading.Thread(target=send, args=(base,)) for base in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in answers) == [200] * 4, [r.text for r in answers]
    assert sum(1 for r in answers if not r.json()["duplicate"]) == 1
    _wait(lambda: _scalar(cluster, select(Order.payment_status).where(Order.id == order_id)) == "PAID", 30,
          "the order paid by the worker", cluster)
    _wait(lambda: _scalar(cluster, select(WebhookEvent.status).where(WebhookEvent.event_id == event["id"]))
          == "PROCESSED", 30, "the event settled", cluster)
    row = _scalar(cluster, select(WebhookEvent).where(WebhookEvent.event_id == event["id"]))
    assert row.deliveries == 4
    assert _scalar(cluster, select(func.count()).select_from(Payment).where(Payment.order_id == order_id)) == 1
    assert _sold(cluster, order_id) == 1


# --- workers ------------------------------------------------------------------------------------

def _runs(cluster, name: str) -> int:
    """How many times the periodic job ``name`` was started, by any worker (RQ's registries)."""
    from rq import Queue
    from rq.job import Job

    q = Queue("default", connection=cluster.redis)
    ids = set(q.finished_job_registry.get_job_ids()) | set(q.started_job_registry.get_job_ids()) \
        | set(q.failed_job_registry.get_job_ids()) | set(q.job_ids)
    jobs = [j for j in Job.fetch_many(list(ids), connection=cluster.redis) if j is not None]
    return sum(1 for j in jobs if j.args and j.args[0] == f"jobs.schedule.{name}")


def test_periodic_jobs_run_once_per_period_across_both_workers(cluster):
    from models import Order, Review, Variant

    seeded = cluster.seeded
    _wait(lambda: _scalar(cluster, select(Order.status).where(Order.id == seeded["late_order"])) == "EXPIRED", 30,
          "the late order expired", cluster)
    _wait(lambda: _scalar(cluster, select(Review.id).where(Review.order_id == seeded["old_order"])), 30,
          "the enforced rating", cluster)
    _wait(lambda: _runs(cluster, "expire_store_orders") >= 1 and _runs(cluster, "enforce_store_ratings") >= 1, 30,
          "the per-store jobs ran", cluster)
    time.sleep(3)  # both cron threads ticked (every second) several more times
    elapsed = time.monotonic() - cluster.workers_started
    # (job, its period): once per period across both workers; the fan-outs once per store per run
    for name, period in (("expire_orders", 60), ("enforce_ratings", 3600), ("purge_revoked_tokens", 3600),
                         ("expire_store_orders", 60), ("enforce_store_ratings", 3600)):
        periods = int(elapsed // period) + 1  # 1 unless this machine was slow enough to start a second
        assert 1 <= _runs(cluster, name) <= periods, (name, _runs(cluster, name), elapsed)
    assert _scalar(cluster, select(func.count()).select_from(Review).where(Review.order_id == seeded["old_order"])) == 1
    # the expired order's two keys are back on sale (30 imported, 1 sold before, 1 by the webhook test)
    assert _scalar(cluster, select(Variant.stock_count).where(Variant.id == seeded["variant_id"])) == 28


def test_a_worker_killed_mid_job_loses_no_job_and_the_rerun_applies_it_once(cluster):
    from rq import Queue, Worker
    from rq.job import Job

    from models import Order, Payment, WebhookEvent

    a, b = cluster.web_urls
    tokens = _login(b, "buyer@example.com")
    order_id, event = _stripe_order(cluster, a, tokens)
    engine = create_engine(cluster.app.config["SQLALCHEMY_DATABASE_URI"])
    blocker = engine.connect()
    try:
        # hold the order's row: the webhook job (which locks the event, then the order) stops mid-way
        blocker.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id})
        assert _post_event(a, cluster.fake, event).status_code == 200
        webhooks = Queue("webhooks", connection=cluster.redis)

        def started():
            for started_id in webhooks.started_job_registry.get_job_ids():
                found = Job.fetch(started_id, connection=cluster.redis)
                if found.worker_name:
                    return found
            return None

        job = _wait(started, 20, "the webhook job started", cluster)
        job_id = job.id
        running = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                     connection=cluster.redis)
        index = next(i for i, proc in enumerate(cluster.workers) if proc is not None and proc.pid == running.pid)
        cluster.kill_worker(index)
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
    # the dead worker's heartbeat lapses (1 + 3 s here), the survivor's cron thread requeues the job
    _wait(lambda: _scalar(cluster, select(Order.payment_status).where(Order.id == order_id)) == "PAID", 45,
          "the job re-run by the other worker", cluster)
    job = Job.fetch(job_id, connection=cluster.redis)
    _wait(lambda: job.get_status(refresh=True) == "finished", 15, "the job finished", cluster)
    row = _scalar(cluster, select(WebhookEvent).where(WebhookEvent.event_id == event["id"]))
    assert row.status == "PROCESSED" and row.attempts == 1  # the killed run's count was never committed
    assert _scalar(cluster, select(func.count()).select_from(Payment).where(Payment.order_id == order_id)) == 1
    assert _sold(cluster, order_id) == 1
    cluster.start_worker(index)  # the machine comes back; nothing runs twice
    time.sleep(2)
    assert _sold(cluster, order_id) == 1
