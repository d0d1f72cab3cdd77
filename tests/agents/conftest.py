"""Agents test fixtures: accounts connected to the provider sandbox, agents, tool sessions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, User
from agents import services
from agents.models import Agent
from contacts.models import Contact
from integrations.services import integration_connect

ALICE_NUMBERS = ["+15005550006", "+15005550007"]


def connect_elevenlabs(sb: Any, account: Account, **options: Any) -> str:
    """A fresh sandbox key in its own workspace, stored as the account's ElevenLabs key."""
    key = sb.elevenlabs.create_key(**options)
    account.elevenlabs_api_key = key
    account.elevenlabs_configured = True
    account.save()
    return key


def connect_calcom(sb: Any, account: Account, time_zone: str = "America/New_York") -> dict[str, Any]:
    user = sb.calcom.create_user(f"user{account.slug.replace('-', '')}", time_zone)
    integration_connect(account=account, provider="calcom", credentials={"api_key": user["api_key"]}, actor="operator")
    return user


def connect_twilio_numbers(account: Account, numbers: list[str] = ALICE_NUMBERS) -> None:
    account.twilio_configured = True
    account.twilio_phone_numbers = [
        {"number": n, "sid": f"PN{i}", "capabilities": {"voice": True}} for i, n in enumerate(numbers)
    ]
    account.save()


def web_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_key(provider_sandbox: Any, alice_account: Account) -> str:
    return connect_elevenlabs(provider_sandbox, alice_account)


@pytest.fixture
def platform_key(provider_sandbox: Any, settings: Any) -> str:
    key = provider_sandbox.elevenlabs.create_key(workspace="ws_platform")
    settings.ELEVENLABS_API_KEY = key
    return key


@pytest.fixture
def alice_agent(alice_account: Account, alice_key: str) -> Agent:
    return services.agent_create_from_template(account=alice_account, template="appointment_setter", language="en")


@pytest.fixture
def alice_contact(alice_account: Account) -> Contact:
    return Contact.objects.create(
        account=alice_account,
        first_name="Ana",
        last_name="López",
        company="Tacos SA",
        phone="+14155550123",
        email="",
        time_zone="America/Los_Angeles",
        custom_fields={"Budget": "5000"},
    )
