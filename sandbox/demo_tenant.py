"""The demo tenant of `make demo`: an account connected to the sandbox's demo providers, an agent,
a few contacts. Safe to run again: the account is reused and its agent pushed again to the fresh
sandbox (whose state, like its ElevenLabs agents, starts empty on every run)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import Account, User
from accounts.services import account_create
from agents import sync
from agents.models import Agent, AgentInboundNumber, ElevenLabsWorkspace
from agents.selectors import calcom_event_types
from agents.services import agent_create_from_template
from calls.services import call_settings_for
from contacts.models import Contact
from integrations.services import calcom_set_default_event_type, integration_connect
from sandbox import demo

EMAIL = "demo@prixagent.local"
ACCOUNT_NAME = "Demo Dental"
INBOUND_NUMBER = demo.TWILIO_NUMBERS[1]
CONTACTS = [
    {"first_name": "Ana", "last_name": "López", "company": "Tacos SA", "phone": "+14155550101"},
    {"first_name": "Ben", "last_name": "Carter", "company": "Carter & Sons", "phone": "+14155550102"},
    {"first_name": "Chloé", "last_name": "Martin", "company": "", "phone": "+14155550103"},
]


# The demo campaign's contacts, in four time zones, and what the sandbox does when each is called.
CAMPAIGN_NAME = "Spring check-ups"
CAMPAIGN_TAG = "spring-check-ups"
CAMPAIGN_CONTACTS = [
    ("Diego", "+14155550111", "America/Los_Angeles", "answered"),
    ("Emma", "+12125550112", "America/New_York", "no-answer"),
    ("Farid", "+13125550113", "America/Chicago", "answered"),
    ("Greta", "+12125550114", "America/New_York", "busy"),
    ("Hugo", "+34915550115", "Europe/Madrid", "voicemail"),
    ("Inés", "+34915550116", "Europe/Madrid", "answered"),
    ("Jon", "+14155550117", "America/Los_Angeles", "failed"),
    ("Kira", "+13125550118", "America/Chicago", "answered"),
]


@dataclass
class DemoTenant:
    account: Account
    owner: User
    password: str
    agent: Agent


def _owner(password: str) -> tuple[Account, User]:
    existing = User.objects.filter(email=EMAIL).select_related("account").first()
    if existing is None:
        return account_create(account_name=ACCOUNT_NAME, email=EMAIL, password=password, name="Demo Owner")
    existing.set_password(password)  # a fresh password each run, printed: nothing to remember
    existing.save(update_fields=["password"])
    return existing.account, existing


def _connect(account: Account) -> None:
    for provider, credentials in (
        ("twilio", demo.TWILIO),
        ("elevenlabs", {"api_key": demo.ELEVENLABS_KEY}),
        ("calcom", {"api_key": demo.CALCOM["api_key"]}),
        ("ghl", {"api_key": demo.GHL["token"], "location_id": demo.GHL["location_id"]}),
    ):
        integration_connect(account=account, provider=provider, credentials=credentials, actor="operator")
    event_types, default = calcom_event_types(account)
    if event_types and not default:  # the agent books the first event type (30 minutes)
        calcom_set_default_event_type(account=account, event_type_id=event_types[0]["id"], actor="operator")


def _agent(account: Account) -> Agent:
    agent = Agent.objects.filter(account=account).order_by("created_at").first()
    if agent is None:
        return agent_create_from_template(
            account=account, template="appointment_setter", language="en", name="Ava, appointment setter"
        )
    # The sandbox starts empty: forget the previous run's remote ids, then push again.
    with transaction.atomic():
        ElevenLabsWorkspace.objects.filter(account=account).delete()
        Agent.objects.filter(account=account).update(
            elevenlabs_agent_id="", workspace=None, remote_revision="", sync_status=Agent.SyncStatus.PENDING
        )
    agent.refresh_from_db()
    return sync.agent_sync(agent=agent)


def _campaign(account: Account, agent: Agent) -> None:
    """A draft campaign over eight tagged contacts, ready to preview and start (calling all day,
    every day, so the demo works at any hour)."""
    from campaigns.models import Campaign
    from campaigns.services import campaign_create
    from contacts.services import tags_resolve

    [tag] = tags_resolve(account=account, names=[CAMPAIGN_TAG])
    for first_name, phone, zone, _outcome in CAMPAIGN_CONTACTS:
        contact, _created = Contact.objects.get_or_create(
            account=account,
            phone=phone,
            defaults={"first_name": first_name, "time_zone": zone, "source": Contact.Source.MANUAL},
        )
        contact.tags.add(tag)
    if Campaign.objects.filter(account=account, name=CAMPAIGN_NAME, state=Campaign.State.DRAFT).exists():
        return
    campaign_create(
        account=account,
        data={
            "name": CAMPAIGN_NAME,
            "agent": str(agent.pk),
            "target": "tags",
            "target_tags": [tag.pk],
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "window_start": "00:00",
            "window_end": "23:59",
            "calls_per_second": "1",
            "max_concurrent": 2,
            "max_attempts": 2,
            "retry_delays": {"no_answer": 2, "busy": 1, "voicemail": None, "failed": None},
        },
    )


def demo_tenant_load(*, record_calls: bool = True) -> DemoTenant:
    """Create (or refresh) the demo tenant against the running sandbox and print-ready details."""
    password = secrets.token_urlsafe(12)
    account, owner = _owner(password)
    _connect(account)
    account.refresh_from_db()
    settings = call_settings_for(account)
    settings.record_calls = record_calls
    settings.save()
    # The sandbox's GoHighLevel starts empty too: ids from a previous run point at nothing.
    Contact.objects.filter(account=account).exclude(ghl_contact_id="").update(ghl_contact_id="")
    for fields in CONTACTS:
        Contact.objects.get_or_create(
            account=account,
            phone=fields["phone"],
            defaults={**fields, "email": "", "time_zone": "America/New_York", "source": Contact.Source.MANUAL},
        )
    agent = _agent(account)
    _campaign(account, agent)
    AgentInboundNumber.objects.filter(account=account, phone_number=INBOUND_NUMBER).delete()
    AgentInboundNumber.objects.create(account=account, agent=agent, phone_number=INBOUND_NUMBER)
    return DemoTenant(account=account, owner=owner, password=password, agent=agent)


def script_demo_calls(sandbox: Any, *, pace: float = 1.0) -> None:
    """Every call the demo places is answered and books (at a pace a person can follow)."""
    conversation = {"scenario": "book", "delay": pace}
    sandbox.twilio.script_calls(default=True, outcome="answered", conversation=conversation, delay=pace, duration=47)
    for _name, phone, _zone, outcome in CAMPAIGN_CONTACTS:
        if outcome == "voicemail":
            sandbox.twilio.script_calls(to=phone, outcome="voicemail", answered_by="machine_end_beep", delay=pace)
        elif outcome != "answered":
            sandbox.twilio.script_calls(to=phone, outcome=outcome, delay=pace)
