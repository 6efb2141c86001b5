"""The business metrics, as prometheus_client objects, in one place (services import these, never
the Flask exporter). The HTTP metrics (requests by endpoint and status, latency) and ``/metrics``
itself are ``web.register_metrics``'s (prometheus-flask-exporter).

Counters count what happened for good: they go up after the commit that made it so
(``transactions.on_commit``), never for work that was rolled back. They are created unregistered
and added to each app's registry (``register``), so tests that make several apps in one process
share them. With ``PROMETHEUS_MULTIPROC_DIR`` set (several gunicorn workers), prometheus_client
keeps their values in files there and ``/metrics`` adds up all workers.

The queue gauges are read from Redis when ``/metrics`` is scraped (``QueueCollector``), so they are
right whichever process answers.
"""
from __future__ import annotations

import logging

from flask import Flask
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from transactions import on_commit

from . import health

log = logging.getLogger(__name__)

ORDERS_PLACED = Counter("vstores_orders_placed_total", "Orders placed, by payment method",
                        ["payment_method"], registry=None)
PAYMENTS_CONFIRMED = Counter("vstores_payments_confirmed_total",
                             "Provider payments confirmed (an attempt that succeeded), by provider and purpose",
                             ["provider", "purpose"], registry=None)
WEBHOOK_FAILURES = Counter("vstores_webhook_failures_total",
                           "Provider webhooks that failed: refused signatures, and events whose job raised",
                           ["provider", "reason"], registry=None)
COUNTERS = (ORDERS_PLACED, PAYMENTS_CONFIRMED, WEBHOOK_FAILURES)


def order_placed(payment_method: str) -> None:
    """An order was created: counted once its transaction commits."""
    on_commit(ORDERS_PLACED.labels(payment_method=payment_method).inc)


def payment_confirmed(provider: str, purpose: str) -> None:
    """A provider payment succeeded: counted once its transaction commits."""
    on_commit(PAYMENTS_CONFIRMED.labels(provider=provider, purpose=purpose).inc)


def webhook_failed(provider: str, reason: str) -> None:
    """A webhook failed (``bad_signature`` at the door, ``error`` when its job raised): counted at
    once, whatever happens to the transaction (a failure is a fact even when nothing is kept)."""
    WEBHOOK_FAILURES.labels(provider=provider, reason=reason).inc()


class QueueCollector(Collector):
    """Jobs waiting and failed per RQ queue, read from Redis at scrape time (``REDIS_URL`` set)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        if not self.app.config.get("REDIS_URL"):
            return
        try:
            with self.app.app_context():
                report = health.queue_report()
        except Exception as exc:  # noqa: BLE001 - a scrape without Redis still shows the rest
            log.warning("queue metrics unavailable: %s", type(exc).__name__)
            return
        depth = GaugeMetricFamily("vstores_queue_depth", "Jobs waiting in an RQ queue", labels=["queue"])
        failed = GaugeMetricFamily("vstores_queue_failed_jobs", "Jobs in an RQ queue's failed registry",
                                   labels=["queue"])
        for queue in report["queues"]:
            depth.add_metric([queue["name"]], queue["queued"])
            failed.add_metric([queue["name"]], queue["failed"])
        yield depth
        yield failed

    def describe(self):
        return []  # computed at scrape time: nothing to check at registration


def register(registry: CollectorRegistry, app: Flask, *, counters: bool = True) -> None:
    """Add the business counters (unless the registry reads them from multiprocess files) and the
    queue gauges of ``app`` to ``registry``."""
    if counters:
        for counter in COUNTERS:
            registry.register(counter)
    registry.register(QueueCollector(app))
