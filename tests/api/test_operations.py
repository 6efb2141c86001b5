"""Operations (issue 13): request ids and structured logs, Prometheus metrics at /metrics, liveness
and readiness, Sentry error reports (against a fake ingest server on 127.0.0.1)."""
from __future__ import annotations

import gzip
import io
import json
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
import structlog
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import event

import api.auth
from config import ConfigError, load_config
from extensions import db
from jobs import runner
from services import health as health_service
from services import observability
from tests.conftest import base_config, make_app, port_open, service_missing
from tests.payments import enable_methods, paid_stripe_order, stripe_post
from transactions import RQ_ENTRY_POINT

from .shop import shop_fixture  # noqa: F401 - the shop fixture

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
# Sent to a view that fails; built here so the report's source context (lines around each frame)
# cannot hold them either
BEARER, COOKIE, QUERY_TOKEN = "sup3r" + "-secret-bearer", "c00kie" + "-value", "t0k3n" + "-in-query"


# --- logs ---------------------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    """Every log line written while the test runs, as the JSON formatter renders it (the same
    ProcessorFormatter the app's root handler uses), parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.log_formatter("json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_sane_request_id_is_echoed_and_an_insane_one_replaced(client, store):
    sane = "edge-7f3a.b_9"
    assert client.get("/api/public/config", headers={"X-Request-ID": sane}).headers["X-Request-ID"] == sane
    for insane in ("a" * 65, "two words", "x\u00e9", "id;drop", ""):
        answered = client.get("/api/public/config", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert answered != insane and len(answered) == 32 and int(answered, 16) >= 0
    first = client.get("/api/public/config").headers["X-Request-ID"]
    assert first != client.get("/api/public/config").headers["X-Request-ID"]  # a new one each time
    # error answers carry it too
    assert client.get("/api/nowhere", headers={"X-Request-ID": sane}).headers["X-Request-ID"] == sane


def test_every_line_of_a_signed_in_api_request_carries_its_context(client, store, make, log_lines, monkeypatch):
    user = make.user(store, role="USER")
    plain = logging.getLogger("services.somewhere")  # a plain stdlib logger, like the app's own

    def require_user_and_log():
        found = require_user()
        plain.warning("looked up %s", "the user")
        return found

    require_user = api.auth.require_user
    monkeypatch.setattr(api.auth, "require_user", require_user_and_log)
    response = client.get("/api/auth/me", headers={**make.headers(user, store), "X-Request-ID": "req-42"})
    assert response.status_code == 200
    lines = log_lines()
    stdlib = [line for line in lines if line.get("event") == "looked up the user"]
    request = [line for line in lines if line.get("event") == "http_request"]
    assert len(stdlib) == 1 and len(request) == 1, lines
    for line in (stdlib[0], request[0]):
        assert (line["request_id"], line["store_id"], line["user_id"]) == ("req-42", store.id, user.id), line
        assert line["timestamp"].endswith("Z") and line["level"] in ("warning", "info")
    assert stdlib[0]["logger"] == "services.somewhere" and stdlib[0]["level"] == "warning"
    assert (request[0]["method"], request[0]["path"], request[0]["status"]) == ("GET", "/api/auth/me", 200)
    assert request[0]["endpoint"] == "api_auth.me" and request[0]["duration_ms"] >= 0
    assert "Bearer" not in json.dumps(lines)  # the token is never written
    # the context ends with the request: a line after it carries none of it
    plain.warning("after the request")
    after = [line for line in log_lines() if line.get("event") == "after the request"][0]
    assert not {"request_id", "store_id", "user_id"} & set(after)


def test_a_page_request_knows_its_signed_in_user(client, store, make, log_lines):
    user = make.user(store, role="USER")
    page = client.get("/login")
    token = page.data.decode().split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    signed_in = client.post("/login", data={"csrf_token": token, "login": user.email,
                                            "password": "correct-horse-battery"})
    assert signed_in.status_code in (302, 303), signed_in.data[:500]
    client.get("/account")
    request = [line for line in log_lines() if line.get("event") == "http_request"]
    by_path = {(line["method"], line["path"]): line for line in request}
    assert by_path[("POST", "/login")]["user_id"] == user.id  # bound at sign-in
    assert by_path[("GET", "/account")]["user_id"] == user.id  # bound when the session loads the user
    assert "user_id" not in by_path[("GET", "/login")]
    assert {line["store_id"] for line in request} == {store.id}


def test_secrets_never_reach_a_log_line(client, store, log_lines):
    client.get("/orders/guest/s3cret-guest-token/items.txt")
    client.get("/reset-password/another-s3cret")
    structlog.get_logger("tests").info("signed in", password="hunter2", api_key="k-123", deliverable="CODE-1",
                                       Authorization="Bearer t", user="ann")
    lines = log_lines()
    text = json.dumps(lines)
    for secret in ("s3cret-guest-token", "another-s3cret", "hunter2", "k-123", "CODE-1", "Bearer t"):
        assert secret not in text
    paths = {line["path"] for line in lines if line.get("event") == "http_request"}
    assert paths == {"/orders/guest/[redacted]/items.txt", "/reset-password/[redacted]"}
    signed = [line for line in lines if line.get("event") == "signed in"][0]
    assert signed["user"] == "ann" and signed["password"] == signed["deliverable"] == "[redacted]"


def test_log_format_json_in_production_readable_in_development(tmp_path):
    secrets = {"SECRET_KEY": "k" * 32, "JWT_SECRET_KEY": "j" * 32, "DELIVERABLE_HASH_KEY": "h" * 32,
               "DELIVERABLE_KEYS": Fernet.generate_key().decode()}
    assert load_config(environ={**secrets, "APP_ENV": "production"})["LOG_FORMAT"] == "json"
    assert load_config(environ={**secrets, "INSTANCE_PATH": str(tmp_path)})["LOG_FORMAT"] == "console"
    assert load_config(environ={**secrets, "INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "JSON"})["LOG_FORMAT"] == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config(environ={**secrets, "INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_config(environ={**secrets, "INSTANCE_PATH": str(tmp_path), "LOG_LEVEL": "LOUD"})


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_the_app_writes_the_configured_format(app, fmt):
    before = app.config["LOG_FORMAT"]
    try:
        observability.configure_logging({**app.config, "LOG_FORMAT": fmt})
        (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "vstores"]
        record = logging.LogRecord("rq.worker", logging.WARNING, __file__, 1, "job %s failed", ("j1",), None)
        with structlog.contextvars.bound_contextvars(job_id="j1", store_id="s1"):
            line = handler.format(record)
        if fmt == "json":
            parsed = json.loads(line)
            assert {k: parsed[k] for k in ("event", "logger", "level", "job_id", "store_id")} == {
                "event": "job j1 failed", "logger": "rq.worker", "level": "warning", "job_id": "j1", "store_id": "s1"}
        else:
            assert "job j1 failed" in line and "job_id=j1" in line and "store_id=s1" in line
            with pytest.raises(ValueError):
                json.loads(line)
    finally:
        observability.configure_logging({**app.config, "LOG_FORMAT": before})


# --- metrics ------------------------------------------------------------------------------------

def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", environ_base=LOOPBACK, **kwargs)
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


def sample(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


@pytest.fixture
def metrics_token(app):
    app.config["METRICS_TOKEN"] = "scrape-me-9f2"
    try:
        yield "scrape-me-9f2"
    finally:
        app.config["METRICS_TOKEN"] = None


def test_metrics_need_the_token_when_one_is_set(client, store, metrics_token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {metrics_token}"}).status_code == 401
    assert client.get("/metrics", environ_base=LOOPBACK).status_code == 401  # loopback needs it too
    response = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "flask_http_request_total" in response.get_data(as_text=True)
    assert "/metrics" not in client.get("/api/openapi.json").get_json()["paths"]  # not an API operation


def test_without_a_token_metrics_are_loopback_only_in_development_and_off_in_production(app, client, store):
    assert app.config["METRICS_TOKEN"] is None
    assert client.get("/metrics").status_code == 404  # the client's address is 10.x
    assert client.get("/metrics", environ_base=LOOPBACK).status_code == 200
    app.config["APP_ENV"] = "production"
    try:
        assert client.get("/metrics", environ_base=LOOPBACK).status_code == 404
    finally:
        app.config["APP_ENV"] = "development"


def test_requests_are_counted_by_endpoint_not_by_path(client, store):
    before = scrape(client)
    for key in ("nope-1", "nope-2", "nope-3"):
        assert client.get(f"/api/products/{key}").status_code == 404
    assert client.get("/api/public/config").status_code == 200
    client.get("/static/favicon.svg")
    after = scrape(client)
    endpoint = {"endpoint": "api_products.get_product", "method": "GET", "status": "404"}
    assert sample(after, "flask_http_request_total", **endpoint) - sample(before, "flask_http_request_total",
                                                                         **endpoint) == 3
    public = {"endpoint": "api_public.public_config", "method": "GET", "status": "200"}
    assert sample(after, "flask_http_request_total", **public) - sample(before, "flask_http_request_total",
                                                                       **public) == 1
    latency = {"url_rule": "/api/products/<key>", "endpoint": "api_products.get_product", "status": "404"}
    assert sample(after, "flask_http_request_duration_seconds_count", **latency) >= 3
    assert "nope-1" not in after  # no raw paths, no ids
    assert 'endpoint="static"' not in after and "prometheus_metrics" not in after  # static files and scrapes


def test_orders_placed_count_after_commit_only(client, shop):
    name, labels = "vstores_orders_placed_total", {"payment_method": "BALANCE"}
    before = sample(scrape(client), name, **labels)
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert placed.status_code == 201, placed.get_json()
    assert sample(scrape(client), name, **labels) == before + 1
    client.post("/api/cart/items", json={"subcategory_id": shop.physical, "quantity": 3}, headers=shop.headers)
    refused = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert refused.status_code == 409  # 75.00 > the 40.00 left: rolled back, not counted
    assert sample(scrape(client), name, **labels) == before + 1


def test_payments_and_webhook_failures_are_counted(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    before = scrape(client)
    paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    forged = stripe_post(client, stripe_platform, {"id": "evt_forged", "type": "checkout.session.completed",
                                                   "data": {"object": {}}}, secret="whsec_wrong")
    assert forged.status_code == 400
    after = scrape(client)

    def grew(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("vstores_payments_confirmed_total", provider="STRIPE", purpose="order") == 1
    assert grew("vstores_orders_placed_total", payment_method="STRIPE") == 1
    assert grew("vstores_webhook_failures_total", provider="STRIPE", reason="bad_signature") == 1


def test_queue_depth_is_read_from_redis_at_scrape_time(app, client, store):
    url = "redis://127.0.0.1:6379/14"
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    connection = Redis.from_url(url)
    connection.flushdb()
    old = app.config["REDIS_URL"], app.extensions.pop("redis", None)
    app.config["REDIS_URL"] = url
    try:
        Queue("emails", connection=connection).enqueue("builtins.print", "a")
        Queue("emails", connection=connection).enqueue("builtins.print", "b")
        text = scrape(client)
        assert sample(text, "vstores_queue_depth", queue="emails") == 2
        assert sample(text, "vstores_queue_depth", queue="webhooks") == 0
        assert sample(text, "vstores_queue_failed_jobs", queue="default") == 0
    finally:
        app.config["REDIS_URL"] = old[0]
        app.extensions.pop("redis", None)
        if old[1] is not None:
            app.extensions["redis"] = old[1]
        connection.flushdb()
    assert "vstores_queue_depth" not in scrape(client)  # no Redis configured: no queues


# --- liveness and readiness ---------------------------------------------------------------------

def test_liveness_touches_no_database(app, client, store):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = client.get("/api/health/live")
        during_liveness = list(statements)
        assert client.get("/api/public/config").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert during_liveness == [] and statements  # the listener works: the next request read the store


def test_ready_when_the_database_answers_and_the_schema_is_at_head(client, store):
    response = client.get("/api/health/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
    assert body["redis"]["status"] == "not_configured"
    migrations = body["migrations"]
    assert migrations["status"] == "ok" and migrations["current"] == migrations["head"] and len(migrations["head"]) == 1
    assert client.get("/api/health").get_json()["status"] == "ok"  # liveness-and-more stays as it was


def test_not_ready_while_redis_does_not_answer(app, client, store):
    old = app.config["REDIS_URL"], app.extensions.pop("redis", None)
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        response = client.get("/api/health/ready")
        health = client.get("/api/health")
    finally:
        app.config["REDIS_URL"] = old[0]
        app.extensions.pop("redis", None)
        if old[1] is not None:
            app.extensions["redis"] = old[1]
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready" and body["redis"]["status"] == "error"
    assert body["database"]["status"] == "ok" and body["migrations"]["status"] == "ok"
    assert health.status_code == 200 and health.get_json()["status"] == "degraded"  # /api/health: unchanged


def test_not_ready_on_a_database_that_is_not_migrated(tmp_path):
    fresh = make_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"))
    client = fresh.test_client()
    response = client.get("/api/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready" and body["database"]["status"] == "ok"
    assert body["migrations"]["status"] == "error" and body["migrations"]["current"] == []
    assert body["migrations"]["head"]
    assert client.get("/api/health/live").status_code == 200
    with fresh.app_context():
        db.engine.dispose()


# --- error reports --------------------------------------------------------------------------------

class FakeSentry(ThreadingHTTPServer):
    """Sentry's ingest, as far as the SDK sees it: envelopes POSTed to /api/<project>/envelope/."""

    def __init__(self):
        self.envelopes: list[bytes] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                elif self.headers.get("Content-Encoding") == "br":  # the SDK prefers it when brotli is installed
                    import brotli

                    body = brotli.decompress(body)
                fake.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"

    def items(self, kind: str) -> list[dict]:
        found = []
        for body in self.envelopes:
            position = body.index(b"\n") + 1
            while position < len(body):
                end = body.find(b"\n", position)
                header = json.loads(body[position:end])
                position = end + 1
                length = header.get("length")
                if length is None:
                    end = body.find(b"\n", position)
                    end = len(body) if end == -1 else end
                    payload, position = body[position:end], end + 1
                else:
                    payload, position = body[position:position + length], position + length + 1
                if header.get("type") == kind:
                    found.append(json.loads(payload))
        return found


def test_an_error_in_a_view_is_reported_once_without_secrets(app, store, tmp_path, monkeypatch):
    with FakeSentry() as sentry:
        reporting = make_app(base_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], SENTRY_DSN=sentry.dsn,
                                         SENTRY_ENVIRONMENT="staging"))
        reporting.config["PROPAGATE_EXCEPTIONS"] = False  # answer the 500 as in production
        try:
            def broken():
                raise RuntimeError("the health check broke")

            monkeypatch.setattr(health_service, "report", broken)
            client = reporting.test_client()
            response = client.get(f"/api/health?token={QUERY_TOKEN}", headers={
                "Authorization": f"Bearer {BEARER}", "Cookie": f"session={COOKIE}", "X-Request-ID": "req-sentry"})
            assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
            assert sentry_sdk.flush(timeout=5) is None
            for _ in range(50):
                if sentry.items("event"):
                    break
                threading.Event().wait(0.1)
        finally:
            client_ = sentry_sdk.get_client()
            client_.close(timeout=2)
            sentry_sdk.get_global_scope().set_client(None)
            with reporting.app_context():
                db.engine.dispose()
        events = sentry.items("event")
        assert len(events) == 1, events
        (reported,) = events
        assert reported["exception"]["values"][-1]["type"] == "RuntimeError"
        assert reported["environment"] == "staging"
        assert reported["tags"]["request_id"] == "req-sentry"  # the same id as its log lines
        assert reported["request"]["url"].endswith("/api/health")
        raw = b"".join(sentry.envelopes)
        for secret in (BEARER, COOKIE, QUERY_TOKEN):
            assert secret.encode() not in raw
        headers = {k.lower(): v for k, v in reported["request"]["headers"].items()}
        assert headers.get("authorization") in (None, "[redacted]", "[Filtered]")


def test_no_dsn_no_reports():
    assert observability.init_sentry({"SENTRY_DSN": None}) is False


def test_the_report_scrubber_removes_what_could_carry_a_secret():
    event_ = {"request": {
        "url": "https://shop.example/orders/guest/gtok123/pay", "query_string": "page=2&token=abc&x=1",
        "headers": {"Authorization": "Bearer x", "Cookie": "a=b", "Stripe-Signature": "t=1,v1=s", "Accept": "*/*"},
        "cookies": {"session": "s"}, "data": {"password": "hunter2"}},
        "breadcrumbs": {"values": [{"message": "GET /reset-password/rtok456"}]}}
    scrubbed = observability.scrub_event(event_)
    request = scrubbed["request"]
    assert request["url"] == "https://shop.example/orders/guest/[redacted]/pay"
    assert request["query_string"] == "page=2&token=[redacted]&x=1"
    assert request["headers"] == {"Authorization": "[redacted]", "Cookie": "[redacted]",
                                  "Stripe-Signature": "[redacted]", "Accept": "*/*"}
    assert "cookies" not in request and "data" not in request
    assert scrubbed["breadcrumbs"]["values"][0]["message"] == "GET /reset-password/[redacted]"


def log_from_a_job(word: str) -> str:
    """A job (run through jobs.runner by a real RQ worker in the test below)."""
    logging.getLogger("jobs.test").warning("job says %s", word)
    return word


def test_a_jobs_lines_carry_its_id_and_store(app, store, log_lines):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    connection = Redis.from_url("redis://127.0.0.1:6379/14")
    connection.flushdb()
    runner.set_worker_app(app)
    try:
        queue = Queue("default", connection=connection)
        job = queue.enqueue(RQ_ENTRY_POINT, f"{__name__}.log_from_a_job", store.id, ["hello"], {})
        SimpleWorker([queue], connection=connection).work(burst=True)
        assert job.get_status() == "finished", job.latest_result()
    finally:
        runner._worker_app = None
        structlog.contextvars.clear_contextvars()
        connection.flushdb()
    (line,) = [line for line in log_lines() if line.get("event") == "job says hello"]
    assert (line["job_id"], line["store_id"], line["job"]) == (job.id, store.id, f"{__name__}.log_from_a_job")
    assert line["logger"] == "jobs.test" and "request_id" not in line


def test_metrics_can_be_turned_off(app, tmp_path):
    off = make_app(base_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], METRICS_ENABLED="0",
                               METRICS_TOKEN="t"))
    try:
        answer = off.test_client().get("/metrics", headers={"Authorization": "Bearer t"}, environ_base=LOOPBACK)
        assert answer.status_code == 404 and "prometheus_metrics" not in off.view_functions
    finally:
        with off.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_logged_traceback_shows_no_local_variables(fmt):
    def sign_in():
        password = "hunter2" + "-local"  # noqa: F841 - a local a traceback with locals would show
        raise RuntimeError("sign-in broke")

    try:
        sign_in()
    except RuntimeError:
        record = logging.LogRecord("services.auth", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = observability.log_formatter(fmt).format(record)
    assert "RuntimeError: sign-in broke" in line and "hunter2-local" not in line


def test_with_redis_every_process_counts_into_the_same_totals(app, client, shop):
    """Production: webhooks are applied by RQ work horses, checkouts by any web worker. With Redis
    the counters are totals in Redis, so a scrape of any web worker sees what all of them counted."""
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    connection = Redis.from_url("redis://127.0.0.1:6379/14")
    connection.flushdb()
    old = app.config["REDIS_URL"], app.extensions.pop("redis", None)
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/14"  # jobs still run inline (JOBS_INLINE)
    try:
        client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
        placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
        assert placed.status_code == 201, placed.get_json()
        assert connection.hgetall("vstores:metrics:vstores_orders_placed_total") == {b"BALANCE": b"1"}
        # another process (a work horse that confirmed a payment, another web worker) counted too
        connection.hincrby("vstores:metrics:vstores_payments_confirmed_total", "HOODPAY\x1ftopup", 2)
        connection.hincrby("vstores:metrics:vstores_orders_placed_total", "BALANCE", 4)
        text = scrape(client)
        assert sample(text, "vstores_orders_placed_total", payment_method="BALANCE") == 5
        assert sample(text, "vstores_payments_confirmed_total", provider="HOODPAY", purpose="topup") == 2
    finally:
        app.config["REDIS_URL"] = old[0]
        app.extensions.pop("redis", None)
        if old[1] is not None:
            app.extensions["redis"] = old[1]
        connection.flushdb()
