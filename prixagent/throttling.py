"""Rate limits: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW for every API client, and a
much tighter limit on login attempts, counted per email and per IP address."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from prixagent import ratelimit

logger = logging.getLogger("prixagent.security")

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from django.http import HttpRequest
    from rest_framework.request import Request
    from rest_framework.views import APIView


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


# --- Login attempts: one budget for the API, the dashboard and the admin ----------------------
# Counted in Django's cache (Redis when configured) per email and per client IP, and checked
# before the password, so a locked-out attacker learns nothing more from any surface.


def client_ip(request: HttpRequest | Request | None) -> str:
    # REMOTE_ADDR, like DRF's throttles with NUM_PROXIES unset: a forwarded header is
    # client-controlled, so trusting it would let anyone reset their own counter.
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"


def _login_attempt_limits(email: str, ip: str) -> list[tuple[str, int]]:
    limits = [(f"login-attempts:ip:{ip}", settings.LOGIN_ATTEMPTS_PER_IP)]
    email = email.strip().lower()
    if email:
        # Hashed: the address stays out of the cache keys, and the key is always cache-safe.
        digest = hashlib.sha256(email.encode()).hexdigest()
        limits.append((f"login-attempts:email:{digest}", settings.LOGIN_ATTEMPTS_PER_EMAIL))
    return limits


def login_attempt(*, request: HttpRequest | Request | None, email: str) -> bool:
    """Count one login attempt for `email` (may be empty) and the client's IP.

    False, and nothing counted, once either is over its limit for the current window, which
    starts at the first attempt and lasts RATE_LIMIT_WINDOW.
    """
    ip = client_ip(request)
    limits = _login_attempt_limits(email, ip)
    if any(cache.get(key, 0) >= limit for key, limit in limits):
        logger.warning("login attempts exhausted: ip=%s", ip)
        return False
    for key, _limit in limits:
        if not cache.add(key, 1, timeout=settings.RATE_LIMIT_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, timeout=settings.RATE_LIMIT_WINDOW_SECONDS)
    return True


class LoginAttemptThrottle(BaseThrottle):
    """The login budget as a DRF throttle (token endpoint): 429 with Retry-After."""

    count_email = True

    def allow_request(self, request: Request, view: APIView) -> bool:
        data = request.data if isinstance(request.data, dict) else {}
        email = str(data.get("email", "")) if self.count_email else ""
        return login_attempt(request=request, email=email)

    def wait(self) -> float:
        return float(settings.RATE_LIMIT_WINDOW_SECONDS)  # the longest the window can still last


class SignupAttemptThrottle(LoginAttemptThrottle):
    """Sign-ups spend the per-IP login budget (the email is a new one, not a target)."""

    count_email = False
