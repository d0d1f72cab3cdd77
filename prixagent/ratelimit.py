"""Fixed-window request counters in the cache: one Redis round trip per request.

DRF's SimpleRateThrottle keeps every request's timestamp in a list that it reads, unpickles,
grows, pickles and writes back on each request: two round trips, and work that grows with
RATE_LIMIT_MAX_REQUESTS (a client allowed 1,000 requests per window makes every one of its
requests copy a 1,000-entry list). A counter per (client, window) does the same job in O(1).
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_client: redis.Redis | None = None
_script: Any = None

# Atomic (Redis runs a script alone): count, start the window's expiry on its first request,
# and return the count with the window's remaining seconds, in one command and one reply.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""


def _counter() -> Any:
    # One client (and connection pool) per process, made on first use, i.e. after gunicorn
    # forks: Django's cache builds a new client object on every call, which costs more than
    # the round trip itself.
    global _client, _script
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
        _script = _client.register_script(_COUNT)
    return _script


def _redis() -> redis.Redis:
    _counter()
    assert _client is not None
    return _client


def hit(key: str, window: int) -> tuple[int, int]:
    """Count one request for `key`: (requests in the current window, seconds until it resets)."""
    cache = caches["default"]  # the backend itself (`django.core.cache.cache` is a proxy)
    if isinstance(cache, RedisCache):
        count, ttl = _counter()(keys=[cache.make_and_validate_key(key)], args=[window])
        return int(count), max(int(ttl), 1)
    # Other caches (in-memory, `make run` without Redis): three calls, same result.
    if cache.add(key, 1, timeout=window):
        return 1, window
    try:
        return int(cache.incr(key)), window
    except ValueError:  # the window ended between add() and incr()
        cache.set(key, 1, timeout=window)
        return 1, window
