"""The read caches across processes (services/cache.py): with Redis, an entry is served only while
the cache's generation in Redis is the one it was filled under; Redis unreachable means a miss,
never a stale entry; without Redis the TTL alone decides (the embedded default)."""
from __future__ import annotations

import pytest
from flask import Flask

from models import Category
from services.cache import GENERATION_KEY, TTLCache
from tests.conftest import REDIS_TEST_URL, port_open, service_missing


def _app(redis_url: str | None) -> Flask:
    app = Flask(__name__)
    app.config["REDIS_URL"] = redis_url
    return app


def test_a_generation_bumped_elsewhere_makes_the_next_read_a_miss():
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    redis = Redis.from_url(REDIS_TEST_URL)
    key = GENERATION_KEY.format("unit_shared")
    redis.delete(key)
    cache = TTLCache("unit_shared", 60, (Category,), _app(REDIS_TEST_URL))
    try:
        assert cache.get("store-1") is None
        cache.put("store-1", ["gift cards"])
        assert cache.get("store-1") == ["gift cards"]
        redis.incr(key)  # another process committed a category change
        assert cache.get("store-1") is None
        cache.put("store-1", ["gift cards", "game keys"])  # filled under the new generation
        assert cache.get("store-1") == ["gift cards", "game keys"]
    finally:
        redis.delete(key)


def test_without_an_answer_from_redis_nothing_is_served_from_the_cache():
    cache = TTLCache("unit_down", 60, (Category,), _app("redis://127.0.0.1:1/0"))
    assert cache.get("k") is None
    cache.put("k", "v")
    assert cache.get("k") is None and cache.entries == {}


@pytest.mark.parametrize("seconds,served", [(60, "v"), (0, None)])
def test_without_redis_the_ttl_alone_decides(seconds, served):
    cache = TTLCache("unit_local", seconds, (Category,), _app(None))
    assert cache.get("k") is None
    cache.put("k", "v")
    assert cache.get("k") == served
