"""Rate limits: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW for every API client, and a
much tighter limit on login attempts, counted per email and per IP address."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("prixagent.security")

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class PlatformRateThrottle(SimpleRateThrottle):
    """Per user when authenticated, per IP otherwise."""

    scope = "platform"

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


class LoginIPThrottle(PlatformRateThrottle):
    scope = "login-ip"

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return settings.LOGIN_ATTEMPTS_PER_IP, settings.RATE_LIMIT_WINDOW_SECONDS

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(PlatformRateThrottle):
    """Counts attempts per target email, whatever IP they come from."""

    scope = "login-email"

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return settings.LOGIN_ATTEMPTS_PER_EMAIL, settings.RATE_LIMIT_WINDOW_SECONDS

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        email = str(request.data.get("email", "")).strip().lower() if hasattr(request, "data") else ""
        if not email:
            return None
        return self.cache_format % {"scope": self.scope, "ident": email}


# --- Login attempts outside DRF (the dashboard's session login) -----------------------------
# The same limits as LoginIPThrottle / LoginEmailThrottle, counted in Django's cache so a
# form view can ask before it checks a password.


def _login_attempt_limits(email: str, ip: str) -> list[tuple[str, int]]:
    limits = [(f"login-attempts:ip:{ip}", settings.LOGIN_ATTEMPTS_PER_IP)]
    email = email.strip().lower()
    if email:
        # Hashed: the address stays out of the cache keys, and the key is always cache-safe.
        digest = hashlib.sha256(email.encode()).hexdigest()
        limits.append((f"login-attempts:email:{digest}", settings.LOGIN_ATTEMPTS_PER_EMAIL))
    return limits


def login_attempt_allowed(*, email: str, ip: str) -> bool:
    """False once this email or this IP used up its attempts in the current window."""
    allowed = all(cache.get(key, 0) < limit for key, limit in _login_attempt_limits(email, ip))
    if not allowed:
        logger.warning("login attempts exhausted: ip=%s", ip)
    return allowed


def login_attempt_record(*, email: str, ip: str) -> None:
    """Count one attempt; the window starts at the first attempt and lasts RATE_LIMIT_WINDOW."""
    for key, _limit in _login_attempt_limits(email, ip):
        if not cache.add(key, 1, timeout=settings.RATE_LIMIT_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, timeout=settings.RATE_LIMIT_WINDOW_SECONDS)
