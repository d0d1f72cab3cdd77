"""What every provider fake shares: a threaded HTTP server, routing, recording, faults, control API.

A provider module subclasses `ProviderApp`, lists its routes (method, path regex, handler) and
says how a request identifies its caller (`identify`). The server records each request before
anything else happens, then applies an injected fault if one matches, then runs the handler.

Control API (JSON, never recorded), on every provider's server:
    GET    /_sandbox/requests        recorded requests
    POST   /_sandbox/faults          {"path_regex", "status", "latency", "ratio", "count", "body", "headers"}
    DELETE /_sandbox/faults          clear faults
    POST   /_sandbox/reset           forget state, requests and faults
    POST   /_sandbox/<action>        provider-specific, e.g. /_sandbox/accounts on Twilio
    GET    /_sandbox/state           a dump of the provider's state, for debugging

The servers answer only requests addressed to them by loopback name (`Host: 127.0.0.1:<port>`
or `localhost:<port>`), so a web page cannot reach them through DNS rebinding, and control
POSTs must be `Content-Type: application/json`, which a cross-site form cannot send without a
CORS preflight that these servers never grant. Together: a page open in the developer's
browser can neither read the recorded credentials nor inject faults.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONTROL_PREFIX = "/_sandbox/"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass
class RecordedRequest:
    provider: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    identity: str | None
    raw_body: bytes = b""
    status: int | None = None  # filled in once answered; None if the client gave up first
    at: float = field(default_factory=time.time)  # arrival (the dialer's pacing is measured on it)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["raw_body"] = self.raw_body.decode("utf-8", "replace")
        return data


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: Any
    raw_body: bytes
    identity: str | None = None
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route regex

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Seconds to hold the answer back *after* the handler acted (a provider that did the work
    # but answers late: the case where the client cannot know whether it happened).
    delay: float = 0.0

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class Fault:
    path_regex: re.Pattern[str]
    status: int | None = None
    latency: float = 0.0
    ratio: float = 1.0
    count: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seen: int = 0  # matching requests so far, for the deterministic ratio
    fired: int = 0

    def should_fire(self) -> bool:
        # Deterministic "ratio": fire on the requests where floor(n * ratio) steps up, so
        # ratio=0.5 fails exactly every second request and tests never flake.
        self.seen += 1
        if self.count is not None and self.fired >= self.count:
            return False
        if int(self.seen * self.ratio) > int((self.seen - 1) * self.ratio):
            self.fired += 1
            return True
        return False


def new_id(prefix: str, nbytes: int = 16) -> str:
    return prefix + secrets.token_hex(nbytes)


def parse_body(content_type: str, raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    if "x-www-form-urlencoded" in content_type:
        form = parse_qs(text, keep_blank_values=True)
        return {key: values[0] if len(values) == 1 else values for key, values in form.items()}
    return text


class ProviderApp:
    """One provider's fake API. Subclasses set `name`, define `routes()`, `identify()`, `error()`."""

    name = "provider"
    mount = ""  # path prefix of the real API's base URL, e.g. "/v2" for Cal.com

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.recorded: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._wake = threading.Event()
        self._routes = [
            Route(method, re.compile(f"^{self.mount}{pattern}$"), handler) for method, pattern, handler in self.routes()
        ]
        self.reset_state()

    # --- to override ---------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Handler]]:
        return []

    def reset_state(self) -> None:
        """Forget every account, credential and object."""

    def identify(self, request: Request) -> str | None:
        """Which credential or identity the request presents (recorded with it)."""
        return None

    def error(self, status: int, message: str) -> Response:
        """The provider's own error body for `status` (used by faults and unknown paths)."""
        return Response(status, {"message": message})

    def control_actions(self) -> dict[str, Callable[..., Any]]:
        """Provider-specific `POST /_sandbox/<action>` endpoints, called with the JSON body as kwargs."""
        return {}

    def state(self) -> dict[str, Any]:
        return {}

    # --- shared behaviour ------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.recorded.clear()
            self.faults.clear()
            self._wake.set()  # release requests sleeping in an injected latency
            self._wake = threading.Event()
            self.reset_state()

    def inject_fault(
        self,
        path_regex: str,
        *,
        status: int | None = None,
        latency: float = 0.0,
        ratio: float = 1.0,
        count: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        fault = Fault(re.compile(path_regex), status, float(latency), float(ratio), count, body, dict(headers or {}))
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self._wake.set()
            self._wake = threading.Event()

    def pause(self, seconds: float) -> None:
        """Sleep outside the lock; reset() and clear_faults() cut it short."""
        with self.lock:
            wake = self._wake
        wake.wait(seconds)

    def requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self.recorded)

    def handle(self, request: Request) -> Response:
        """Record, apply a fault if one matches, then route."""
        request.identity = self.identify(request)
        record = RecordedRequest(
            provider=self.name,
            method=request.method,
            path=request.path,
            query=request.query,
            headers=dict(request.headers),
            body=request.body,
            identity=request.identity,
            raw_body=request.raw_body,
        )
        with self.lock:
            self.recorded.append(record)
            fault = next((f for f in self.faults if f.path_regex.search(request.path) and f.should_fire()), None)
            wake = self._wake
        response = self._apply_fault(fault, wake) if fault else None
        if response is None:
            response = self._route(request)
        record.status = response.status
        return response

    def _apply_fault(self, fault: Fault, wake: threading.Event) -> Response | None:
        # reset()/clear_faults() cut the sleep short; the late request must not touch fresh state.
        if fault.latency and wake.wait(fault.latency):
            return self.error(503, "Sandbox was reset while this request waited")
        if fault.status is None:
            return None
        response = self.error(fault.status, "Injected fault")
        if fault.body is not None:
            response.body = fault.body
        response.headers.update(fault.headers)
        return response

    def _route(self, request: Request) -> Response:
        allowed = False
        for route in self._routes:
            match = route.pattern.match(request.path)
            if not match:
                continue
            if route.method != request.method:
                allowed = True
                continue
            request.params = match.groupdict()
            with self.lock:
                return route.handler(request)
        if allowed:
            return self.error(405, "Method not allowed")
        return self.error(404, f"The requested resource {request.path} was not found")

    def control(self, method: str, action: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET" and action == "requests":
            return 200, [r.as_json() for r in self.requests()]
        if method == "GET" and action == "state":
            with self.lock:
                return 200, self.state()
        if method == "POST" and action == "reset":
            self.reset()
            return 200, {"reset": True}
        if method == "POST" and action == "faults":
            self.inject_fault(body.pop("path_regex"), **body)
            return 201, {"faults": len(self.faults)}
        if method == "DELETE" and action == "faults":
            self.clear_faults()
            return 200, {"faults": 0}
        actions = self.control_actions()
        if method == "POST" and action in actions:
            return 201, actions[action](**body)
        return 404, {"error": f"unknown control action {method} {action}", "actions": sorted(actions)}


class _RequestHandler(BaseHTTPRequestHandler):
    app: ProviderApp  # set on the per-server subclass
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, a keep-alive client's delayed ACK
    # holds the body back ~40 ms per request. Real APIs do not show that stall.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the recorded requests are the log."""

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self._addressed_to_us():
            return self._send(Response(421, {"error": "this sandbox answers only to 127.0.0.1 or localhost"}))
        if parts.path.startswith(CONTROL_PREFIX):
            if self.command == "POST" and not self._is_json():
                return self._send(Response(415, {"error": "control requests must be Content-Type: application/json"}))
            return self._control(parts.path[len(CONTROL_PREFIX) :], raw)
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=parse_body(headers.get("content-type", ""), raw),
            raw_body=raw,
        )
        try:
            response = self.app.handle(request)
        except Exception as exc:  # noqa: BLE001 - a bug in a fake answers 500, like a real server
            response = self.app.error(500, f"Sandbox error: {exc!r}")
        if response.delay:
            self.app.pause(response.delay)
        self._send(response)

    def _addressed_to_us(self) -> bool:
        """Host is a loopback name with this server's own port (DNS rebinding sends another name)."""
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in {f"{name}:{port}" for name in LOOPBACK_NAMES}

    def _is_json(self) -> bool:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/json"

    def _control(self, action: str, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw else {}
            status, payload = self.app.control(self.command, action.strip("/"), body)
        except (TypeError, ValueError, KeyError) as exc:
            status, payload = 400, {"error": str(exc)}
        self._send(Response(status, payload))

    def _send(self, response: Response) -> None:
        payload = response.encode()
        try:
            self.send_response(response.status)
            if payload or response.status != 204:
                self.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up: exactly what a slow-provider fault is for


class SandboxServer:
    """Serves one `ProviderApp` on 127.0.0.1 in a background thread."""

    def __init__(self, app: ProviderApp, port: int = 0) -> None:
        refuse_production()
        handler = type(f"{app.name.title()}Handler", (_RequestHandler,), {"app": app})
        self.app = app
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name=f"sandbox-{self.app.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.app.reset()  # wake sleeping fault handlers before closing
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def basic(request: Request) -> tuple[str, str] | None:
    value = request.headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def refuse_production() -> None:
    """The sandbox accepts any credentials it made up and records every credential it is sent:
    it must never run next to a production deployment (the environment or settings saying so)."""
    environments = {os.environ.get("NODE_ENV", "").strip().lower()}
    try:
        from django.conf import settings

        if settings.configured:
            environments.add(str(getattr(settings, "NODE_ENV", "")).lower())
    except ImportError:  # used without Django
        pass
    if "production" in environments:
        raise RuntimeError(
            "the provider sandbox is a development and test tool; it does not run under NODE_ENV=production"
        )
