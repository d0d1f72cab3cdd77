"""Fixtures for the campaigns API, dashboard, admin and command tests (import them with
`from tests.campaigns.ui_fixtures import *`; tests/campaigns/conftest.py belongs to the dialer's
tests).

Alice Co is made ready to start a campaign without a provider round trip: Twilio credentials
stored (encrypted) with two voice numbers, and an agent that already has its ElevenLabs id.
Nothing here dials: the tests read and steer campaigns, and make calls rows directly (the shape
the dialer writes: `campaign_ref` = the campaign's id) to check the figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account, User
from agents.models import Agent
from calls.models import Call
from campaigns.models import Campaign, CampaignContact
from contacts.models import Contact, Tag

TWILIO_TOKEN = "tw-secret-token-4f9a81c2d7"
CALLER = "+15005550006"
OTHER_CALLER = "+15005550007"


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_agent(account: Account, name: str = "Sofia") -> Agent:
    return Agent.objects.create(
        account=account,
        name=name,
        system_prompt="You book demos.",
        voice_id="voice-1",
        elevenlabs_agent_id=f"agent_{account.slug}_{name.lower()}",
    )


def connect_twilio_directly(account: Account) -> Account:
    """Stored Twilio credentials, as `integration_connect` leaves them (no provider call needed)."""
    account.twilio_account_sid = "AC" + "0" * 32
    account.twilio_auth_token = TWILIO_TOKEN
    account.twilio_configured = True
    account.twilio_phone_numbers = [
        {"number": CALLER, "sid": "PN1", "capabilities": {"voice": True}},
        {"number": OTHER_CALLER, "sid": "PN2", "capabilities": {"voice": True}},
    ]
    account.save()
    return account


def make_contact(account: Account, phone: str, first_name: str = "", **extra: Any) -> Contact:
    return Contact.objects.create(
        account=account, phone=phone, first_name=first_name, time_zone=extra.pop("time_zone", "UTC"), **extra
    )


def make_campaign(account: Account, agent: Agent, **fields: Any) -> Campaign:
    values = {"name": "Spring demos", "window_start": "00:00", "window_end": "23:59", "weekdays": [0, 1, 2, 3, 4, 5, 6]}
    values.update(fields)
    return Campaign.objects.create(account=account, agent=agent, **values)


def make_member(campaign: Campaign, contact: Contact, state: str = "queued", **fields: Any) -> CampaignContact:
    return CampaignContact.objects.create(
        campaign=campaign, account_id=campaign.account_id, contact=contact, state=state, **fields
    )


def make_call(campaign: Campaign | None, account: Account, number: int, **fields: Any) -> Call:
    """A finished call row, as the dialer and Twilio's callbacks leave it."""
    values: dict[str, Any] = {
        "account": account,
        "agent": campaign.agent if campaign else None,
        "campaign_ref": str(campaign.pk) if campaign else "",
        "attempt_key": f"test:{number}",
        "to_number": f"+1415555{number:04d}",
        "from_number": CALLER,
        "status": "completed",
    }
    values.update(fields)
    return Call.objects.create(**values)


def at(day: datetime) -> datetime:
    return timezone.make_aware(day) if timezone.is_naive(day) else day


@pytest.fixture
def ready_account(alice_account: Account) -> Account:
    return connect_twilio_directly(alice_account)


@pytest.fixture
def sofia(ready_account: Account) -> Agent:
    return make_agent(ready_account)


@pytest.fixture
def vip(alice_account: Account) -> Tag:
    return Tag.objects.create(account=alice_account, name="vip")


@pytest.fixture
def contacts(alice_account: Account, vip: Tag) -> list[Contact]:
    people = [
        make_contact(alice_account, "+14155550101", "Ana"),
        make_contact(alice_account, "+14155550102", "Ben"),
        make_contact(alice_account, "+14155550103", "Cleo"),
    ]
    for person in people[:2]:
        person.tags.add(vip)
    return people


@pytest.fixture
def campaign(ready_account: Account, sofia: Agent) -> Campaign:
    """A draft of Alice Co (window open all day, every day: the preview calls everyone now)."""
    return make_campaign(ready_account, sofia)


@pytest.fixture
def charlie_campaign(charlie_account: Account) -> Campaign:
    return make_campaign(charlie_account, make_agent(charlie_account, "Max"), name="Charlie's secret campaign")
