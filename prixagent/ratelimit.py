"""Fixed-window request counters in the cache: one Redis round trip per request.

DRF's SimpleRateThrottle keeps every request's timestamp in a list that it reads, unpickles,
grows, pickles and writes back on each request: two round trips, and work that grows with
RATE_LIMIT_MAX_REQUESTS (a client allowed 1,000 requests per window makes every one of its
requests copy a 1,000-entry list). A counter per (client, window) does the same job in O(1).
"""

from __future__ import annotations

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    # One client (and connection pool) per process, made on first use, i.e. after gunicorn
    # forks: Django's cache builds a new client object on every call, which costs more than
    # the round trip itself.
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def hit(key: str, window: int) -> tuple[int, int]:
    """Count one request for `key`: (requests in the current window, seconds until it resets)."""
    cache = caches["default"]  # the backend itself (`django.core.cache.cache` is a proxy)
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        # MULTI/EXEC: start the window if there is none, count, read its remaining life, all in
        # one round trip, and atomically, so a window can never lose its expiry.
        with _redis().pipeline(transaction=True) as pipe:
            pipe.set(full_key, 0, ex=window, nx=True)
            pipe.incr(full_key)
            pipe.ttl(full_key)
            _created, count, ttl = pipe.execute()
        return int(count), max(int(ttl), 1)
    # Other caches (in-memory, `make run` without Redis): three calls, same result.
    if cache.add(key, 1, timeout=window):
        return 1, window
    try:
        return int(cache.incr(key)), window
    except ValueError:  # the window ended between add() and incr()
        cache.set(key, 1, timeout=window)
        return 1, window
