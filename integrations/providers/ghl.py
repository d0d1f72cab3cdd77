"""GoHighLevel API v2 with `requests`, one location's Private Integration Token.

The official SDK locks `Version: v3` and is async-only (providers.md finding 7), so this sends
the documented `Version: 2021-07-28`. A 429 with `X-RateLimit-Daily-Remaining: 0` will not clear
for hours, so it gets its own code, "daily_limit", and callers stop syncing that tenant.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import requests
from django.views.decorators.debug import sensitive_variables

from integrations.providers.base import (
    JsonApi,
    base_url,
    error_for_status,
    json_or_text,
    require,
    scrub,
    segment,
    transport_error,
)
from integrations.registry import Validation

PROVIDER = "GoHighLevel"
REAL_URL = "https://services.leadconnectorhq.com"
VERSION = "2021-07-28"


class GhlClient(JsonApi):
    provider = PROVIDER

    @sensitive_variables()
    def __init__(self, token: str, location_id: str, *, timeout_s: float | None = None) -> None:
        require(PROVIDER, token=token, location_id=location_id)
        headers = {"Authorization": f"Bearer {token}", "Version": VERSION}
        super().__init__(base_url("ghl", REAL_URL), headers=headers, secrets=(token,), timeout_s=timeout_s)
        self.location_id = location_id

    def reason_of(self, body: Any) -> str:
        if isinstance(body, dict):
            message = body.get("message")
            return "; ".join(map(str, message)) if isinstance(message, list) else str(message or body)
        return str(body)[:200]

    def code_of(self, response: requests.Response, body: Any) -> str | None:
        if response.status_code == 429 and response.headers.get("X-RateLimit-Daily-Remaining") == "0":
            return "daily_limit"
        return None

    def get_location(self) -> dict[str, Any]:
        return self.member(self.call("GET", f"/locations/{segment(self.location_id)}"), "location")

    def upsert_contact(self, **fields: Any) -> dict[str, Any]:
        return self.obj(self.call("POST", "/contacts/upsert", json={"locationId": self.location_id, **fields}))

    def search_contacts(self, *, query: str = "", page: int = 1, page_limit: int = 100) -> dict[str, Any]:
        body = {"locationId": self.location_id, "query": query, "page": page, "pageLimit": page_limit}
        return self.obj(self.call("POST", "/contacts/search", json=body))

    def add_note(self, contact_id: str, body: str) -> dict[str, Any]:
        return self.member(self.call("POST", f"/contacts/{segment(contact_id)}/notes", json={"body": body}), "note")

    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        return self.member(
            self.call("POST", f"/contacts/{segment(contact_id)}/tags", json={"tags": tags}), "tags", list
        )


@sensitive_variables()
def validate(token: str, location_id: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    """Read the location: proves the token is valid and belongs to it; returns name and time zone."""
    ghl = GhlClient(token, location_id, timeout_s=timeout_s)
    try:
        location = ghl.get_location()
    finally:
        ghl.close()
    return {"name": location.get("name", ""), "timezone": location.get("timezone", "")}


# --- registry glue (integrations.registry) ---------------------------------------------------


@sensitive_variables()
def connect_check(creds: dict[str, str]) -> Validation:
    """Connect: the token must read the location it names."""
    info = validate(creds["api_key"], creds["location_id"])
    details = {"location_name": info.get("name", ""), "timezone": info.get("timezone", "")}
    return Validation(details, f"location {details['location_name']}", {"ghl_location_id": creds["location_id"]})


def overview_details(account: Any) -> dict[str, Any]:
    return {"location_id": account.ghl_location_id}


# --- Contacts sync (used by the contacts app) -------------------------------------------------
# GoHighLevel allows a burst of X-RateLimit-Max requests per X-RateLimit-Interval-Milliseconds
# per location (100 per 10 s today) and a daily quota. Every response says where we stand, so
# the client reads the headers instead of assuming the numbers, waits before it would go over,
# and retries a burst 429 after the window. A 429 with X-RateLimit-Daily-Remaining: 0 is not
# retried ("daily_limit"): it clears only the next day (providers.md §3.3).

BURST_RETRIES = 3
SEARCH_PAGE_LIMIT = 500  # the API's maximum


class BurstLimiter:
    """A sliding window of request times for one location, in this process, sized by the headers.

    Workers in several processes each keep their own window; if together they overshoot, the
    API's 429 makes each wait a whole window and try again (`GhlContactsClient.call`).
    """

    def __init__(self, limit: int = 100, interval: float = 10.0) -> None:
        self.lock = threading.Lock()
        self.sent: deque[float] = deque()
        self.limit, self.interval = limit, interval
        self.blocked_until = 0.0

    def acquire(self, sleep: Callable[[float], None]) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                while self.sent and now - self.sent[0] >= self.interval:
                    self.sent.popleft()
                wait = self.blocked_until - now
                if wait <= 0 and len(self.sent) >= self.limit:
                    wait = self.sent[0] + self.interval - now
                if wait <= 0:
                    self.sent.append(now)
                    return
            sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        with self.lock:
            if (limit := _int(headers.get("X-RateLimit-Max"))) is not None and limit > 0:
                self.limit = limit
            if (interval := _int(headers.get("X-RateLimit-Interval-Milliseconds"))) is not None and interval > 0:
                self.interval = interval / 1000
            if _int(headers.get("X-RateLimit-Remaining")) == 0:
                # The window is full as far as the API is concerned; our own count may not know
                # about requests made by other processes.
                self.blocked_until = time.monotonic() + self.interval

    def back_off(self) -> None:
        with self.lock:
            self.blocked_until = time.monotonic() + self.interval


_LIMITERS: dict[str, BurstLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(location_id: str) -> BurstLimiter:
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault(location_id, BurstLimiter())


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class GhlContactsClient(GhlClient):
    """GhlClient with the rate limits honoured, for syncing contacts, notes and tags.

    `requests_made` counts what was sent; `retry_after` is set on a "daily_limit" ProviderError
    when the API said how long to wait (it does not document that it does).
    """

    def __init__(
        self,
        token: str,
        location_id: str,
        *,
        timeout_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(token, location_id, timeout_s=timeout_s)
        self.limiter = limiter_for(location_id)
        self.sleep = sleep
        self.requests_made = 0

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(BURST_RETRIES + 1):
            self.limiter.acquire(self.sleep)
            try:
                response = self.session.request(method, self.root + path, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                raise transport_error(self.provider, exc) from exc
            self.requests_made += 1
            self.limiter.observe(response.headers)
            body = json_or_text(response)
            daily_spent = response.headers.get("X-RateLimit-Daily-Remaining") == "0"
            if response.status_code == 429 and not daily_spent and attempt < BURST_RETRIES:
                self.limiter.back_off()
                continue
            if response.status_code >= 400:
                reason = scrub(self.reason_of(body), self.secrets)
                error = error_for_status(self.provider, response.status_code, reason, code=self.code_of(response, body))
                error.retry_after = _int(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
                raise error
            return body
        raise AssertionError("unreachable")

    def search_page(
        self,
        *,
        search_after: list[Any] | None = None,
        filters: list[dict[str, Any]] | None = None,
        sort: list[dict[str, str]] | None = None,
        page_limit: int = SEARCH_PAGE_LIMIT,
    ) -> dict[str, Any]:
        """One page of the location's contacts; pass the last contact's `searchAfter` for the next."""
        body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
        if search_after:
            body["searchAfter"] = search_after
        if filters:
            body["filters"] = filters
        if sort:
            body["sort"] = sort
        page = self.obj(self.call("POST", "/contacts/search", json=body))
        self.member(page, "contacts", list)
        return page

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        return self.member(self.call("GET", f"/contacts/{segment(contact_id)}"), "contact")

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        body = self.call("DELETE", f"/contacts/{segment(contact_id)}/tags", json={"tags": tags})
        return self.member(body, "tags", list)
