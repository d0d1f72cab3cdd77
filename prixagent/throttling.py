"""Rate limits: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW for every API client, and the
login budget shared by the API token endpoint, the dashboard login and the admin login.

Every limit is keyed on `client_ip(request)`, the one place that decides which address a
request comes from (see TRUSTED_PROXY_COUNT in the README).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from ipware import get_client_ip
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from prixagent import ratelimit

logger = logging.getLogger("prixagent.security")

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from django.http import HttpRequest
    from rest_framework.request import Request
    from rest_framework.views import APIView


# --- The client's address -------------------------------------------------------------------


def client_ip(request: HttpRequest | Request | None) -> str:
    """The address of the client, as far as the configured proxies vouch for it.

    With TRUSTED_PROXY_COUNT=0 only the TCP peer (REMOTE_ADDR) counts: every forwarded header
    is client-controlled. With N trusted proxies, each appending the address it received the
    request from to X-Forwarded-For, the client is the hop just before those N; anything a
    client wrote further left is ignored. A request that did not pass through N proxies (it
    reached the server directly) is identified by its TCP peer.
    """
    if request is None:
        return "unknown"
    meta = request.META
    peer = str(meta.get("REMOTE_ADDR") or "")
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        # The peer is the last hop of the chain: the proxy nearest to us.
        chain = ", ".join(part for part in (str(meta.get("HTTP_X_FORWARDED_FOR") or ""), peer) if part)
        ip, _routable = get_client_ip(
            SimpleNamespace(META={"HTTP_X_FORWARDED_FOR": chain}),
            proxy_count=count,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
            strict=False,
        )
        if ip:
            return ip
    return peer or "unknown"


class PlatformRateThrottle(SimpleRateThrottle):
    """Per user when authenticated, per IP otherwise. A fixed-window counter (prixagent.ratelimit)
    rather than DRF's timestamp list: one cache round trip per request, whatever the limit."""

    scope = "platform"

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.key = self.get_cache_key(request, view)
        count, self.resets_in = ratelimit.hit(self.key, settings.RATE_LIMIT_WINDOW_SECONDS)
        return count <= settings.RATE_LIMIT_MAX_REQUESTS or self.throttle_failure()

    def wait(self) -> float:
        return float(self.resets_in)

    def get_ident(self, request: Request) -> str:
        # DRF's own get_ident trusts X-Forwarded-For when NUM_PROXIES is unset.
        return client_ip(request)

    def throttle_failure(self) -> bool:
        # The cache key names the scope and the user id, IP or email being limited.
        logger.warning("throttled: %s", self.key)
        return False

    def get_rate(self) -> str:
        return "configured"

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return settings.RATE_LIMIT_MAX_REQUESTS, settings.RATE_LIMIT_WINDOW_SECONDS

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- Atomic window counters -------------------------------------------------------------------
# Login limits must hold under parallel requests, so an attempt reserves its place first
# (INCR, which is atomic in Redis) and is judged on the value it got back: there is no window
# between "check" and "count" for a burst to slip through.

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_RELEASE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class _RedisCounters:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self._hit = self.client.register_script(_HIT)
        self._release = self.client.register_script(_RELEASE)

    def hit(self, key: str, ttl: float) -> int:
        return int(self._hit(keys=[key], args=[int(ttl * 1000)]))

    def release(self, key: str) -> None:
        self._release(keys=[key])

    def claim(self, key: str, ttl: float) -> bool:
        return bool(self.client.set(key, 1, px=max(1, int(ttl * 1000)), nx=True))

    def mark(self, key: str, ttl: float) -> None:
        self.client.set(key, 1, px=max(1, int(ttl * 1000)))

    def remaining(self, key: str) -> float:
        return max(0, self.client.pttl(key)) / 1000

    def value(self, key: str) -> int:
        return int(self.client.get(key) or 0)

    def exists(self, key: str) -> bool:
        return bool(self.client.exists(key))

    def delete(self, key: str) -> None:
        self.client.delete(key)


