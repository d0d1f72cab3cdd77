"""Security event log (logger `prixagent.security`): logins, failures, lockouts, MFA failures,
invitations, role changes, log-out-everywhere.

One line per event with the actor, the tenant and the client IP (`client_ip`, the same address
the rate limits use), never a password (Django already replaces it in `credentials`; only the
username is read here). The request id is added by the log format. Every value that comes from
a request is written with `repr` when it holds anything but plain printable characters, so a
CR/LF in an email address cannot start a forged line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from prixagent.throttling import client_ip

logger = logging.getLogger("prixagent.security")

_PLAIN = re.compile(r"[\w.@+:/-]*", re.ASCII)


def _value(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if _PLAIN.fullmatch(text) else repr(text[:254])


def security_event(event: str, *, request: Any = None, level: int = logging.INFO, **fields: Any) -> None:
    """Log one security event: `event: key=value ... ip=<client ip>`."""
    parts = [f"{name}={_value(value)}" for name, value in fields.items()]
    parts.append(f"ip={client_ip(request)}")
    logger.log(level, "%s: %s", event, " ".join(parts))


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
