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
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.views.decorators.debug import sensitive_variables
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from integrations.providers.base import (
    ProviderError,
    base_url,
    error_for_status,
    require,
    scrub,
    segment,
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
    with _mapped(account_sid, auth_token):
        account = tw.api.v2010.accounts(account_sid).fetch()
    if account.sid != account_sid:
        raise unexpected(
            PROVIDER, "no account sid", {"sid": account.sid, "status": account.status}, (account_sid, auth_token)
        )
    return {
        "friendly_name": account.friendly_name,
        "status": account.status,
        "type": account.type,
        "trial": account.type == "Trial",
    }


@sensitive_variables()
def list_numbers(account_sid: str, auth_token: str, *, timeout_s: float | None = None) -> list[dict[str, Any]]:
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    with _mapped(account_sid, auth_token):
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
    def __init__(self, account_sid: str, auth_token: str) -> None:
        # The SID is a credential too (the registry masks it): scrubbed from error text like the token.
        self.secrets = (account_sid, auth_token)

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


# --- calls (the calls app) ------------------------------------------------------------------
# Creating a call is the one Twilio request that must never be repeated blindly (a retried
# create that had reached Twilio is a second, billed call, security.md A4). Its failures are
# therefore told apart by what they prove (providers.md §1.6):
# - "not created": Twilio answered with an error (4xx; 429 and 503 mean "busy, not processed"),
#   or the connection was never made. Safe to try again later (with a new attempt).
# - "unknown_outcome": the request may have reached Twilio (read timeout, connection dropped
#   after sending, a 5xx, an unreadable 2xx). The call may exist: only recovery, which looks
#   it up at Twilio, may decide.
UNKNOWN_OUTCOME = "unknown_outcome"
BUSY_CODES = ("rate_limited", "provider_busy")  # Twilio 429/20429 and 503: transient, back off
CALL_FIELDS = ("sid", "status", "to", "duration", "answered_by", "price", "price_unit", "direction")


def _call_dict(call: Any) -> dict[str, Any]:
    found = {name: getattr(call, name, None) for name in CALL_FIELDS}
    found["from"] = getattr(call, "_from", None)
    for name in ("date_created", "start_time", "end_time"):
        moment = getattr(call, name, None)
        found[name] = moment if isinstance(moment, datetime) else None
    return found


def _not_sent(exc: requests.RequestException) -> bool:
    """The connection was never made, so Twilio never saw the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = str(exc.args[0] if exc.args else exc)
    return isinstance(exc, requests.ConnectionError) and (
        "NewConnectionError" in reason or "Connection refused" in reason or "Name or service" in reason
    )


@sensitive_variables()
def _create_error(exc: BaseException, auth_token: str) -> ProviderError:
    if isinstance(exc, TwilioRestException):
        reason = scrub(f"{exc.msg} (error {exc.code})" if exc.code else str(exc.msg), (auth_token,))
        if exc.status == 429 or exc.code == 20429:
            return ProviderError(f"{PROVIDER} is busy: {reason}", permanent=False, code="rate_limited", status=429)
        if exc.status == 503:
            return ProviderError(f"{PROVIDER} is busy: {reason}", permanent=False, code="provider_busy", status=503)
        if exc.status >= 500:
            return ProviderError(
                f"{PROVIDER} failed ({exc.status}) and may have placed the call",
                permanent=False,
                code=UNKNOWN_OUTCOME,
                status=exc.status,
            )
        named = {20003: "invalid_credentials", 20404: "not_found"}.get(exc.code or 0)
        return error_for_status(PROVIDER, exc.status, reason, code=named)
    if isinstance(exc, requests.RequestException):
        if _not_sent(exc):
            return ProviderError(f"{PROVIDER} is unreachable", permanent=False, code="unreachable")
        return ProviderError(
            f"{PROVIDER} did not confirm the call ({type(exc).__name__})", permanent=False, code=UNKNOWN_OUTCOME
        )
    return ProviderError(
        f"{PROVIDER} answered with an unreadable response ({type(exc).__name__})",
        permanent=False,
        code=UNKNOWN_OUTCOME,
    )


@sensitive_variables()
def call_create(
    account_sid: str,
    auth_token: str,
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str,
    ring_timeout: int,
    time_limit: int,
    record: bool,
    machine_detection: str = "",
    async_amd_callback: str = "",
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """`POST Calls.json` (never retried): the new call's fields. See the errors above."""
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    amd: dict[str, Any] = {}
    if machine_detection:
        amd["machine_detection"] = machine_detection
        if async_amd_callback:
            # Async: the callee hears the agent at once; the verdict arrives on its own callback.
            amd.update(async_amd="true", async_amd_status_callback=async_amd_callback)
            amd["async_amd_status_callback_method"] = "POST"
    try:
        call = tw.calls.create(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            status_callback_method="POST",
            timeout=ring_timeout,
            time_limit=time_limit,
            record=record,
            **amd,
        )
    except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes raw
        raise _create_error(exc, auth_token) from exc
    if not isinstance(getattr(call, "sid", None), str) or not call.sid.startswith("CA"):
        raise ProviderError(f"{PROVIDER} answered without a call SID", permanent=False, code=UNKNOWN_OUTCOME)
    return _call_dict(call)


@sensitive_variables()
def call_fetch(account_sid: str, auth_token: str, call_sid: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    with _mapped(account_sid, auth_token):
        return _call_dict(tw.calls(call_sid).fetch())


@sensitive_variables()
def calls_list(
    account_sid: str,
    auth_token: str,
    *,
    to: str,
    from_: str,
    since: date | None = None,
    status: str | None = None,
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """`GET Calls.json?To=&From=&StartTime>=` (or `&Status=`): calls between two numbers.

    `StartTime>=` is a day (UTC) at Twilio, and a call still queued has no start time, so the
    calls app asks for both and narrows by `date_created` itself.
    """
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    with _mapped(account_sid, auth_token):
        found = tw.calls.list(
            to=to,
            from_=from_,
            start_time_after=since if since is not None else values.unset,
            status=status if status is not None else values.unset,
            limit=200,
            page_size=100,
        )
    return [_call_dict(call) for call in found]


@sensitive_variables()
def call_hangup(account_sid: str, auth_token: str, call_sid: str, *, timeout_s: float | None = None) -> None:
    """End a live call (`Status=completed`; a call not answered yet is canceled by Twilio)."""
    tw = client(account_sid, auth_token, timeout_s=timeout_s)
    with _mapped(account_sid, auth_token):
        tw.calls(call_sid).update(status="completed")


@sensitive_variables()
def number_configure(
    account_sid: str, auth_token: str, number_sid: str, *, voice_url: str, status_callback: str
) -> None:
    """Point one of the tenant's numbers at us: inbound calls reach the platform's voice webhook."""
    tw = client(account_sid, auth_token)
    with _mapped(account_sid, auth_token):
        tw.incoming_phone_numbers(number_sid).update(
            voice_url=voice_url,
            voice_method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
        )


@sensitive_variables()
def recording_open(
    account_sid: str, auth_token: str, recording_sid: str, *, range_header: str = "", timeout_s: float | None = None
) -> requests.Response:
    """A streaming `GET …/Recordings/{sid}.mp3` with the tenant's credentials (caller closes it).

    The URL is built from the recording SID and the configured base URL, never taken from a
    webhook's `RecordingUrl`, so a forged callback cannot point our credentials elsewhere.
    """
    require(PROVIDER, account_sid=account_sid, auth_token=auth_token, recording_sid=recording_sid)
    url = (
        f"{base_url('twilio', REAL_URL)}/2010-04-01/Accounts/{segment(account_sid)}"
        f"/Recordings/{segment(recording_sid)}.mp3"
    )
    headers = {"Range": range_header} if range_header else {}
    try:
        response = requests.get(
            url,
            auth=(account_sid, auth_token),
            headers=headers,
            stream=True,
            timeout=timeout_s if timeout_s is not None else timeout(),
        )
    except requests.RequestException as exc:
        raise transport_error(PROVIDER, exc) from exc
    if response.status_code >= 400:
        body = _json(response.text)
        response.close()
        reason = scrub(str(body.get("message") or "no reason given"), (auth_token,))
        raise error_for_status(PROVIDER, response.status_code, reason)
    return response


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
