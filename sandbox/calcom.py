"""Cal.com API v2 (api.cal.com/v2), the part PrixAgent uses (providers.md §4, §6).

Each endpoint insists on the `cal-api-version` the product pins (a wrong or missing one answers
400, so the pinning is tested). Users work Monday to Friday, 09:00-17:00 in their own time
zone; slots are that grid minus bookings; booking a taken or off-grid start answers 400.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.base import ProviderApp, Request, Response, bearer, new_id

EVENT_TYPES_VERSION = "2024-06-14"
SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
RATE_LIMIT = 120  # requests per minute per API key
ERROR_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "TOO_MANY_REQUESTS"}
WORK_START, WORK_END = time(9), time(17)


def calcom_signature(secret: str, raw_body: bytes) -> str:
    """X-Cal-Signature-256: hex HMAC-SHA256 of the raw body with the webhook secret."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def _iso(moment: datetime) -> str:
    return (
        moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if moment.utcoffset() == timedelta(0)
        else moment.isoformat(timespec="milliseconds")
    )


def _parse_moment(raw: str, tz: ZoneInfo, end_of_day: bool = False) -> datetime:
    if "T" not in raw:
        day = date.fromisoformat(raw)
        return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=tz)
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class CalcomApp(ProviderApp):
    name = "calcom"
    mount = "/v2"

    def reset_state(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}  # api key -> user
        self.event_types: dict[int, dict[str, Any]] = {}
        self.bookings: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, list[float]] = {}  # api key -> request times, for the rate limit
        self._next_id = 1

    def routes(self) -> list[tuple[str, str, Any]]:
        uid = r"(?P<uid>[0-9a-zA-Z]+)"
        return [
            ("GET", r"/me", self.me),
            ("GET", r"/event-types", self.list_event_types),
            ("GET", r"/slots", self.slots),
            ("POST", r"/bookings", self.create_booking),
            ("GET", rf"/bookings/{uid}", self.get_booking),
            ("POST", rf"/bookings/{uid}/cancel", self.cancel_booking),
            ("POST", rf"/bookings/{uid}/reschedule", self.reschedule_booking),
        ]

    # --- test API --------------------------------------------------------------------------
    def create_user(
        self,
        username: str = "sandbox",
        time_zone: str = "America/New_York",
        *,
        email: str | None = None,
        api_key: str | None = None,
        event_types: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        key = api_key or new_id("cal_", 16)
        with self.lock:
            user = {
                "id": self._new_int(),
                "username": username,
                "email": email or f"{username}@example.com",
                "name": username.title(),
                "timeZone": time_zone,
                "weekStart": "Monday",
                "timeFormat": 12,
                "defaultScheduleId": None,
            }
            self.users[key] = user
            wanted = event_types or [{"slug": "30min", "title": "30 Minute Meeting", "lengthInMinutes": 30}]
            created = [self._event_type(user, spec) for spec in wanted]
        return {"api_key": key, "user_id": user["id"], "event_types": [self._public_event(e) for e in created]}

    def control_actions(self) -> dict[str, Any]:
        return {"users": self.create_user}

    def state(self) -> dict[str, Any]:
        return {"users": self.users, "event_types": self.event_types, "bookings": self.bookings}

    # --- protocol ----------------------------------------------------------------------------
    def identify(self, request: Request) -> str | None:
        return bearer(request)

    def error(self, status: int, message: str) -> Response:
        code = ERROR_CODES.get(status, "INTERNAL_SERVER_ERROR")
        return Response(
            status,
            {"status": "error", "timestamp": _iso(datetime.now(UTC)), "error": {"code": code, "message": message}},
        )

    def _authorize(self, request: Request, version: str | None) -> Response | tuple[str, dict[str, Any]]:
        key = bearer(request) or ""
        user = self.users.get(key)
        if user is None:
            return self.error(401, "Invalid API Key" if key else "No Authorization header provided")
        problem = self._check_version(request, version) or self._count(key)
        return problem or (key, user)

    def _check_version(self, request: Request, version: str | None) -> Response | None:
        sent = request.headers.get("cal-api-version")
        if sent != version:
            return self.error(400, f"cal-api-version must be {version!r} for this endpoint, got {sent!r}")
        return None

    def _count(self, key: str) -> Response | None:
        now = datetime.now(UTC).timestamp()
        recent = [t for t in self.calls.get(key, []) if now - t < 60]
        if len(recent) >= RATE_LIMIT:
            return Response(429, self.error(429, "Too many requests").body, self._limit_headers(0))
        self.calls[key] = [*recent, now]
        return None

    @staticmethod
    def _limit_headers(remaining: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit-Default": str(RATE_LIMIT),
            "X-RateLimit-Remaining-Default": str(remaining),
            "X-RateLimit-Reset-Default": "60",
        }

    def _ok(self, data: Any, status: int = 200, key: str | None = None) -> Response:
        headers = self._limit_headers(RATE_LIMIT - len(self.calls.get(key, []))) if key else {}
        return Response(status, {"status": "success", "data": data}, headers)

    # --- handlers ----------------------------------------------------------------------------
    def me(self, request: Request) -> Response:
        auth = self._authorize(request, None)  # /v2/me takes no cal-api-version
        if isinstance(auth, Response):
            return auth
        key, user = auth
        return self._ok(user, key=key)

    def list_event_types(self, request: Request) -> Response:
        auth = self._authorize(request, EVENT_TYPES_VERSION)
        if isinstance(auth, Response):
            return auth
        key, user = auth
        mine = [self._public_event(e) for e in self.event_types.values() if e["ownerId"] == user["id"]]
        return self._ok(mine, key=key)

    def slots(self, request: Request) -> Response:
        # Public endpoint: no key needed, but the version is still checked.
        problem = self._check_version(request, SLOTS_VERSION)
        if problem:
            return problem
        event = self.event_types.get(int(request.arg("eventTypeId") or 0))
        if event is None:
            return self.error(404, f"Event type with id={request.arg('eventTypeId')} not found")
        if not request.arg("start") or not request.arg("end"):
            return self.error(400, "start and end are required")
        tz = ZoneInfo(request.arg("timeZone") or "UTC")
        start = _parse_moment(request.arg("start") or "", tz)
        end = _parse_moment(request.arg("end") or "", tz, end_of_day=True)
        ranged = request.arg("format") == "range"
        length = timedelta(minutes=int(request.arg("duration") or event["lengthInMinutes"]))
        grouped: dict[str, list[dict[str, str]]] = {}
        for slot in self._free_slots(event, start, end):
            local = slot.astimezone(tz)
            entry = {"start": _iso(local), **({"end": _iso(local + length)} if ranged else {})}
            grouped.setdefault(local.date().isoformat(), []).append(entry)
        return self._ok(grouped)

    def create_booking(self, request: Request) -> Response:
        auth = self._authorize(request, BOOKINGS_VERSION)
        if isinstance(auth, Response):
            return auth
        key, user = auth
        body = request.body if isinstance(request.body, dict) else {}
        attendee = body.get("attendee") if isinstance(body.get("attendee"), dict) else {}
        missing = [f for f in ("start", "eventTypeId") if not body.get(f)]
        missing += [f"attendee.{f}" for f in ("name", "email", "timeZone") if not attendee.get(f)]
        if missing:
            return self.error(400, f"Missing required fields: {', '.join(missing)}")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or any(not isinstance(v, str) or len(v) > 500 for v in metadata.values()):
            return self.error(400, "metadata: values must be strings of at most 500 characters")
        event = self.event_types.get(int(body["eventTypeId"]))
        if event is None or event["ownerId"] != user["id"]:
            return self.error(404, f"Event type with id={body['eventTypeId']} not found")
        start = _parse_moment(body["start"], UTC)
        if not self._is_free(event, start):
            return self.error(400, "User either already has booking at this time or is not available")
        booking = self._book(event, user, start, attendee, body)
        return self._ok(self._public_booking(booking), 201, key)

    def get_booking(self, request: Request) -> Response:
        found = self._own_booking(request)
        if isinstance(found, Response):
            return found
        key, booking = found
        return self._ok(self._public_booking(booking), key=key)

    def cancel_booking(self, request: Request) -> Response:
        found = self._own_booking(request)
        if isinstance(found, Response):
            return found
        key, booking = found
        booking["status"] = "cancelled"
        booking["cancellationReason"] = (
            (request.body or {}).get("cancellationReason") if isinstance(request.body, dict) else None
        )
        return self._ok(self._public_booking(booking), key=key)

    def reschedule_booking(self, request: Request) -> Response:
        found = self._own_booking(request)
        if isinstance(found, Response):
            return found
        key, booking = found
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("start"):
            return self.error(400, "Missing required fields: start")
        event = self.event_types[booking["eventTypeId"]]
        start = _parse_moment(body["start"], UTC)
        if not self._is_free(event, start):
            return self.error(400, "User either already has booking at this time or is not available")
        booking["status"] = "cancelled"
        user = next(u for u in self.users.values() if u["id"] == event["ownerId"])
        new = self._book(event, user, start, booking["attendees"][0], {"metadata": booking["metadata"]})
        new["rescheduledFromUid"] = booking["uid"]
        return self._ok(self._public_booking(new), 201, key)

    # --- helpers -----------------------------------------------------------------------------
    def _new_int(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _event_type(self, user: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": self._new_int(),
            "ownerId": user["id"],
            "slug": spec.get("slug", "30min"),
            "title": spec.get("title", "30 Minute Meeting"),
            "lengthInMinutes": int(spec.get("lengthInMinutes", 30)),
            "description": spec.get("description", ""),
            "hidden": bool(spec.get("hidden", False)),
            "locations": spec.get("locations", [{"type": "phone"}]),
            "bookingFields": spec.get("bookingFields", []),
        }
        self.event_types[event["id"]] = event
        return event

    @staticmethod
    def _public_event(event: dict[str, Any]) -> dict[str, Any]:
        return {
            k: event[k]
            for k in (
                "id",
                "slug",
                "title",
                "lengthInMinutes",
                "description",
                "hidden",
                "locations",
                "bookingFields",
                "ownerId",
            )
        }

    def _grid(self, event: dict[str, Any], day: date) -> list[datetime]:
        owner = next(u for u in self.users.values() if u["id"] == event["ownerId"])
        tz = ZoneInfo(owner["timeZone"])
        if day.weekday() >= 5:
            return []
        step = timedelta(minutes=event["lengthInMinutes"])
        moment, last = datetime.combine(day, WORK_START, tzinfo=tz), datetime.combine(day, WORK_END, tzinfo=tz)
        slots = []
        while moment + step <= last:
            slots.append(moment.astimezone(UTC))
            moment += step
        return slots

    def _taken(self, event: dict[str, Any]) -> set[datetime]:
        return {
            b["_start"]
            for b in self.bookings.values()
            if b["eventTypeId"] == event["id"] and b["status"] != "cancelled"
        }

    def _free_slots(self, event: dict[str, Any], start: datetime, end: datetime) -> list[datetime]:
        taken, now = self._taken(event), datetime.now(UTC)
        day, slots = (start - timedelta(days=1)).date(), []
        while day <= (end + timedelta(days=1)).date():
            slots += [s for s in self._grid(event, day) if start <= s <= end and s > now and s not in taken]
            day += timedelta(days=1)
        return slots

    def _is_free(self, event: dict[str, Any], start: datetime) -> bool:
        return start in self._free_slots(event, start, start)

    def _book(
        self,
        event: dict[str, Any],
        user: dict[str, Any],
        start: datetime,
        attendee: dict[str, Any],
        body: dict[str, Any],
    ) -> dict[str, Any]:
        end = start + timedelta(minutes=event["lengthInMinutes"])
        booking = {
            "id": self._new_int(),
            "uid": new_id("", 11),
            "title": f"{event['title']} between {user['name']} and {attendee.get('name')}",
            "status": "accepted",
            "_start": start,
            "start": _iso(start),
            "end": _iso(end),
            "duration": event["lengthInMinutes"],
            "eventTypeId": event["id"],
            "eventType": {"id": event["id"], "slug": event["slug"]},
            "attendees": [{"absent": False, "language": "en", **attendee}],
            "absentHost": False,
            "hosts": [
                {
                    "id": user["id"],
                    "name": user["name"],
                    "email": user["email"],
                    "username": user["username"],
                    "timeZone": user["timeZone"],
                }
            ],
            "location": body.get("location"),
            "metadata": body.get("metadata") or {},
            "bookingFieldsResponses": body.get("bookingFieldsResponses") or {},
            "createdAt": _iso(datetime.now(UTC)),
            "updatedAt": _iso(datetime.now(UTC)),
        }
        self.bookings[booking["uid"]] = booking
        return booking

    def _own_booking(self, request: Request) -> Response | tuple[str, dict[str, Any]]:
        auth = self._authorize(request, BOOKINGS_VERSION)
        if isinstance(auth, Response):
            return auth
        key, user = auth
        booking = self.bookings.get(request.params["uid"])
        if booking is None or self.event_types[booking["eventTypeId"]]["ownerId"] != user["id"]:
            return self.error(404, f"Booking with uid={request.params['uid']} not found")
        return key, booking

    @staticmethod
    def _public_booking(booking: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in booking.items() if not k.startswith("_")}
