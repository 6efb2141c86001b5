"""The business metrics in one place (services import these, never the Flask exporter). The HTTP
metrics (requests by endpoint and status, latency) and ``/metrics`` itself are
``web.register_metrics``'s (prometheus-flask-exporter).

Counters count what happened for good: they go up after the commit that made it so
(``transactions.on_commit``), never for work that was rolled back. Where they count:

* with ``REDIS_URL`` (production): in Redis, one hash per counter and a field per label set, so
  every process adds to the same total: the web workers, the RQ work horses (webhooks are applied
  there, so payments are confirmed there) and other hosts. A scrape reads the totals.
* without it (one process, jobs inline): in this process, a prometheus_client ``Counter``.

The queue gauges are read from Redis at scrape time too. ``register`` adds all of it to an app's
registry (each app its own: tests make several apps in one process).
"""
from __future__ import annotations

import logging
from functools import partial

from flask import Flask, current_app
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from transactions import on_commit, redis_connection

from . import health

log = logging.getLogger(__name__)
_SEPARATOR = "\x1f"  # between label values in a Redis hash field (never in a method, provider or reason)


class BusinessCounter:
    """A counter all processes add to (Redis), or this process alone (no Redis)."""

    def __init__(self, name: str, documentation: str, labels: list[str]):
        self.name, self.documentation, self.labels = name, documentation, tuple(labels)
        self.local = Counter(name, documentation, labels, registry=None)
        self.key = f"vstores:metrics:{name}"

    def inc(self, **labels) -> None:
        values = [str(labels[label]) for label in self.labels]
        app = current_app._get_current_object()
        if not app.config.get("REDIS_URL"):
            self.local.labels(*values).inc()
            return
        try:
            redis_connection(app).hincrby(self.key, _SEPARATOR.join(values), 1)
        except Exception as exc:  # noqa: BLE001 - a metric never fails what it counts
            log.warning("metric %s not counted: %s", self.name, type(exc).__name__)

    def collect_from(self, app: Flask):
        """The totals: Redis's with ``REDIS_URL``, else this process's."""
        if not app.config.get("REDIS_URL"):
            yield from self.local.collect()
            return
        family = CounterMetricFamily(self.name.removesuffix("_total"), self.documentation, labels=self.labels)
        for field, count in redis_connection(app).hgetall(self.key).items():
            family.add_metric(field.decode().split(_SEPARATOR), float(count))
        yield family


ORDERS_PLACED = BusinessCounter("vstores_orders_placed_total", "Orders placed, by payment method",
                                ["payment_method"])
PAYMENTS_CONFIRMED = BusinessCounter("vstores_payments_confirmed_total",
                                     "Provider payments confirmed (an attempt that succeeded), by provider and purpose",
                                     ["provider", "purpose"])
WEBHOOK_FAILURES = BusinessCounter("vstores_webhook_failures_total",
                                   "Provider webhooks that failed: refused signatures, and events whose job raised",
                                   ["provider", "reason"])
COUNTERS = (ORDERS_PLACED, PAYMENTS_CONFIRMED, WEBHOOK_FAILURES)


def order_placed(payment_method: str) -> None:
    """An order was created: counted once its transaction commits."""
    on_commit(partial(ORDERS_PLACED.inc, payment_method=payment_method))


def payment_confirmed(provider: str, purpose: str) -> None:
    """A provider payment succeeded: counted once its transaction commits."""
    on_commit(partial(PAYMENTS_CONFIRMED.inc, provider=provider, purpose=purpose))


def webhook_failed(provider: str, reason: str) -> None:
    """A webhook failed (``bad_signature`` at the door, ``error`` when its job raised): counted at
    once, whatever happens to the transaction (a failure is a fact even when nothing is kept)."""
    WEBHOOK_FAILURES.inc(provider=provider, reason=reason)


class BusinessCollector(Collector):
    """At scrape time: the business counters and, with Redis, the jobs waiting and failed per RQ
    queue. ``local=False`` leaves out this process's counters (a multiprocess registry reads them
    from the workers' files instead)."""

    def __init__(self, app: Flask, *, local: bool = True):
        self.app, self.local = app, local

    def collect(self):
        redis = bool(self.app.config.get("REDIS_URL"))
        try:
            if redis or self.local:
                for counter in COUNTERS:
                    yield from counter.collect_from(self.app)
            if redis:
                yield from self._queues()
        except Exception as exc:  # noqa: BLE001 - a scrape without Redis still shows the rest
            log.warning("business metrics unavailable: %s", type(exc).__name__)

    def _queues(self):
        with self.app.app_context():
            report = health.queue_report()
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


def register(registry: CollectorRegistry, app: Flask, *, local: bool = True) -> None:
    """Add the business counters and the queue gauges of ``app`` to ``registry``."""
    registry.register(BusinessCollector(app, local=local))
