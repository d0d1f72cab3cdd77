"""`call_place`, the dialer's contract: refusals before dialing (nothing written, Twilio not asked),
Twilio's busy and refusing answers, one call per attempt key."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from agents.models import Agent
from calls.errors import CallNotPlaced, CallRefused, TwilioBusy
from calls.models import Call
from calls.services import call_place
from contacts.models import Contact
from integrations.models import IntegrationStatus
from tests.calls.conftest import ANA


def creates(sb: Any) -> int:
    return len([r for r in sb.requests("twilio") if r.method == "POST" and r.path.endswith("/Calls.json")])


def place(account: Account, contact: Contact | None, agent: Agent | None, key: str = "k1", **extra: Any) -> Call:
    return call_place(account=account, contact=contact, agent=agent, attempt_key=key, **extra)


def refused(sb: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(CallRefused) as info:
        place(*args, **kwargs)
    assert creates(sb) == 0 and not Call.objects.exists()
    return info.value.code


def test_the_attempt_is_written_before_twilio_is_asked(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact
) -> None:
    call = place(connected, ana, agent, source=Call.Source.CAMPAIGN, campaign_ref="42")
    assert (call.status, call.source, call.campaign_ref, call.attempt_key) == ("queued", "campaign", "42", "k1")
    assert call.dial_started_at is not None and call.dial_started_at >= call.created_at
    [sent] = [r for r in provider_sandbox.requests("twilio") if r.path.endswith("/Calls.json")]
    assert sent.body["Url"].endswith(f"/webhooks/twilio/calls/{call.pk}/voice/")
    assert sent.body["StatusCallback"].endswith(f"/webhooks/twilio/calls/{call.pk}/status/")
    assert sent.body["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (sent.body["From"], sent.body["To"], sent.body["Timeout"]) == ("+15005550006", ANA, "30")
    assert sent.body["Url"].startswith("https://app.example.com/")  # built from API_URL, never a Host header
    assert place(connected, ana, agent).pk == call.pk and creates(provider_sandbox) == 1


def test_refusals_before_dialing(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact, charlie_account: Account
) -> None:
    sb = provider_sandbox
    assert refused(sb, connected, ana, None) == "no_agent"
    theirs = Agent.objects.create(
        account=charlie_account, name="x", system_prompt="x", voice_id="v", elevenlabs_agent_id="agent_x"
    )
    assert refused(sb, connected, ana, theirs) == "no_agent"
    Agent.objects.filter(pk=agent.pk).update(elevenlabs_agent_id="")
    assert refused(sb, connected, ana, Agent.objects.get(pk=agent.pk)) == "agent_not_ready"
    Agent.objects.filter(pk=agent.pk).update(elevenlabs_agent_id="agent_1")
    agent.refresh_from_db()
    assert refused(sb, connected, ana, agent, from_number="+19995550000") == "no_from_number"
    someone_elses = Contact.objects.create(account=charlie_account, phone="+14155550999", time_zone="UTC")
    assert refused(sb, connected, someone_elses, agent) == "no_contact"
    assert refused(sb, connected, None, agent, to_number="not a number") == "invalid_number"
    Contact.objects.filter(pk=ana.pk).update(do_not_call=True)
    ana.refresh_from_db()
    assert refused(sb, connected, ana, agent) == "do_not_call"


def test_plan_limits_refuse_before_dialing(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact
) -> None:
    Account.objects.filter(pk=connected.pk).update(limits={"concurrent_calls": 1})
    connected.refresh_from_db()
    place(connected, ana, agent)  # live (queued): the one allowed
    other = Contact.objects.create(account=connected, phone="+14155550124", time_zone="UTC")
    with pytest.raises(CallRefused) as info:
        place(connected, other, agent, key="k2")
    assert (info.value.code, info.value.status_code) == ("plan_limit", 403)
    Account.objects.filter(pk=connected.pk).update(limits={"monthly_minutes": 0})
    connected.refresh_from_db()
    with pytest.raises(CallRefused) as info:
        place(connected, other, agent, key="k3")
    assert info.value.code == "plan_limit" and creates(provider_sandbox) == 1


def test_an_inactive_account_or_twilio_refuses(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact
) -> None:
    IntegrationStatus.objects.update_or_create(
        account=connected, provider="elevenlabs", defaults={"failing": True, "last_error": "401"}
    )
    assert refused(provider_sandbox, connected, ana, agent) == "elevenlabs_failing"  # the agent would answer nobody
    IntegrationStatus.objects.filter(account=connected, provider="twilio").update(failing=True, last_error="20003")
    assert refused(provider_sandbox, connected, ana, agent) == "twilio_failing"  # Twilio first: nothing would ring
    Account.objects.filter(pk=connected.pk).update(twilio_configured=False)
    connected.refresh_from_db()
    assert refused(provider_sandbox, connected, ana, agent) == "twilio_not_connected"
    Account.objects.filter(pk=connected.pk).update(status="suspended")
    connected.refresh_from_db()
    assert refused(provider_sandbox, connected, ana, agent) == "account_inactive"


def test_twilio_busy_is_a_transient_error_to_back_off_on(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact
) -> None:
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=429, count=1)
    with pytest.raises(TwilioBusy) as busy:
        place(connected, ana, agent)
    assert busy.value.transient and busy.value.code == "twilio_busy" and busy.value.status_code == 503
    assert (busy.value.call.status, busy.value.call.error_code) == ("not_placed", "rate_limited")
    assert place(connected, ana, agent).status == "not_placed"  # the same attempt stays ended: no second dial
    assert creates(provider_sandbox) == 1
    assert place(connected, ana, agent, key="k2").status == "queued"  # a new attempt may dial


def test_refused_credentials_mark_twilio_failing(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact
) -> None:
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=401, count=1)
    with pytest.raises(CallNotPlaced) as info:
        place(connected, ana, agent)
    assert (info.value.code, info.value.transient) == ("twilio_failing", False)
    assert IntegrationStatus.objects.get(account=connected, provider="twilio").failing
    assert refused_after(provider_sandbox, connected, ana, agent) == "twilio_failing"


def refused_after(sb: Any, *args: Any) -> str:
    with pytest.raises(CallRefused) as info:
        place(*args, key="k2")
    assert creates(sb) == 1
    return info.value.code


def test_twilio_unreachable_is_not_placed_and_transient(
    provider_sandbox: Any, public_api: None, agent: Agent, connected: Account, ana: Contact, settings: Any
) -> None:
    import socket

    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": f"http://127.0.0.1:{port}"}
    with pytest.raises(CallNotPlaced) as info:
        place(connected, ana, agent)
    assert info.value.transient and info.value.call.status == "not_placed"
    assert info.value.call.error_code == "unreachable"
