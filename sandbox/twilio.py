"""Twilio REST API 2010-04-01, the part PrixAgent uses (providers.md §1, §6).

Accounts with Basic auth (AccountSid:AuthToken), IncomingPhoneNumbers (paged the way the SDK
parses; a number's voice URL and status callback can be set), Calls create / fetch / update /
list (`To`, `From`, `Status`, `StartTime>=` a day, like the real filter), recordings as MP3, and
signed callbacks. After a create (or an inbound call started from the control API) the call is
played as scripted (`sandbox.twilio_play`): status callbacks, the voice URL, the ElevenLabs
conversation its TwiML connects, the post-call webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, date
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.base import ProviderApp, Request, Response, basic, new_id
from sandbox.twilio_play import OUTCOMES, CallPlayer, default_script

API = "/2010-04-01/Accounts"
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
# Twilio's own error codes for the statuses a fault can inject.
CODE_FOR_STATUS = {400: 21200, 401: 20003, 403: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}


def twilio_date() -> str:
    return formatdate(usegmt=False).replace("-0000", "+0000")


# An MPEG audio frame header and silence: enough for a browser's <audio> to accept the type.
FAKE_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 413


def _day(value: str | None) -> date | None:
    """A day from Twilio's `StartTime>=` (YYYY-MM-DD, maybe with a time) or an RFC 2822 date."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).astimezone(UTC).date()
    except (TypeError, ValueError):
        return None


