"""Security event log: logins (dashboard, admin, API tokens), failures and logouts.

One line per event with the actor, the tenant and the client IP, never a password (Django
already replaces it in `credentials`; only the username is read here). The request id is
added by the log format.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from prixagent.throttling import client_ip

logger = logging.getLogger("prixagent.security")


def _surface(request: HttpRequest | None) -> str:
    path = getattr(request, "path", "") or ""
    return "admin" if path.startswith("/admin/") else "api" if path.startswith("/api/") else "dashboard"


@receiver(user_logged_in)
def log_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    account = getattr(getattr(user, "account", None), "slug", None) or "platform"
    logger.info("login ok: user=%s account=%s via=%s ip=%s", user.pk, account, _surface(request), client_ip(request))


@receiver(user_login_failed)
def log_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    logger.warning("login failed: email=%r via=%s ip=%s", email, _surface(request), client_ip(request))


@receiver(user_logged_out)
def log_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    logger.info("logout: user=%s ip=%s", getattr(user, "pk", None), client_ip(request))
