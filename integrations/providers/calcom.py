"""Cal.com API v2 with `requests`, one tenant's API key.

Each endpoint family needs its own `cal-api-version`; without it Cal.com silently serves an
older request/response shape (providers.md §4.1). `/v2/me` takes none.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from integrations.providers.base import JsonApi, base_url, require, segment, unexpected
from integrations.registry import Validation
from prixagent.errors import ApplicationError

PROVIDER = "Cal.com"
REAL_URL = "https://api.cal.com/v2"
EVENT_TYPES_VERSION = "2024-06-14"
SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"


class CalcomClient(JsonApi):
    provider = PROVIDER

    @sensitive_variables()
    def __init__(self, api_key: str, *, timeout_s: float | None = None) -> None:
        require(PROVIDER, api_key=api_key)
        headers = {"Authorization": f"Bearer {api_key}"}
        super().__init__(base_url("calcom", REAL_URL), headers=headers, secrets=(api_key,), timeout_s=timeout_s)

    def reason_of(self, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or error)
        return str(body)[:200]

    def data(self, method: str, path: str, version: str | None, **kwargs: Any) -> Any:
        headers = {"cal-api-version": version} if version else {}
        return self.member(self.call(method, path, headers=headers, **kwargs), "data", (dict, list))

    def me(self) -> dict[str, Any]:
        return self.obj(self.data("GET", "/me", None))

    def event_types(self) -> list[dict[str, Any]]:
        types = self.data("GET", "/event-types", EVENT_TYPES_VERSION)
        if not isinstance(types, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), int) for t in types):
            raise unexpected(self.provider, "event types without ids", types, self.secrets)
        return types

    def slots(
        self, *, event_type_id: int, start: str, end: str, time_zone: str = "UTC"
    ) -> dict[str, list[dict[str, Any]]]:
        params = {"eventTypeId": event_type_id, "start": start, "end": end, "timeZone": time_zone}
        return self.data("GET", "/slots", SLOTS_VERSION, params=params)

    def create_booking(
        self, *, event_type_id: int, start_utc: str, attendee: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        body = {"eventTypeId": event_type_id, "start": start_utc, "attendee": attendee, **extra}
        return self.data("POST", "/bookings", BOOKINGS_VERSION, json=body)

    def cancel_booking(self, uid: str, reason: str = "") -> dict[str, Any]:
        body = {"cancellationReason": reason}
        return self.data("POST", f"/bookings/{segment(uid)}/cancel", BOOKINGS_VERSION, json=body)


@sensitive_variables()
def validate(api_key: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    cal = CalcomClient(api_key, timeout_s=timeout_s)
    try:
        me = cal.me()
    finally:
        cal.close()
    return {"username": me.get("username", ""), "email": me.get("email", ""), "time_zone": me.get("timeZone", "")}


@sensitive_variables()
def list_event_types(api_key: str, *, timeout_s: float | None = None) -> list[dict[str, Any]]:
    cal = CalcomClient(api_key, timeout_s=timeout_s)
    try:
        types = cal.event_types()
    finally:
        cal.close()
    return [
        {"id": t["id"], "slug": t.get("slug", ""), "title": t.get("title", ""), "length": t.get("lengthInMinutes")}
        for t in types
    ]


# --- registry glue (integrations.registry) ---------------------------------------------------


@sensitive_variables()
def connect_check(creds: dict[str, str]) -> Validation:
    """Connect: `/v2/me` proves the key; the event types are what the agent can book."""
    me = validate(creds["api_key"])
    keys = ("id", "slug", "title", "length")
    types = [{k: t.get(k) for k in keys} for t in list_event_types(creds["api_key"])]
    details = {"username": me.get("username", ""), "time_zone": me.get("time_zone", ""), "event_types": types}
    return Validation(details, f"user {details['username']}, {len(types)} event type(s)")


def apply_connect_options(validation: Validation, options: dict[str, Any], previous: dict[str, Any]) -> None:
    """The default event type: the one asked for, else the one chosen before if it still
    exists, else the only one."""
    types = validation.details["event_types"]
    wanted = options.get("default_event_type_id")
    if wanted is not None:
        require_event_type(types, wanted)
        chosen = wanted
    else:
        ids = [t["id"] for t in types]
        kept = previous.get("default_event_type_id")
        chosen = kept if kept in ids else (ids[0] if len(ids) == 1 else None)
    validation.details["default_event_type_id"] = chosen


def require_event_type(types: list[dict[str, Any]], wanted: int) -> None:
    if wanted not in [t["id"] for t in types]:
        raise ApplicationError(
            _("Some fields are invalid."),
            fields={"default_event_type_id": [_("This Cal.com account has no event type with that id.")]},
        )


# --- In-call booking (agents app). Short timeouts: a caller is waiting on the line. -----------


def available_slots(
    api_key: str, *, event_type_id: int, start: str, end: str, time_zone: str, timeout_s: float | None = None
) -> dict[str, list[dict[str, Any]]]:
    """`GET /v2/slots`: {"YYYY-MM-DD": [{"start": "...+offset"}]}, days and offsets in `time_zone`."""
    cal = CalcomClient(api_key, timeout_s=timeout_s)
    try:
        return cal.slots(event_type_id=event_type_id, start=start, end=end, time_zone=time_zone)
    finally:
        cal.close()


def booking_create(
    api_key: str,
    *,
    event_type_id: int,
    start_utc: str,
    attendee: dict[str, Any],
    metadata: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """`POST /v2/bookings`. `start_utc` is UTC ISO 8601; `attendee.timeZone` an IANA name (§4.2).

    Never retried here: a booking whose answer was lost may exist, and a second POST would book
    the caller twice.
    """
    cal = CalcomClient(api_key, timeout_s=timeout_s)
    extra = {"metadata": metadata} if metadata else {}
    try:
        return cal.create_booking(event_type_id=event_type_id, start_utc=start_utc, attendee=attendee, **extra)
    finally:
        cal.close()
