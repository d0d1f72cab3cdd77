"""GoHighLevel API v2 with `requests`, one location's Private Integration Token.

The official SDK locks `Version: v3` and is async-only (providers.md finding 7), so this sends
the documented `Version: 2021-07-28`. A 429 with `X-RateLimit-Daily-Remaining: 0` will not clear
for hours, so it gets its own code, "daily_limit", and callers stop syncing that tenant.
"""

from __future__ import annotations

from typing import Any

import requests
from django.views.decorators.debug import sensitive_variables

from integrations.providers.base import JsonApi, base_url, require, segment
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
