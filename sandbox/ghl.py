"""GoHighLevel API v2 (services.leadconnectorhq.com), the part PrixAgent uses (providers.md §3, §6).

Private Integration Tokens are bound to one location. Every request must carry
`Version: 2021-07-28`. Every answer carries the real rate-limit headers, and the limits are
enforced: a burst of `burst_limit` requests per 10 s, and `daily_limit` per day.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sandbox.base import ProviderApp, Request, Response, bearer, new_id

VERSION = "2021-07-28"
BURST_WINDOW_MS = 10_000
ERROR_NAMES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity"}


class GhlApp(ProviderApp):
    name = "ghl"

    def reset_state(self) -> None:
        self.locations: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # token -> location id
        self.contacts: dict[str, dict[str, Any]] = {}
        self.usage: dict[str, dict[str, Any]] = {}  # location id -> burst timestamps, daily count, limits

    def routes(self) -> list[tuple[str, str, Any]]:
        contact = r"(?P<contact>[0-9A-Za-z]{20})"
        return [
            ("GET", r"/locations/(?P<location>[0-9A-Za-z]+)", self.get_location),
            ("POST", r"/contacts/search", self.search_contacts),
            ("POST", r"/contacts/upsert", self.upsert_contact),
            ("GET", rf"/contacts/{contact}", self.get_contact),
            ("GET", rf"/contacts/{contact}/notes", self.list_notes),
            ("POST", rf"/contacts/{contact}/notes", self.add_note),
            ("POST", rf"/contacts/{contact}/tags", self.add_tags),
            ("DELETE", rf"/contacts/{contact}/tags", self.remove_tags),
        ]

    # --- test API --------------------------------------------------------------------------
    def create_location(
        self,
        name: str = "Sandbox location",
        timezone: str = "America/New_York",
        *,
        location_id: str | None = None,
        token: str | None = None,
        daily_limit: int = 200_000,
        burst_limit: int = 100,
    ) -> dict[str, str]:
        location_id = location_id or new_id("", 10)[:20]
        token = token or f"pit-{new_id('', 4)}-{new_id('', 2)}-{new_id('', 2)}-{new_id('', 6)}"
        with self.lock:
            self.locations[location_id] = {
                "id": location_id,
                "companyId": new_id("", 10)[:20],
                "name": name,
                "timezone": timezone,
                "email": f"{location_id.lower()}@example.com",
                "phone": "+15005550006",
                "address": "1 Sandbox Street",
                "country": "US",
            }
            self.tokens[token] = location_id
            self.usage[location_id] = {"burst": [], "daily": 0, "daily_limit": daily_limit, "burst_limit": burst_limit}
        return {"location_id": location_id, "token": token}

    def control_actions(self) -> dict[str, Any]:
        return {"locations": self.create_location}

    def state(self) -> dict[str, Any]:
        return {"locations": self.locations, "contacts": self.contacts}

    # --- protocol ----------------------------------------------------------------------------
    def identify(self, request: Request) -> str | None:
        return bearer(request)

    def error(self, status: int, message: str) -> Response:
        body: dict[str, Any] = {"statusCode": status, "message": message}
        if status in ERROR_NAMES:
            body["error"] = ERROR_NAMES[status]
        if status == 429:
            body = {"message": "Too Many Requests"}
        return Response(status, body)

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        location_id = self.tokens.get(request.identity or "")
        if location_id and "x-ratelimit-max" not in {k.lower() for k in response.headers}:
            response.headers = {**self._limit_headers(location_id), **response.headers}
        return response

    def _authorize(self, request: Request) -> Response | str:
        location_id = self.tokens.get(bearer(request) or "")
        if location_id is None:
            return self.error(401, "Invalid Private Integration token")
        if request.headers.get("version") != VERSION:
            # Assumption: the real API's wording for a missing/unsupported Version is not documented.
            return self.error(400, "Version header was not found or is not supported")
        limited = self._count(location_id)
        if limited:
            return limited
        return location_id

    def _count(self, location_id: str) -> Response | None:
        usage = self.usage[location_id]
        now = time.monotonic()
        usage["burst"] = [t for t in usage["burst"] if now - t < BURST_WINDOW_MS / 1000]
        if usage["daily"] >= usage["daily_limit"] or len(usage["burst"]) >= usage["burst_limit"]:
            return Response(429, {"message": "Too Many Requests"}, self._limit_headers(location_id))
        usage["burst"].append(now)
        usage["daily"] += 1
        return None

    def _limit_headers(self, location_id: str) -> dict[str, str]:
        usage = self.usage[location_id]
        return {
            "X-RateLimit-Limit-Daily": str(usage["daily_limit"]),
            "X-RateLimit-Daily-Remaining": str(max(usage["daily_limit"] - usage["daily"], 0)),
            "X-RateLimit-Interval-Milliseconds": str(BURST_WINDOW_MS),
            "X-RateLimit-Max": str(usage["burst_limit"]),
            "X-RateLimit-Remaining": str(max(usage["burst_limit"] - len(usage["burst"]), 0)),
        }

    def _location_of(self, request: Request, location_id: str | None) -> Response | str:
        own = self._authorize(request)
        if isinstance(own, Response):
            return own
        if not location_id:
            return Response(
                422, {"statusCode": 422, "message": ["locationId should not be empty"], "error": "Unprocessable Entity"}
            )
        if location_id != own:
            return self.error(403, "The token does not have access to this location.")
        return own

    def _own_contact(self, request: Request) -> Response | dict[str, Any]:
        own = self._authorize(request)
        if isinstance(own, Response):
            return own
        contact = self.contacts.get(request.params["contact"])
        if contact is None or contact["locationId"] != own:
            return self.error(400, "Contact not found")  # HighLevel answers 400 for a contact it cannot see
        return contact

    # --- handlers ----------------------------------------------------------------------------
    def get_location(self, request: Request) -> Response:
        own = self._location_of(request, request.params["location"])
        if isinstance(own, Response):
            return own
        return Response(200, {"location": self.locations[own]})

    def search_contacts(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        own = self._location_of(request, body.get("locationId"))
        if isinstance(own, Response):
            return own
        query = (body.get("query") or "").lower()
        found = [
            c
            for c in self.contacts.values()
            if c["locationId"] == own
            and (
                not query
                or query in " ".join(str(c.get(k) or "") for k in ("firstName", "lastName", "email", "phone")).lower()
            )
        ]
        limit, page = int(body.get("pageLimit") or 20), int(body.get("page") or 1)
        return Response(200, {"contacts": found[(page - 1) * limit : page * limit], "total": len(found)})

    def upsert_contact(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        own = self._location_of(request, body.get("locationId"))
        if isinstance(own, Response):
            return own
        existing = next(
            (
                c
                for c in self.contacts.values()
                if c["locationId"] == own
                and (
                    (body.get("email") and c.get("email") == body["email"])
                    or (body.get("phone") and c.get("phone") == body["phone"])
                )
            ),
            None,
        )
        fields = {k: v for k, v in body.items() if k != "locationId"}
        if existing:
            existing.update(fields)
            existing["dateUpdated"] = _now()
            return Response(200, {"new": False, "contact": existing, "traceId": new_id("", 8)})
        contact = {"id": new_id("", 10)[:20], "locationId": own, "tags": [], "dateAdded": _now(), "notes": [], **fields}
        self.contacts[contact["id"]] = contact
        return Response(201, {"new": True, "contact": contact, "traceId": new_id("", 8)})

    def get_contact(self, request: Request) -> Response:
        contact = self._own_contact(request)
        return contact if isinstance(contact, Response) else Response(200, {"contact": contact})

    def add_note(self, request: Request) -> Response:
        contact = self._own_contact(request)
        if isinstance(contact, Response):
            return contact
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("body"):
            return Response(
                422, {"statusCode": 422, "message": ["body should not be empty"], "error": "Unprocessable Entity"}
            )
        note = {"id": new_id("", 10)[:20], "body": body["body"], "contactId": contact["id"], "dateAdded": _now()}
        contact["notes"].append(note)
        return Response(201, {"note": note})

    def list_notes(self, request: Request) -> Response:
        contact = self._own_contact(request)
        return contact if isinstance(contact, Response) else Response(200, {"notes": list(contact["notes"])})

    def add_tags(self, request: Request) -> Response:
        contact = self._own_contact(request)
        if isinstance(contact, Response):
            return contact
        tags = (request.body or {}).get("tags") if isinstance(request.body, dict) else None
        if not isinstance(tags, list):
            return Response(
                422, {"statusCode": 422, "message": ["tags must be an array"], "error": "Unprocessable Entity"}
            )
        contact["tags"] = sorted(set(contact["tags"]) | set(tags))
        return Response(201, {"tags": contact["tags"]})

    def remove_tags(self, request: Request) -> Response:
        contact = self._own_contact(request)
        if isinstance(contact, Response):
            return contact
        tags = set((request.body or {}).get("tags") or []) if isinstance(request.body, dict) else set()
        contact["tags"] = [t for t in contact["tags"] if t not in tags]
        return Response(200, {"tags": contact["tags"]})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