class _LocalCounters:
    """No REDIS_URL (`make run` on a bare machine): one process, so a lock is enough."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, tuple[int, float]] = {}

    def _get(self, key: str) -> tuple[int, float]:
        value, expires = self.values.get(key, (0, 0.0))
        return (value, expires) if expires > time.monotonic() else (0, 0.0)

    def hit(self, key: str, ttl: float) -> int:
        with self.lock:
            value, expires = self._get(key)
            self.values[key] = (value + 1, expires or time.monotonic() + ttl)
            return value + 1

    def release(self, key: str) -> None:
        with self.lock:
            value, expires = self._get(key)
            if value > 0:
                self.values[key] = (value - 1, expires)

    def claim(self, key: str, ttl: float) -> bool:
        with self.lock:
            if self._get(key)[0]:
                return False
            self.values[key] = (1, time.monotonic() + ttl)
            return True

    def mark(self, key: str, ttl: float) -> None:
        with self.lock:
            self.values[key] = (1, time.monotonic() + ttl)

    def remaining(self, key: str) -> float:
        with self.lock:
            return max(0.0, self._get(key)[1] - time.monotonic())

    def value(self, key: str) -> int:
        with self.lock:
            return self._get(key)[0]

    def exists(self, key: str) -> bool:
        return bool(self.value(key))

    def delete(self, key: str) -> None:
        with self.lock:
            self.values.pop(key, None)


@lru_cache(maxsize=4)
def _counters_for(url: str) -> _RedisCounters | _LocalCounters:
    return _RedisCounters(url) if url else _LocalCounters()


def _counters() -> _RedisCounters | _LocalCounters:
    return _counters_for(settings.REDIS_URL)


# --- The login budget: one for the API, the dashboard and the admin ---------------------------
# - per IP: LOGIN_ATTEMPTS_PER_IP attempts of any kind per window (sign-ups and password
#   resets spend it too);
# - per (email, IP): LOGIN_FAILURES_PER_EMAIL_IP failures lock that pair for the window. This
#   is the hard limit: an attacker locks only themselves out;
# - per email, from every IP together: after LOGIN_ATTEMPTS_PER_EMAIL failures each further
#   attempt waits twice as long as the previous one (1 s, 2 s, 4 s ... LOGIN_DELAY_MAX_SECONDS).
#   This slows a distributed attack down without ever locking the owner out, and it does not
#   apply from an address the user has logged in from before (LOGIN_KNOWN_IP_DAYS).
# Successful logins clear the (email, IP) failures and give back their reservation.


def _key(*parts: str) -> str:
    return ":".join((f"prixagent-{settings.NODE_ENV}", "login", *parts))


def _email_digest(email: str) -> str:
    # Hashed: the address stays out of Redis keys, and a key is always well-formed.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def _delay(failures: int) -> float:
    extra = max(0, failures - settings.LOGIN_ATTEMPTS_PER_EMAIL)
    return float(min(2**extra, settings.LOGIN_DELAY_MAX_SECONDS))


def _refuse(reason: str, retry_after: float, **fields: Any) -> Verdict:
    details = " ".join(f"{name}={value}" for name, value in fields.items())
    logger.warning("%s: %s", reason, details)
    return Verdict(False, max(1, int(retry_after + 0.999)), reason)


def login_attempt(*, request: HttpRequest | Request | None, email: str) -> Verdict:
    """Reserve one login attempt for `email` (may be empty) from the client's IP.

    The Verdict is falsy when the attempt must not be made; then `retry_after` says when to
    come back. The outcome is reported by `login_succeeded` / `login_failed` (the auth signals
    call them); an attempt that never reports one counts as a failure.
    """
    counters, window = _counters(), settings.RATE_LIMIT_WINDOW_SECONDS
    ip = client_ip(request)
    ip_key = _key("ip", ip)
    if counters.hit(ip_key, window) > settings.LOGIN_ATTEMPTS_PER_IP:
        return _refuse("login attempts exhausted", counters.remaining(ip_key), ip=ip)
    if not email.strip():
        return Verdict(True)
    digest = _email_digest(email)
    pair_key = _key("pair", digest, ip)
    if counters.hit(pair_key, window) > settings.LOGIN_FAILURES_PER_EMAIL_IP:
        counters.release(pair_key)
        return _refuse("login locked for this address", counters.remaining(pair_key), ip=ip, email=digest[:12])
    failures = counters.hit(_key("email", digest), window)
    known = counters.exists(_key("known", digest, ip))
    if failures > settings.LOGIN_ATTEMPTS_PER_EMAIL and not known:
        gate = _key("gate", digest)
        # One attempt per delay, whatever the number of parallel requests or addresses.
        if not counters.claim(gate, _delay(failures - 1)):
            counters.release(pair_key)
            counters.release(_key("email", digest))
            return _refuse("login slowed down", counters.remaining(gate), ip=ip, email=digest[:12])
    return Verdict(True)


def login_failed(*, request: HttpRequest | Request | None, email: str) -> None:
    """The reserved attempt failed: it stays counted, and the next one for this email waits."""
    if not email.strip():
        return
    digest = _email_digest(email)
    counters = _counters()
    failures = counters.value(_key("email", digest))
    if failures >= settings.LOGIN_ATTEMPTS_PER_EMAIL:
        counters.mark(_key("gate", digest), _delay(failures))


def login_succeeded(*, request: HttpRequest | Request | None, email: str) -> None:
    digest, ip = _email_digest(email), client_ip(request)
    counters = _counters()
    counters.delete(_key("pair", digest, ip))
    counters.release(_key("email", digest))
    counters.mark(_key("known", digest, ip), settings.LOGIN_KNOWN_IP_DAYS * 86400)


def password_reset_attempt(*, request: HttpRequest | Request | None, email: str) -> Verdict:
    """Reset requests spend the per-IP login budget, and an address gets at most
    PASSWORD_RESETS_PER_EMAIL emails per window (counted for every address, known or not)."""
    counters, window = _counters(), settings.RATE_LIMIT_WINDOW_SECONDS
    ip = client_ip(request)
    ip_key, email_key = _key("ip", ip), _key("reset", _email_digest(email))
    if counters.hit(ip_key, window) > settings.LOGIN_ATTEMPTS_PER_IP:
        return _refuse("login attempts exhausted", counters.remaining(ip_key), ip=ip)
    if counters.hit(email_key, window) > settings.PASSWORD_RESETS_PER_EMAIL:
        return _refuse("password resets exhausted", counters.remaining(email_key), ip=ip)
    return Verdict(True)


@receiver(user_login_failed)
def _count_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    login_failed(request=request, email=str(credentials.get("username") or credentials.get("email") or ""))


@receiver(user_logged_in)
def _count_success(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if getattr(user, "email", ""):
        login_succeeded(request=request, email=user.email)


class LoginAttemptThrottle(BaseThrottle):
    """The login budget as a DRF throttle (token endpoint): 429 with Retry-After."""

    count_email = True

    def allow_request(self, request: Request, view: APIView) -> bool:
        data = request.data if isinstance(request.data, dict) else {}
        email = str(data.get("email", "")) if self.count_email else ""
        self.verdict = login_attempt(request=request, email=email)
        return self.verdict.allowed

    def wait(self) -> float:
        return float(self.verdict.retry_after)


class SignupAttemptThrottle(LoginAttemptThrottle):
    """Sign-ups spend the per-IP login budget (the email is a new one, not a target)."""

    count_email = False