def twilio_signature(auth_token: str, url: str, params: dict[str, Any]) -> str:
    """X-Twilio-Signature: HMAC-SHA1(url + sorted name/value pairs) with the Auth Token, Base64."""
    payload = url
    for name in sorted(params):
        values = params[name] if isinstance(params[name], list) else [params[name]]
        for value in sorted(set(map(str, values))):
            payload += name + value
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioApp(ProviderApp):
    name = "twilio"

    def reset_state(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.numbers: dict[str, list[dict[str, Any]]] = {}  # account sid -> numbers
        self.verified: dict[str, set[str]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.scripts: dict[str, dict[str, Any]] = {}  # destination number -> script
        self.default_script: dict[str, Any] = default_script()
        self.played: dict[str, list[dict[str, Any]]] = {}  # call sid -> what the player did
        self.recordings: dict[str, dict[str, Any]] = {}

    def routes(self) -> list[tuple[str, str, Any]]:
        sid = r"(?P<sid>AC[0-9a-fA-F]{32})"
        return [
            ("GET", rf"{API}/{sid}\.json", self.fetch_account),
            ("GET", rf"{API}/{sid}/IncomingPhoneNumbers\.json", self.list_numbers),
            ("POST", rf"{API}/{sid}/Calls\.json", self.create_call),
            ("GET", rf"{API}/{sid}/Calls\.json", self.list_calls),
            ("POST", rf"{API}/{sid}/IncomingPhoneNumbers/(?P<number>PN[0-9a-f]{{32}})\.json", self.update_number),
            ("GET", rf"{API}/{sid}/Recordings/(?P<recording>RE[0-9a-f]{{32}})\.mp3", self.fetch_recording),
            ("GET", rf"{API}/{sid}/Calls/(?P<call>CA[0-9a-f]{{32}})\.json", self.fetch_call),
            ("POST", rf"{API}/{sid}/Calls/(?P<call>CA[0-9a-f]{{32}})\.json", self.update_call),
        ]

    # --- test API --------------------------------------------------------------------------
    def create_account(
        self,
        trial: bool = False,
        numbers: list[str] | tuple[str, ...] = ("+15005550006",),
        *,
        friendly_name: str = "Sandbox account",
        status: str = "active",
        verified: list[str] | tuple[str, ...] = (),
        account_sid: str | None = None,
        auth_token: str | None = None,
    ) -> dict[str, str]:
        sid = account_sid or new_id("AC")
        token = auth_token or new_id("", 16)
        with self.lock:
            self.accounts[sid] = {
                "sid": sid,
                "auth_token": token,
                "friendly_name": friendly_name,
                "status": status,
                "type": "Trial" if trial else "Full",
                "owner_account_sid": sid,
                "date_created": twilio_date(),
                "date_updated": twilio_date(),
                "uri": f"{API}/{sid}.json",
            }
            self.numbers[sid] = [self._number(sid, number) for number in numbers]
            self.verified[sid] = set(verified)
        return {"account_sid": sid, "auth_token": token}

    def status_callback(self, call_sid: str, status: str, **extra: str) -> tuple[str, dict[str, str], dict[str, str]]:
        """The (url, form, headers) Twilio would POST to the call's StatusCallback, signed with the
        account's Auth Token. Tests deliver it with Django's client; nothing leaves the process."""
        with self.lock:
            call = self.calls[call_sid]
            call["status"] = status
            token = self.accounts[call["account_sid"]]["auth_token"]
        form = {
            "CallSid": call_sid,
            "AccountSid": call["account_sid"],
            "From": call["from"],
            "To": call["to"],
            "CallStatus": status,
            "ApiVersion": "2010-04-01",
            "Direction": call.get("direction") or "outbound-api",
            "CallbackSource": "call-progress-events",
            "Timestamp": twilio_date(),
            "SequenceNumber": str(call.setdefault("sequence", -1) + 1),
            **extra,
        }
        call["sequence"] = int(form["SequenceNumber"])
        url = call["status_callback"] or ""
        return url, form, {"X-Twilio-Signature": twilio_signature(token, url, form)}

    def voice_request(self, call_sid: str, answered_by: str = "") -> tuple[str, dict[str, str], dict[str, str]]:
        """The (url, form, headers) of Twilio's request of the call's voice URL, signed."""
        with self.lock:
            call = self.calls[call_sid]
            token = self.accounts[call["account_sid"]]["auth_token"]
            form = {
                "CallSid": call_sid,
                "AccountSid": call["account_sid"],
                "From": call["from"],
                "To": call["to"],
                "CallStatus": "ringing" if call["direction"] == "inbound" else "in-progress",
                "ApiVersion": "2010-04-01",
                "Direction": call["direction"],
                "CallerName": "",
                "ForwardedFrom": "",
                "ParentCallSid": "",
            }
            if call.get("machine_detection") and not call.get("async_amd"):
                form.update(AnsweredBy=answered_by or "human", MachineDetectionDuration="1800")
            url = call["url"] or ""
        return url, form, {"X-Twilio-Signature": twilio_signature(token, url, form)}

    def amd_callback(self, call_sid: str, answered_by: str) -> tuple[str, dict[str, str], dict[str, str]] | None:
        """The asynchronous machine-detection verdict, signed, if the call asked for one."""
        with self.lock:
            call = self.calls[call_sid]
            url = call.get("async_amd_status_callback")
            if not url:
                return None
            token = self.accounts[call["account_sid"]]["auth_token"]
            form = {
                "CallSid": call_sid,
                "AccountSid": call["account_sid"],
                "AnsweredBy": answered_by,
                "MachineDetectionDuration": "2100",
            }
        return url, form, {"X-Twilio-Signature": twilio_signature(token, url, form)}

    def stamp_start(self, call_sid: str) -> None:
        with self.lock:
            self.calls[call_sid]["start_time"] = self.calls[call_sid]["start_time"] or twilio_date()

    def script_calls(self, to: str | None = None, default: bool = False, **script: Any) -> dict[str, Any]:
        """What happens to calls to `to` (or to every call, with `default`); see `twilio_play`."""
        if script.get("outcome", "manual") not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        with self.lock:
            if default:
                self.default_script = dict(script)
            elif to:
                self.scripts[to] = dict(script)
            else:
                raise ValueError("give a destination number ('to') or 'default': true")
        return {"scripted": to or "default", **script}

    def inbound_call(self, to: str, **script: Any) -> dict[str, Any]:
        """Someone calls `to` (a number of an account): Twilio requests the number's voice URL."""
        caller = script.pop("from", None) or script.pop("from_", None) or "+14155550199"
        with self.lock:
            owner = next(
                (sid for sid, numbers in self.numbers.items() for n in numbers if n["phone_number"] == to), None
            )
            number = next((n for n in self.numbers.get(owner or "", []) if n["phone_number"] == to), None)
            if owner is None or number is None or not number.get("voice_url"):
                raise ValueError(f"{to} is not a number with a voice URL")
            call = self._call(owner, {"To": to, "From": caller, "Url": number["voice_url"]}, direction="inbound")
            call.update(
                status="ringing", status_callback=number.get("status_callback") or None, start_time=twilio_date()
            )
            call["status_callback_event"] = []  # a number's status callback hears only "completed"
            self.calls[call["sid"]] = call
        CallPlayer(self, call["sid"], {**self.default_script, "outcome": "answered", **script}).start()
        return {"call_sid": call["sid"]}

    def elevenlabs_converse(self, conversation_id: str, call_sid: str, script: dict[str, Any]) -> None:
        if self.on_stream is not None:
            self.on_stream(conversation_id, call_sid, script)

    def elevenlabs_end(self, conversation_id: str, script: dict[str, Any], duration: int) -> None:
        if self.on_stream_end is not None:
            self.on_stream_end(conversation_id, script, duration)

    # Set by ProviderSandbox: the sandbox's ElevenLabs, which answers the media stream.
    on_stream: Callable[[str, str, dict[str, Any]], None] | None = None
    on_stream_end: Callable[[str, dict[str, Any], int], None] | None = None

    def control_actions(self) -> dict[str, Any]:
        return {"accounts": self.create_account, "calls/script": self.script_calls, "calls/inbound": self.inbound_call}

    def state(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "numbers": self.numbers,
            "calls": self.calls,
            "scripts": self.scripts,
            "default_script": self.default_script,
            "played": self.played,
        }

    # --- protocol ----------------------------------------------------------------------------
    def identify(self, request: Request) -> str | None:
        credentials = basic(request)
        return credentials[0] if credentials else None

    def error(self, status: int, message: str, code: int | None = None) -> Response:
        code = code or CODE_FOR_STATUS.get(status, 20001)
        body = {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status}
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
        return Response(status, body, headers)

    def _authorize(self, request: Request) -> Response | dict[str, Any]:
        credentials = basic(request)
        account = self.accounts.get(credentials[0]) if credentials else None
        if account is None or not hmac.compare_digest(account["auth_token"], credentials[1]):
            return self.error(401, "Authenticate", 20003)
        if request.params["sid"] != account["sid"]:
            # Another account's resources look like missing ones.
            return self.error(404, f"The requested resource {request.path} was not found", 20404)
        return account

    # --- handlers ----------------------------------------------------------------------------
    def fetch_account(self, request: Request) -> Response:
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        sid = account["sid"]
        subresources = {
            "calls": f"{API}/{sid}/Calls.json",
            "incoming_phone_numbers": f"{API}/{sid}/IncomingPhoneNumbers.json",
        }
        return Response(200, {**account, "subresource_uris": subresources})

    def list_numbers(self, request: Request) -> Response:
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        sid = account["sid"]
        numbers = [
            n
            for n in self.numbers[sid]
            if n["phone_number"] == request.arg("PhoneNumber", n["phone_number"])
            and n["friendly_name"] == request.arg("FriendlyName", n["friendly_name"])
        ]
        page_size = min(int(request.arg("PageSize", "50")), 1000)
        page = int(request.arg("Page", "0"))
        chunk = numbers[page * page_size : (page + 1) * page_size]
        base = f"{API}/{sid}/IncomingPhoneNumbers.json"
        more = (page + 1) * page_size < len(numbers)
        return Response(
            200,
            {
                "incoming_phone_numbers": chunk,
                "first_page_uri": f"{base}?{urlencode({'PageSize': page_size, 'Page': 0})}",
                "next_page_uri": f"{base}?{urlencode({'PageSize': page_size, 'Page': page + 1})}" if more else None,
                "previous_page_uri": None,
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "end": page * page_size + max(len(chunk) - 1, 0),
                "uri": f"{base}?{urlencode({'PageSize': page_size, 'Page': page})}",
            },
        )

    def create_call(self, request: Request) -> Response:
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        form = request.body if isinstance(request.body, dict) else {}
        problem = self._call_problem(account, form)
        if problem:
            return problem
        call = self._call(account["sid"], form)
        call["host_base"] = f"http://{request.headers.get('host', '127.0.0.1')}"
        self.calls[call["sid"]] = call
        script = self.scripts.get(call["to"], self.default_script)
        if script.get("outcome", "manual") != "manual":
            CallPlayer(self, call["sid"], dict(script)).start()  # waits for this lock to read the call
        # `answer_delay`: the call exists, the answer comes late (a client that gave up, or died).
        return Response(201, self._public_call(call), delay=float(script.get("answer_delay", 0)))

    def list_calls(self, request: Request) -> Response:
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        since = _day(request.arg("StartTime>"))
        found = [
            c
            for c in self.calls.values()
            if c["account_sid"] == account["sid"]
            and c["to"] == request.arg("To", c["to"])
            and c["from"] == request.arg("From", c["from"])
            and c["status"] == request.arg("Status", c["status"])
            and (since is None or (c["start_time"] and _day(c["start_time"]) and _day(c["start_time"]) >= since))
        ]
        found.sort(key=lambda c: c["date_created"], reverse=True)  # Twilio lists newest first
        page_size = min(int(request.arg("PageSize", "50")), 1000)
        page = int(request.arg("Page", "0"))
        chunk = found[page * page_size : (page + 1) * page_size]
        base = f"{API}/{account['sid']}/Calls.json"
        query = {k: v[0] for k, v in request.query.items() if k not in ("Page", "PageSize", "PageToken")}
        more = (page + 1) * page_size < len(found)
        return Response(
            200,
            {
                "calls": [self._public_call(c) for c in chunk],
                "first_page_uri": f"{base}?{urlencode({**query, 'PageSize': page_size, 'Page': 0})}",
                "next_page_uri": f"{base}?{urlencode({**query, 'PageSize': page_size, 'Page': page + 1})}"
                if more
                else None,
                "previous_page_uri": None,
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "end": page * page_size + max(len(chunk) - 1, 0),
                "uri": f"{base}?{urlencode({**query, 'PageSize': page_size, 'Page': page})}",
            },
        )

    def update_number(self, request: Request) -> Response:
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        number = next((n for n in self.numbers[account["sid"]] if n["sid"] == request.params["number"]), None)
        if number is None:
            return self.error(404, f"The requested resource {request.path} was not found", 20404)
        form = request.body if isinstance(request.body, dict) else {}
        for key, field in (("VoiceUrl", "voice_url"), ("StatusCallback", "status_callback")):
            if key in form:
                number[field] = form[key]
        for key, field in (("VoiceMethod", "voice_method"), ("StatusCallbackMethod", "status_callback_method")):
            if key in form:
                number[field] = form[key]
        return Response(200, number)

    def fetch_recording(self, request: Request) -> Response:
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        recording = self.recordings.get(request.params["recording"])
        if recording is None or recording["account_sid"] != account["sid"]:
            return self.error(404, f"The requested resource {request.path} was not found", 20404)
        return Response(200, FAKE_MP3 + request.params["recording"].encode(), content_type="audio/mpeg")

    def fetch_call(self, request: Request) -> Response:
        call = self._own_call(request)
        if isinstance(call, Response):
            return call
        return Response(200, self._public_call(call))

    def update_call(self, request: Request) -> Response:
        call = self._own_call(request)
        if isinstance(call, Response):
            return call
        status = (request.body or {}).get("Status")
        if status in ("completed", "canceled"):
            call["status"] = status
        return Response(200, self._public_call(call))

    # --- helpers -----------------------------------------------------------------------------
    def _own_call(self, request: Request) -> Response | dict[str, Any]:
        """The call named in the path, if it belongs to the authenticated account (else 401/404)."""
        account = self._authorize(request)
        if isinstance(account, Response):
            return account
        call = self.calls.get(request.params["call"])
        if not call or call["account_sid"] != account["sid"]:
            return self.error(404, f"The requested resource {request.path} was not found", 20404)
        return call

    def _call_problem(self, account: dict[str, Any], form: dict[str, Any]) -> Response | None:
        to, from_ = form.get("To"), form.get("From")
        if not to:
            return self.error(400, "No 'To' number is specified", 21201)
        if not from_:
            return self.error(400, "No 'From' number is specified", 21213)
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return self.error(400, "Url parameter is required.", 21205)
        owned = {n["phone_number"] for n in self.numbers[account["sid"]]} | self.verified[account["sid"]]
        if from_ not in owned:
            return self.error(
                400, f"The source phone number provided, {from_}, is not yet verified for your account.", 21210
            )
        if account["type"] == "Trial" and to not in self.verified[account["sid"]]:
            return self.error(
                400, f"The number {to} is unverified. Trial accounts may only make calls to verified numbers.", 21219
            )
        return None

    def _call(self, account_sid: str, form: dict[str, Any], direction: str = "outbound-api") -> dict[str, Any]:
        sid = new_id("CA")
        return {
            "sid": sid,
            "account_sid": account_sid,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "direction": direction,
            "queue_time": "0",
            "answered_by": None,
            "duration": None,
            "start_time": None,
            "end_time": None,
            "price": None,
            "parent_call_sid": None,
            "api_version": "2010-04-01",
            "date_created": twilio_date(),
            "uri": f"{API}/{account_sid}/Calls/{sid}.json",
            # What the call was asked to do, kept for callbacks and assertions:
            "url": form.get("Url"),
            "status_callback": form.get("StatusCallback"),
            "status_callback_event": form.get("StatusCallbackEvent"),
            "machine_detection": form.get("MachineDetection"),
            "async_amd": form.get("AsyncAmd") == "true",
            "async_amd_status_callback": form.get("AsyncAmdStatusCallback"),
            "record": form.get("Record") == "true",
        }

    @staticmethod
    def _public_call(call: dict[str, Any]) -> dict[str, Any]:
        hidden = (
            "url",
            "status_callback",
            "status_callback_event",
            "machine_detection",
            "sequence",
            "async_amd",
            "async_amd_status_callback",
            "record",
            "host_base",
        )
        return {k: v for k, v in call.items() if k not in hidden}

    @staticmethod
    def _number(account_sid: str, number: str) -> dict[str, Any]:
        sid = new_id("PN")
        digits = number.removeprefix("+1")
        friendly = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else number
        return {
            "sid": sid,
            "account_sid": account_sid,
            "phone_number": number,
            "friendly_name": friendly,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "voice_url": "",
            "status_callback": "",
            "status": "in-use",
            "origin": "twilio",
            "api_version": "2010-04-01",
            "date_created": twilio_date(),
            "uri": f"{API}/{account_sid}/IncomingPhoneNumbers/{sid}.json",
        }
