"""Calls test fixtures: an account connected to the provider sandbox, served by a live server.

End-to-end calls run for real: the platform in a live server thread (`API_URL` points at it, so
every URL handed to Twilio and ElevenLabs reaches it), the sandbox's Twilio playing the carrier
(signed callbacks, the voice URL) and its ElevenLabs playing the agent (tools over HTTP, the
signed post-call webhook). Tests wait with explicit deadlines (`wait_for`), never sleep blindly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

from accounts.models import Account
from agents import services as agent_services
from agents.models import Agent
from calls.models import Call
from calls.services import call_place
from contacts.models import Contact
from integrations.services import integration_connect
from tests.agents.conftest import connect_calcom, connect_elevenlabs

CALLER_ID = "+15005550006"
PUBLIC = "https://app.example.com"
ANA = "+14155550123"
DEADLINE = 10.0  # seconds: a whole call through the sandbox takes well under one


def wait_for(predicate: Callable[[], Any], *, timeout: float = DEADLINE, what: str = "the condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def call_settles(call: Call, *, analysis: bool = True, timeout: float = DEADLINE) -> Call:
    """Wait until the call is over (and, by default, its post-call analysis is in)."""

    def settled() -> Call | None:
        fresh = Call.objects.get(pk=call.pk)
        done = fresh.is_terminal and (not analysis or fresh.analysis_status in ("received", "failed", "none"))
        return fresh if done else None

    return wait_for(settled, timeout=timeout, what=f"call {call.pk} to end")


def played(sb: Any, sid: str, timeout: float = DEADLINE) -> list[dict[str, Any]]:
    """What the sandbox's Twilio did for the call, once its player finished."""
    return wait_for(lambda: sb.twilio.played.get(sid), timeout=timeout, what=f"the sandbox to finish {sid}")


def connect_twilio(sb: Any, account: Account, numbers: tuple[str, ...] = (CALLER_ID, "+15005550007")) -> dict[str, str]:
    creds = sb.twilio.create_account(numbers=list(numbers))
    integration_connect(account=account, provider="twilio", credentials=creds, actor="operator")
    return creds


def connect_ghl(sb: Any, account: Account) -> dict[str, str]:
    location = sb.ghl.create_location("Alice Co")
    integration_connect(
        account=account,
        provider="ghl",
        credentials={"api_key": location["token"], "location_id": location["location_id"]},
        actor="operator",
    )
    return location


@pytest.fixture
def live_api(live_server: Any, settings: Any) -> str:
    """Point every URL we hand to providers at the live server (and, through it, the test DB)."""
    settings.API_URL = f"{live_server.url}/api/v1"
    return live_server.url


@pytest.fixture
def twilio_creds(provider_sandbox: Any, alice_account: Account) -> dict[str, str]:
    return connect_twilio(provider_sandbox, alice_account)


@pytest.fixture
def connected(provider_sandbox: Any, alice_account: Account, twilio_creds: dict[str, str]) -> Account:
    """Alice Co with Twilio, ElevenLabs (its own key), Cal.com and GoHighLevel connected."""
    connect_elevenlabs(provider_sandbox, alice_account)
    connect_calcom(provider_sandbox, alice_account)
    connect_ghl(provider_sandbox, alice_account)
    alice_account.refresh_from_db()
    return alice_account


@pytest.fixture
def agent(connected: Account) -> Agent:
    return agent_services.agent_create_from_template(account=connected, template="appointment_setter", language="en")


@pytest.fixture
def live_agent(live_api: str, connected: Account) -> Agent:
    """An agent pushed after API_URL points at the live server (its tools and webhook do too)."""
    return agent_services.agent_create_from_template(account=connected, template="appointment_setter", language="en")


@pytest.fixture
def ana(alice_account: Account) -> Contact:
    return Contact.objects.create(
        account=alice_account,
        first_name="Ana",
        last_name="López",
        company="Tacos SA",
        phone=ANA,
        email="ana@tacos.example",
        time_zone="America/Los_Angeles",
    )


class Receiver:
    """A tenant's webhook endpoint on 127.0.0.1: records what arrives, answers scripted codes."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.received: list[dict[str, Any]] = []
        self.codes: list[int] = []  # answers in order; 200 once they run out

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hooks/prix"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A receiver on loopback; only tests may deliver there (`TENANT_WEBHOOKS_ALLOW_*`)."""
    settings.TENANT_WEBHOOKS_ALLOW_PRIVATE = True
    settings.TENANT_WEBHOOKS_ALLOW_HTTP = True
    found = Receiver()
    yield found
    found.stop()


# --- provider deliveries through Django's test client -----------------------------------------


@pytest.fixture
def public_api(settings: Any) -> None:
    settings.API_URL = f"{PUBLIC}/api/v1"


@pytest.fixture
def call(public_api: None, agent: Agent, connected: Account, ana: Contact) -> Call:
    return call_place(account=connected, contact=ana, agent=agent, attempt_key="k1")  # the sandbox plays nothing


def post_form(url: str, form: dict[str, str], headers: dict[str, str]) -> Any:
    parts = urlsplit(url)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Client().post(path, data=urlencode(form), content_type="application/x-www-form-urlencoded", **extra)


def callback(sb: Any, call: Call, status: str, **extra: str) -> Any:
    return post_form(*sb.twilio.status_callback(call.twilio_call_sid, status, **extra))
