"""The carrier's side of a call: what the sandbox's Twilio does after `calls.create` (or when a
number of an account is called), played in a thread against the platform's webhooks.

Scripts say what happens; they are set per destination number (or as the default for every
call) with `POST /_sandbox/calls/script` (`TwilioApp.script_calls`), and inbound calls start
with `POST /_sandbox/calls/inbound`::

    {"to": "+14155550123",          # or "default": true
     "outcome": "answered",          # answered | voicemail | no-answer | busy | failed | manual
     "answered_by": "human",         # with machine detection: machine_end_beep for voicemail
     "duration": 42,                 # CallDuration of the completed callback
     "conversation": {"scenario": "book", "webhook": "deliver"},   # what the agent and caller do
     "duplicate_callbacks": false,   # send every status callback twice (Twilio's retries)
     "delay": 0.02,                  # seconds between steps (the demo uses more, to watch it)
     "answer_delay": 0}              # hold the create's answer back after the call exists

`manual` (the default when nothing is scripted) plays nothing: a test drives the callbacks
itself (`TwilioApp.status_callback`). Otherwise, like Twilio (providers.md §1.5):

1. `initiated`, `ringing` status callbacks (those asked for in `StatusCallbackEvent`), signed
   with the account's auth token over the exact callback URL, with `SequenceNumber`,
   `Timestamp`, `CallbackSource`;
2. on an answer: the `answered` (`in-progress`) callback and a POST to the call's `Url` with the
   voice parameters (`AnsweredBy` when detection is synchronous; the asynchronous verdict goes to
   `AsyncAmdStatusCallback`); the TwiML answer is read: `<Connect><Stream>` starts the
   ElevenLabs conversation of its token (the sandbox's ElevenLabs then calls the agent's tools),
   `<Play>` is fetched, `<Say>`/`<Hangup/>` end it;
3. the final callback: `completed` (with `CallDuration`, and `RecordingSid`/`RecordingUrl` when
   recording), or `no-answer`, `busy`, `failed`;
4. after the call, ElevenLabs sends its post-call webhook (unless the script says `skip`).
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

from sandbox.base import new_id

if TYPE_CHECKING:
    from sandbox.twilio import TwilioApp

OUTCOMES = ("answered", "voicemail", "no-answer", "busy", "failed", "manual")
EVENT_OF = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
HTTP_TIMEOUT = 20.0


def default_script() -> dict[str, Any]:
    return {"outcome": "manual"}


def _post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int | None, str]:
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=HTTP_TIMEOUT)
    body = urlencode(form)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(
            "POST",
            path,
            body=body,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1"},
        )
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def _get(url: str) -> int | None:
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=HTTP_TIMEOUT)
    try:
        connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


class CallPlayer:
    """Plays one call's script. Runs in its own thread; holds the app's lock only to read or
    change its state, never while talking to the platform."""

    def __init__(self, app: TwilioApp, call_sid: str, script: dict[str, Any]) -> None:
        self.app = app
        self.sid = call_sid
        self.script = script
        self.delay = float(script.get("delay", 0.02))
        self.log: list[dict[str, Any]] = []

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"sandbox-call-{self.sid[-6:]}", daemon=True)
        thread.start()
        return thread

    # --- steps --------------------------------------------------------------------------------
    def run(self) -> None:
        outcome = self.script.get("outcome", "manual")
        try:
            if outcome == "no-answer":
                self._unanswered(["initiated", "ringing"], "no-answer")
            elif outcome == "busy":
                self._unanswered(["initiated"], "busy")
            elif outcome == "failed":
                self._unanswered([], "failed")
            elif outcome in ("answered", "voicemail"):
                self._answered(outcome)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must not kill the server thread
            self.log.append({"step": "error", "error": repr(exc)})
        finally:
            with self.app.lock:
                self.app.played[self.sid] = self.log

    def _pause(self) -> None:
        if self.delay:
            time.sleep(self.delay)

    def _unanswered(self, progress: list[str], final: str) -> None:
        for status in progress:
            self._callback(status)
        self._callback(final, CallDuration="0")

    def _answered(self, outcome: str) -> None:
        call = self._call()
        if call["direction"] == "outbound-api":
            self._callback("initiated")
            self._callback("ringing")
        answered_by = self.script.get("answered_by") or ("machine_end_beep" if outcome == "voicemail" else "human")
        self._set(status="in-progress", answered_by=answered_by if call.get("machine_detection") else None)
        if call["direction"] == "outbound-api":
            self._callback("in-progress")
        twiml = self._voice(answered_by)
        if call.get("async_amd") and call.get("machine_detection"):
            self._amd(answered_by)
        conversation = self._follow(twiml)
        duration = int(self.script.get("duration", 42 if conversation else 12))
        self._set(status="completed", duration=str(duration))
        self._callback("completed", CallDuration=str(duration), **self._recording(duration))
        if conversation:
            self._pause()
            self.app.elevenlabs_end(conversation, self.script.get("conversation") or {}, duration)

    # --- talking to the platform --------------------------------------------------------------
    def _call(self) -> dict[str, Any]:
        with self.app.lock:
            return dict(self.app.calls[self.sid])

    def _set(self, **changes: Any) -> None:
        with self.app.lock:
            self.app.calls[self.sid].update(changes)

    def _callback(self, status: str, **extra: str) -> None:
        self._pause()
        call = self._call()
        terminal = status not in EVENT_OF
        wanted = call.get("status_callback_event") or []
        wanted = [wanted] if isinstance(wanted, str) else wanted
        self._set(status=status)
        if status == "initiated":
            self.app.stamp_start(self.sid)
        if not call.get("status_callback") or not (terminal or EVENT_OF[status] in wanted):
            return
        url, form, headers = self.app.status_callback(self.sid, status, **extra)
        for _copy in range(2 if self.script.get("duplicate_callbacks") else 1):
            code, _body = _post(url, form, headers)
            self.log.append({"step": "status", "status": status, "http": code})

    def _voice(self, answered_by: str) -> str:
        self._pause()
        url, form, headers = self.app.voice_request(self.sid, answered_by)
        code, body = _post(url, form, headers)
        self.log.append({"step": "voice", "http": code, "twiml": body[:2000]})
        return body if code == 200 else ""

    def _amd(self, answered_by: str) -> None:
        self._pause()
        found = self.app.amd_callback(self.sid, answered_by)
        if found:
            code, _body = _post(*found)
            self.log.append({"step": "amd", "answered_by": answered_by, "http": code})

    def _follow(self, twiml: str) -> str | None:
        """Do what the TwiML says; the ElevenLabs conversation id when it connected a stream."""
        try:
            root = ElementTree.fromstring(twiml)  # noqa: S314 - the platform under test answered it
        except ElementTree.ParseError:
            self.log.append({"step": "twiml", "error": "unreadable"})
            return None
        for element in root.iter():
            if element.tag == "Play" and element.text:
                self.log.append({"step": "play", "url": element.text, "http": _get(element.text.strip())})
            if element.tag == "Say":
                self.log.append({"step": "say", "text": element.text, "language": element.get("language")})
            if element.tag == "Stream":
                found = re.search(r"token=(conv_[0-9a-z]+)", element.get("url") or "")
                if found and self._call()["status"] == "in-progress":
                    conversation = found.group(1)
                    self.log.append({"step": "stream", "conversation": conversation})
                    self.app.elevenlabs_converse(conversation, self.sid, self.script.get("conversation") or {})
                    return conversation
        return None

    def _recording(self, duration: int) -> dict[str, str]:
        call = self._call()
        if not call.get("record"):
            return {}
        recording = new_id("RE")
        with self.app.lock:
            self.app.recordings[recording] = {"account_sid": call["account_sid"], "call_sid": self.sid}
        base = f"{call.get('host_base', '')}/2010-04-01/Accounts/{call['account_sid']}/Recordings/{recording}"
        return {"RecordingSid": recording, "RecordingUrl": base, "RecordingDuration": str(max(duration - 1, 0))}
