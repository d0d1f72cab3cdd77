"""Twilio, through the official SDK, with one tenant's Account SID and Auth Token.

Two SDK traps handled here (providers.md finding 1 and 2):
- `Client()` fills a blank SID/token/edge/region from TWILIO_* environment variables, which in a
  multi-tenant app would silently use someone else's account. Blank credentials are refused, and
  the client gets an environment mapping of its own so os.environ is never read.
- `fetch()` raises `TwilioRestException`, but `list()` raises a plain
  `TwilioException("Unable to fetch page", response)`; both are mapped.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.views.decorators.debug import sensitive_variables
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from integrations.providers.base import (
    ProviderError,
    base_url,
    error_for_status,
    require,
    scrub,
    timeout,
    transport_error,
    unexpected,
)
from integrations.registry import Validation

PROVIDER = "Twilio"
REAL_URL = "https://api.twilio.com"
# Non-empty on purpose: ClientBase does `environment or os.environ`, so {} would read os.environ.
NO_ENVIRONMENT = {"PRIXAGENT_TWILIO_ENV": "ignored"}


class BaseUrlHttpClient(TwilioHttpClient):
    """TwilioHttpClient with a timeout that sends every Twilio domain to one base URL (the sandbox)."""

    def __init__(self, base: str, timeout_s: float) -> None:
        super().__init__(timeout=timeout_s)
        self.base = urlsplit(base) if base != REAL_URL else None

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.base is not None:
            parts = urlsplit(url)
            url = urlunsplit(
                (self.base.scheme, self.base.netloc, self.base.path.rstrip("/") + parts.path, parts.query, "")
            )
        return super().request(method, url, **kwargs)


@sensitive_variables()
def client(account_sid: str, auth_token: str, *, timeout_s: float | None = None) -> Client:
    require(PROVIDER, account_sid=account_sid, auth_token=auth_token)
    http = BaseUrlHttpClient(base_url("twilio", REAL_URL), timeout_s if timeout_s is not None else timeout())
    return Client(account_sid, auth_token, http_client=http, environment=NO_ENVIRONMENT)


@sensitive_variables()
def validate(account_sid: str, auth_token: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    """Fetch the account: proves the pair is valid and says whether it is a trial."""
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    with _mapped(auth_token):
        account = tw.api.v2010.accounts(account_sid).fetch()
    if account.sid != account_sid:
        raise unexpected(PROVIDER, "no account sid", {"sid": account.sid, "status": account.status}, (auth_token,))
    return {
        "friendly_name": account.friendly_name,
        "status": account.status,
        "type": account.type,
        "trial": account.type == "Trial",
    }


@sensitive_variables()
def list_numbers(account_sid: str, auth_token: str, *, timeout_s: float | None = None) -> list[dict[str, Any]]:
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    with _mapped(auth_token):
        numbers = tw.incoming_phone_numbers.list(page_size=100)
    return [
        {
            "number": n.phone_number,
            "sid": n.sid,
            "friendly_name": n.friendly_name,
            "capabilities": dict(n.capabilities or {}),
        }
        for n in numbers
    ]


class _mapped:  # noqa: N801 - used as a lower-case context manager
    """Turn SDK and transport exceptions into ProviderError."""

    @sensitive_variables()
    def __init__(self, auth_token: str) -> None:
        self.secrets = (auth_token,)

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            return False
        if isinstance(exc, TwilioRestException):
            raise self._from_status(exc.status, exc.code, exc.msg) from exc
        if isinstance(exc, TwilioException) and len(exc.args) > 1 and hasattr(exc.args[1], "status_code"):
            response = exc.args[1]
            body = _json(response.text)
            raise self._from_status(response.status_code, body.get("code"), body.get("message", "")) from exc
        if isinstance(exc, requests.RequestException):
            raise transport_error(PROVIDER, exc) from exc
        if isinstance(exc, TwilioException | ValueError | KeyError | TypeError):
            # A 2xx body the SDK cannot read (not JSON, or without its records): transient.
            raise unexpected(PROVIDER, type(exc).__name__, exc, self.secrets) from exc
        return False

    def _from_status(self, status: int, code: int | None, message: str) -> ProviderError:
        reason = scrub(f"{message} (error {code})" if code else message or "no reason given", self.secrets)
        named = {20003: "invalid_credentials", 20404: "not_found", 20429: "rate_limited"}.get(code or 0)
        return error_for_status(PROVIDER, status, reason, code=named)


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- registry glue (integrations.registry) ---------------------------------------------------


@sensitive_variables()
def connect_check(creds: dict[str, str]) -> Validation:
    """Connect: the account must be active; its numbers are stored with it."""
    info = validate(creds["account_sid"], creds["auth_token"])
    if info.get("status") not in (None, "active"):
        raise ProviderError(f"the Twilio account is {info['status']}", permanent=True, code="inactive", status=None)
    numbers = phone_numbers(creds)
    details = {
        "friendly_name": info.get("friendly_name", ""),
        "status": info.get("status", ""),
        "type": info.get("type", ""),
        "trial": bool(info.get("trial")),
    }
    summary = f"{details['friendly_name'] or 'account'}, {len(numbers)} number(s)" + (
        ", trial" if details["trial"] else ""
    )
    return Validation(details, summary, {"twilio_phone_numbers": numbers})


@sensitive_variables()
def phone_numbers(creds: dict[str, str]) -> list[dict[str, Any]]:
    """The numbers as stored on the account (what the dashboard and the dialer read)."""
    keys = ("number", "sid", "friendly_name", "capabilities")
    return [{k: n.get(k) for k in keys} for n in list_numbers(creds["account_sid"], creds["auth_token"])]


def overview_details(account: Any) -> dict[str, Any]:
    return {"numbers": account.twilio_phone_numbers}
