"""Twilio REST API 2010-04-01, the part PrixAgent uses (providers.md §1, §6).

Accounts with Basic auth (AccountSid:AuthToken), IncomingPhoneNumbers (paged the way the SDK
parses), Calls create/fetch/update, and signed status callbacks for tests to deliver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from sandbox.base import ProviderApp, Request, Response, basic, new_id

API = "/2010-04-01/Accounts"
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
# Twilio's own error codes for the statuses a fault can inject.
CODE_FOR_STATUS = {400: 21200, 401: 20003, 403: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}


def twilio_date() -> str:
    return formatdate(usegmt=False).replace("-0000", "+0000")


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

    def routes(self) -> list[tuple[str, str, Any]]:
        sid = r"(?P<sid>AC[0-9a-fA-F]{32})"
        return [
            ("GET", rf"{API}/{sid}\.json", self.fetch_account),
            ("GET", rf"{API}/{sid}/IncomingPhoneNumbers\.json", self.list_numbers),
            ("POST", rf"{API}/{sid}/Calls\.json", self.create_call),
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
            "Direction": "outbound-api",
            "CallbackSource": "call-progress-events",
            "Timestamp": twilio_date(),
            "SequenceNumber": str(call.setdefault("sequence", -1) + 1),
            **extra,
        }
        call["sequence"] = int(form["SequenceNumber"])
        url = call["status_callback"] or ""
        return url, form, {"X-Twilio-Signature": twilio_signature(token, url, form)}

    def control_actions(self) -> dict[str, Any]:
        return {"accounts": self.create_account}

    def state(self) -> dict[str, Any]:
        return {"accounts": self.accounts, "numbers": self.numbers, "calls": self.calls}

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
        self.calls[call["sid"]] = call
        return Response(201, self._public_call(call))

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

    def _call(self, account_sid: str, form: dict[str, Any]) -> dict[str, Any]:
        sid = new_id("CA")
        return {
            "sid": sid,
            "account_sid": account_sid,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "direction": "outbound-api",
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
        }

    @staticmethod
    def _public_call(call: dict[str, Any]) -> dict[str, Any]:
        hidden = ("url", "status_callback", "status_callback_event", "machine_detection", "sequence")
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
