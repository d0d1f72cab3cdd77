"""Per-tenant pace, shared by every worker on every machine: calls per second, backoff after a
Twilio 429, and the recent results that tell a failure spike.

With `REDIS_URL` the state lives in Redis and each decision is one Lua script (Redis runs it
alone, on its own clock, so workers on machines with skewed clocks still agree). Without it
(`make run`: one process) the same rules run on a lock-guarded dict.

The pace is a sliding window, not a bucket with a burst: a tenant at 1 call per second never
has two calls in any one second. The window is padded by `GUARD_MS` so the jitter between being
admitted here and the request reaching Twilio cannot squeeze one more call into a second there.
Calls per second is the tenant's Twilio pace (Twilio's limit is per account), so campaigns of
one account running at once share it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings

GUARD_MS = 50
SEND_GUARD_MS = 10
RECENT = 20  # results kept per campaign for the failure-spike rule
PREFIX = "prix:pace"

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return blocked - now end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

_BACKOFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 300000)
local wait = math.min(tonumber(ARGV[1]) * 2 ^ (n - 1), tonumber(ARGV[2]))
redis.call('SET', KEYS[1], now + wait, 'PX', math.floor(wait))
return wait
"""

_RECORD = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], 86400)
return redis.call('LRANGE', KEYS[1], 0, -1)
"""


def rate(calls_per_second: Decimal | float, guard: int = GUARD_MS) -> tuple[int, int]:
    """(calls, window in ms): 3 per second is (3, 1000+guard); 0.5 per second is (1, 2000+guard)."""
    cps = float(calls_per_second)
    if cps >= 1:
        return math.floor(cps), 1000 + guard
    return 1, math.ceil(1000 / max(cps, 0.01)) + guard


class _RedisPace:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.admit_script = self.client.register_script(_ADMIT)
        self.backoff_script = self.client.register_script(_BACKOFF)
        self.record_script = self.client.register_script(_RECORD)

    def admit(self, account_id: Any, cps: Decimal | float, ticket: str) -> int:
        calls, window = rate(cps)
        keys = [f"{PREFIX}:{account_id}:calls", f"{PREFIX}:{account_id}:blocked"]
        return int(self.admit_script(keys=keys, args=[calls, window, ticket]))

    def admit_send(self, account_id: Any, cps: Decimal | float, ticket: str) -> int:
        calls, window = rate(cps, guard=SEND_GUARD_MS)
        keys = [f"{PREFIX}:{account_id}:sent", f"{PREFIX}:{account_id}:never-blocked"]
        return int(self.admit_script(keys=keys, args=[calls, window, ticket]))

    def backoff(self, account_id: Any, base_ms: int, max_ms: int) -> int:
        keys = [f"{PREFIX}:{account_id}:blocked", f"{PREFIX}:{account_id}:strikes"]
        return int(self.backoff_script(keys=keys, args=[base_ms, max_ms]))

    def clear_backoff(self, account_id: Any) -> None:
        self.client.delete(f"{PREFIX}:{account_id}:strikes")

    def record(self, campaign_id: Any, result: str) -> list[str]:
        values = self.record_script(keys=[f"{PREFIX}:recent:{campaign_id}"], args=[result, RECENT])
        return [v.decode() for v in values]

    def forget(self, campaign_id: Any) -> None:
        self.client.delete(f"{PREFIX}:recent:{campaign_id}")


class _LocalPace:
    """One process, no Redis: the same rules under a lock, on the monotonic clock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[Any, deque[float]] = {}
        self.sent: dict[Any, deque[float]] = {}
        self.blocked: dict[Any, float] = {}
        self.strikes: dict[Any, tuple[int, float]] = {}
        self.recent: dict[Any, deque[str]] = {}

    def admit(self, account_id: Any, cps: Decimal | float, ticket: str) -> int:
        calls, window = rate(cps)
        now = time.monotonic() * 1000
        with self.lock:
            blocked = self.blocked.get(account_id, 0.0)
            if blocked > now:
                return math.ceil(blocked - now)
            log = self.calls.setdefault(account_id, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) < calls:
                log.append(now)
                return 0
            return max(1, math.ceil(log[0] + window - now))

    def admit_send(self, account_id: Any, cps: Decimal | float, ticket: str) -> int:
        calls, window = rate(cps, guard=SEND_GUARD_MS)
        now = time.monotonic() * 1000
        with self.lock:
            log = self.sent.setdefault(account_id, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) < calls:
                log.append(now)
                return 0
            return max(1, math.ceil(log[0] + window - now))

    def backoff(self, account_id: Any, base_ms: int, max_ms: int) -> int:
        now = time.monotonic() * 1000
        with self.lock:
            count, since = self.strikes.get(account_id, (0, now))
            count = count + 1 if now - since < 300_000 else 1
            self.strikes[account_id] = (count, now)
            wait = min(base_ms * 2 ** (count - 1), max_ms)
            self.blocked[account_id] = now + wait
            return int(wait)

    def clear_backoff(self, account_id: Any) -> None:
        with self.lock:
            self.strikes.pop(account_id, None)

    def record(self, campaign_id: Any, result: str) -> list[str]:
        with self.lock:
            recent = self.recent.setdefault(campaign_id, deque(maxlen=RECENT))
            recent.appendleft(result)
            return list(recent)

    def forget(self, campaign_id: Any) -> None:
        with self.lock:
            self.recent.pop(campaign_id, None)


_pace: _RedisPace | _LocalPace | None = None
_pace_url: str | None = None


def _backend() -> _RedisPace | _LocalPace:
    # One client per process, made on first use (after a worker or gunicorn forks).
    global _pace, _pace_url
    url = settings.REDIS_URL or ""
    if _pace is None or _pace_url != url:
        _pace, _pace_url = (_RedisPace(url) if url else _LocalPace()), url
    return _pace


def admit(*, account_id: Any, calls_per_second: Decimal | float, ticket: str) -> int:
    """0: dial now (counted). Else the milliseconds to wait before asking again."""
    return _backend().admit(account_id, calls_per_second, ticket)


def admit_send(*, account_id: Any, calls_per_second: Decimal | float, ticket: str) -> int:
    """Like `admit`, for the moment a request is sent (its own window, a 10 ms guard): 0 to send
    now, else the milliseconds to wait."""
    return _backend().admit_send(account_id, calls_per_second, ticket)


def backoff(*, account_id: Any, base_ms: int = 2000, max_ms: int = 60_000) -> int:
    """Twilio said "too many" for this account: nobody dials for it for a while (doubling on
    each strike within five minutes). Returns the wait in milliseconds."""
    return _backend().backoff(account_id, base_ms, max_ms)


def clear_backoff(*, account_id: Any) -> None:
    _backend().clear_backoff(account_id)


def record_result(*, campaign_id: Any, result: str) -> list[str]:
    """Remember one attempt's result; returns the last `RECENT`, newest first."""
    return _backend().record(campaign_id, result)


def forget(*, campaign_id: Any) -> None:
    _backend().forget(campaign_id)
