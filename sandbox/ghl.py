"""GoHighLevel API v2 (services.leadconnectorhq.com), the part PrixAgent uses (providers.md §3, §6).

Private Integration Tokens are bound to one location. Every request must carry
`Version: 2021-07-28`. Every answer carries the real rate-limit headers, and the limits are
enforced: a burst of `burst_limit` requests per `burst_window_ms` (100 per 10 s, like the real
API), and `daily_limit` per UTC day, after which every request is a 429 with
`X-RateLimit-Daily-Remaining: 0`. A revoked token answers 401 like an invalid one.

Contacts search (`POST /contacts/search`) pages two ways, as documented: `page` + `pageLimit`
(at most 500 a page and 10,000 records in all), or `searchAfter`, the cursor every contact of a
response carries (`[<sort value in ms>, <id>]`), needed past 10,000.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sandbox.base import ProviderApp, Request, Response, bearer, new_id

VERSION = "2021-07-28"
BURST_WINDOW_MS = 10_000
MAX_PAGE_LIMIT = 500
MAX_STANDARD_RECORDS = 10_000
ERROR_NAMES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity"}
SORTABLE = ("dateAdded", "dateUpdated")
FIELDS = ("firstName", "lastName", "name", "email", "phone", "companyName", "timezone", "source", "dnd")


class GhlApp(ProviderApp):
    name = "ghl"

    def reset_state(self) -> None:
        self.locations: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # token -> location id
        self.revoked: set[str] = set()
        self.contacts: dict[str, dict[str, Any]] = {}
        self.usage: dict[str, dict[str, Any]] = {}  # location id -> burst timestamps, daily count, limits
        self._clock_ms = 0

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
        burst_window_ms: int = BURST_WINDOW_MS,
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
            self.usage[location_id] = {
                "burst": [],
                "day": _today(),
                "daily": 0,
                "daily_limit": daily_limit,
                "burst_limit": burst_limit,
                "window_ms": burst_window_ms,
            }
        return {"location_id": location_id, "token": token}

    def revoke_token(self, token: str) -> dict[str, bool]:
        """The location owner deleted the Private Integration (or rotated it past its overlap)."""
        with self.lock:
            self.revoked.add(token)
        return {"revoked": True}

    def create_contacts(self, location_id: str, count: int, *, phone_start: int = 14155550000) -> list[str]:
        """Seed `count` contacts in a location (first names "Contact <n>", phones from phone_start)."""
        ids = []
        with self.lock:
            for n in range(count):
                fields = {"firstName": f"Contact {n}", "lastName": "Seeded", "phone": f"+{phone_start + n}"}
                ids.append(self._insert(location_id, fields)["id"])
        return ids

    def set_limits(self, location_id: str, **limits: int) -> dict[str, Any]:
        """Change daily_limit / burst_limit / window_ms / daily (requests used today) of a location."""
        with self.lock:
            self.usage[location_id].update(limits)
            return dict(self.usage[location_id], burst=len(self.usage[location_id]["burst"]))

    def control_actions(self) -> dict[str, Any]:
        return {"locations": self.create_location, "revoke": self.revoke_token, "contacts": self.create_contacts}

    def state(self) -> dict[str, Any]:
        return {"locations": self.locations, "contacts": self.contacts}

    def location_contacts(self, location_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [_public(c) for c in self.contacts.values() if c["locationId"] == location_id]

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
        location_id = self._location_for_token(request.identity)
        if location_id and "x-ratelimit-max" not in {k.lower() for k in response.headers}:
            response.headers = {**self._limit_headers(location_id), **response.headers}
        return response

    def _location_for_token(self, token: str | None) -> str | None:
        if not token or token in self.revoked:
            return None
        return self.tokens.get(token)

    def _authorize(self, request: Request) -> Response | str:
        token = bearer(request) or ""
        if token in self.revoked:
            return self.error(401, "The token has been revoked")
        location_id = self._location_for_token(token)
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
        if usage["day"] != _today():
            usage["day"], usage["daily"] = _today(), 0
        usage["burst"] = [t for t in usage["burst"] if now - t < usage["window_ms"] / 1000]
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
            "X-RateLimit-Interval-Milliseconds": str(usage["window_ms"]),
            "X-RateLimit-Max": str(usage["burst_limit"]),
            "X-RateLimit-Remaining": str(max(usage["burst_limit"] - len(usage["burst"]), 0)),
        }

    def _location_of(self, request: Request, location_id: str | None) -> Response | str:
        own = self._authorize(request)
        if isinstance(own, Response):
            return own
        if not location_id:
            return _unprocessable("locationId should not be empty")
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

    def _tick(self) -> str:
        """Now, in the API's format, strictly increasing (so sorting by date is deterministic)."""
        now_ms = max(int(time.time() * 1000), self._clock_ms + 1)
        self._clock_ms = now_ms
        return datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}Z"

    def _insert(self, location_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        stamp = self._tick()
        contact = {
            "id": new_id("", 10)[:20],
            "locationId": location_id,
            "tags": [],
            "dnd": False,
            "customFields": [],
            "notes": [],  # kept with the contact for tests to read; never in an API answer
            "dateAdded": stamp,
            "dateUpdated": stamp,
        }
        self._set_fields(contact, fields)
        self.contacts[contact["id"]] = contact
        return contact

    def _set_fields(self, contact: dict[str, Any], fields: dict[str, Any]) -> None:
        for key in (*FIELDS, "tags", "customFields"):
            if key in fields:
                contact[key] = fields[key]
        contact["firstNameLowerCase"] = (contact.get("firstName") or "").lower()
        contact["lastNameLowerCase"] = (contact.get("lastName") or "").lower()
        contact["contactName"] = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)

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
        problem = _paging_problem(body)
        if problem:
            return _unprocessable(problem)
        found = [c for c in self.contacts.values() if c["locationId"] == own and _matches(c, body)]
        field, descending = _sort_of(body)
        found.sort(key=lambda c: (_ms(c[field]), c["id"]), reverse=descending)
        limit = int(body.get("pageLimit") or 20)
        after = body.get("searchAfter")
        if after:
            cursor = (int(after[0]), str(after[1]))
            found = [
                c
                for c in found
                if ((_ms(c[field]), c["id"]) < cursor if descending else (_ms(c[field]), c["id"]) > cursor)
            ]
            page = found[:limit]
            total = len(found)
        else:
            start = (int(body.get("page") or 1) - 1) * limit
            page, total = found[start : start + limit], len(found)
        contacts = [{**_public(c), "searchAfter": [_ms(c[field]), c["id"]]} for c in page]
        return Response(200, {"contacts": contacts, "total": total})

    def upsert_contact(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        own = self._location_of(request, body.get("locationId"))
        if isinstance(own, Response):
            return own
        if not (body.get("phone") or body.get("email")):
            return _unprocessable("phone or email is required")
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
            self._set_fields(existing, fields)
            existing["dateUpdated"] = self._tick()
            return Response(200, {"new": False, "contact": _public(existing), "traceId": new_id("", 8)})
        contact = self._insert(own, fields)
        return Response(201, {"new": True, "contact": _public(contact), "traceId": new_id("", 8)})

    def get_contact(self, request: Request) -> Response:
        contact = self._own_contact(request)
        return contact if isinstance(contact, Response) else Response(200, {"contact": _public(contact)})

    def add_note(self, request: Request) -> Response:
        contact = self._own_contact(request)
        if isinstance(contact, Response):
            return contact
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("body"):
            return _unprocessable("body should not be empty")
        note = {"id": new_id("", 10)[:20], "body": body["body"], "contactId": contact["id"], "dateAdded": self._tick()}
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
            return _unprocessable("tags must be an array")
        contact["tags"] = sorted(set(contact["tags"]) | set(tags))
        contact["dateUpdated"] = self._tick()
        return Response(201, {"tags": contact["tags"]})

    def remove_tags(self, request: Request) -> Response:
        contact = self._own_contact(request)
        if isinstance(contact, Response):
            return contact
        tags = set((request.body or {}).get("tags") or []) if isinstance(request.body, dict) else set()
        contact["tags"] = [t for t in contact["tags"] if t not in tags]
        contact["dateUpdated"] = self._tick()
        return Response(200, {"tags": contact["tags"]})


def _public(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in contact.items() if k != "notes"}


def _unprocessable(message: str) -> Response:
    return Response(422, {"statusCode": 422, "message": [message], "error": "Unprocessable Entity"})


def _paging_problem(body: dict[str, Any]) -> str:
    limit = body.get("pageLimit")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_LIMIT:
        return f"pageLimit must be an integer from 1 to {MAX_PAGE_LIMIT}"
    after = body.get("searchAfter")
    if after is not None:
        if body.get("page"):
            return "page must not be used with searchAfter"
        if not (isinstance(after, list) and len(after) == 2):
            return "searchAfter must be the array returned with a contact"
        return ""
    page = body.get("page") or 1
    if not isinstance(page, int) or page < 1:
        return "page must be a positive integer"
    if page * limit > MAX_STANDARD_RECORDS:
        return "Standard pagination reaches 10000 records; use searchAfter beyond that"
    return ""


def _sort_of(body: dict[str, Any]) -> tuple[str, bool]:
    sort = body.get("sort") or []
    first = sort[0] if sort and isinstance(sort[0], dict) else {}
    field = first.get("field") if first.get("field") in SORTABLE else "dateAdded"
    return field, first.get("direction") == "desc"


def _matches(contact: dict[str, Any], body: dict[str, Any]) -> bool:
    query = str(body.get("query") or "").lower()[:75]
    if (
        query
        and query
        not in " ".join(str(contact.get(k) or "") for k in ("firstName", "lastName", "email", "phone")).lower()
    ):
        return False
    return all(_filter_matches(contact, f) for f in body.get("filters") or [] if isinstance(f, dict))


def _filter_matches(contact: dict[str, Any], flt: dict[str, Any]) -> bool:
    field, operator, value = flt.get("field"), flt.get("operator"), flt.get("value")
    if operator == "range" and field in SORTABLE and isinstance(value, dict):
        mine = _ms(contact[field])
        bounds = {"gt": mine.__gt__, "gte": mine.__ge__, "lt": mine.__lt__, "lte": mine.__le__}
        return all(check(_ms(value[name])) for name, check in bounds.items() if name in value)
    if operator == "eq":
        return contact.get(str(field)) == value
    if operator == "exists":
        return bool(contact.get(str(field)))
    return True


def _ms(stamp: Any) -> int:
    if isinstance(stamp, int | float):
        return int(stamp)
    moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
