"""Campaign test fixtures: Alice Co connected to the provider sandbox, a live agent, contacts.

The dialer runs for real: ticks and tasks in this process (eager) or in Celery worker processes
(the reliability tests), calls through the sandbox's Twilio, whose player posts the signed
callbacks to the live server, whose receivers move the campaign's contacts on. The dialer's
clock (`campaigns.clock`) is frozen where a test needs a given local time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import Account
from agents.models import Agent
from campaigns import clock, dialer
from campaigns.models import MEMBER_TERMINAL, Campaign, CampaignContact
from campaigns.services import campaign_create
from contacts.models import Contact
from tests.calls.conftest import (  # noqa: F401 - fixtures shared with the calls tests
    CALLER_ID,
    agent,
    connected,
    live_agent,
    live_api,
    twilio_creds,
    wait_for,
)

# A Wednesday noon in New York: inside the default window on the East coast.
WEDNESDAY_NOON_NY = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
ALL_DAY = {"window_start": "00:00", "window_end": "23:59", "weekdays": [0, 1, 2, 3, 4, 5, 6]}


def make_contacts(
    account: Account, n: int, *, zone: str = "America/New_York", prefix: str = "+1212555", start: int = 0
) -> list[Contact]:
    return Contact.objects.bulk_create(
        [
            Contact(account=account, first_name=f"C{i}", phone=f"{prefix}{i:04d}", time_zone=zone)
            for i in range(start, start + n)
        ]
    )


def new_campaign(account: Account, voice: Agent, **data: Any) -> Campaign:
    return campaign_create(account=account, data={"name": "Spring", "agent": str(voice.pk), **data})


def members_of(campaign: Campaign) -> list[CampaignContact]:
    return list(CampaignContact.objects.filter(campaign=campaign).order_by("pk"))


def all_terminal(campaign: Campaign) -> bool:
    return not CampaignContact.objects.filter(campaign=campaign).exclude(state__in=MEMBER_TERMINAL).exists()


def run_dialer(until: Callable[[], Any], *, timeout: float = 30.0, what: str = "the campaign") -> Any:
    """Tick the dialer (tasks run eagerly, in this process) until `until()` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        dialer.campaigns_tick()
        value = until()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def creates(sandbox: Any) -> list[Any]:
    """Every calls.create the sandbox's Twilio received (placed calls)."""
    return [r for r in sandbox.requests("twilio") if r.method == "POST" and r.path.endswith("/Calls.json")]


@pytest.fixture(autouse=True)
def calls_played_out(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test, wait (bounded) for the sandbox's Twilio to finish playing the calls it was
    scripted to play: a callback arriving while the database is reset for the next test would
    write into the reset (and can deadlock it)."""
    if "provider_sandbox" not in request.fixturenames:
        yield
        return
    # Requested here so they are set up before, and torn down after, this fixture: the wait runs
    # while the sandbox still knows its calls and before the database is reset.
    sandbox = request.getfixturevalue("provider_sandbox")
    yield
    twilio = sandbox.twilio

    def playing() -> list[str]:
        with twilio.lock:
            scripted = [
                sid
                for sid, call in twilio.calls.items()
                if twilio.scripts.get(call.get("to"), twilio.default_script).get("outcome", "manual") != "manual"
            ]
            return [sid for sid in scripted if sid not in twilio.played]

    deadline = time.monotonic() + 15
    while playing() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def frozen_noon() -> Iterator[datetime]:
    with clock.frozen(WEDNESDAY_NOON_NY):
        yield WEDNESDAY_NOON_NY
