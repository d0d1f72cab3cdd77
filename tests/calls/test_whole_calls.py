"""Whole calls through the sandbox, one per ending: booked, opted out, no answer, busy, failed,
voicemail left. The platform runs in a live server; the sandbox's Twilio and ElevenLabs play the
provider side (signed callbacks, the voice URL, the agent's tools, the post-call webhook)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from agents.models import Agent, Booking, ToolSession
from billing.models import UsageRecord
from calls import signals
from calls.errors import CallRefused
from calls.models import Call
from calls.services import call_place
from contacts.models import Contact, DoNotCallEntry
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_deliver_due
from tests.calls.conftest import ANA, call_settles, played
from webhooks.models import InboundWebhook


def place(account: Account, contact: Contact, agent: Agent, key: str = "attempt-1") -> Call:
    return call_place(account=account, contact=contact, agent=agent, attempt_key=key, source=Call.Source.API)


def test_an_answered_call_books_and_everything_arrives(
    provider_sandbox: Any, live_agent: Agent, connected: Account, ana: Contact
) -> None:
    provider_sandbox.twilio.script_calls(to=ANA, outcome="answered", conversation={"scenario": "book"}, delay=0)

    call = place(connected, ana, live_agent)
    assert call.status == "queued" and call.twilio_call_sid.startswith("CA")
    call = call_settles(call)
    steps = played(provider_sandbox, call.twilio_call_sid)

    assert [s["http"] for s in steps if s["step"] in ("status", "voice")] == [200] * 5, steps
    assert (call.status, call.outcome, call.duration_seconds) == ("completed", "booked", 42)
    assert call.answered_at and call.ended_at and call.analysis_status == "received"
    roles = [t["role"] for t in call.transcript]
    assert roles[:2] == ["agent", "user"] and "Ana" in call.transcript[0]["message"]
    assert [tool["name"] for t in call.transcript for tool in t["tools"]] == ["check_availability", "book_appointment"]
    assert "booked" in call.summary and call.call_successful == "success"
    booking = Booking.objects.get(call_id=call.pk)
    assert booking.status == "booked" and booking.contact == ana
    assert ToolSession.objects.get(call_id=call.pk).closed_at is not None
    # Minutes metered once, from Twilio's duration.
    assert UsageRecord.objects.get(call_id=call.pk).minutes == 1
    connected.refresh_from_db()
    assert list(connected.usage_stats.values())[0]["minutes"] == 1
    # One Twilio call; every webhook went through the pipeline and was processed.
    creates = [r for r in provider_sandbox.requests("twilio") if r.method == "POST" and r.path.endswith("/Calls.json")]
    assert len(creates) == 1
    kept = InboundWebhook.objects.filter(account=connected)
    assert set(kept.values_list("status", flat=True)) == {"processed"}
    assert set(kept.values_list("endpoint", flat=True)) == {"twilio-voice", "twilio-status", "elevenlabs-post-call"}
    conversation = provider_sandbox.elevenlabs.conversations[call.conversation_id]
    token = conversation["conversation_initiation_client_data"]["dynamic_variables"]["secret__prix_tool_token"]
    assert token.startswith("pxt_") and not kept.filter(body__contains=token).exists()  # never kept

    # The outcome reaches GoHighLevel through the outbox: contact upserted, note, tags.
    assert OutboxMessage.objects.filter(kind="calls.ghl_outcome").count() == 1
    assert outbox_deliver_due() == {"delivered": 2}  # the outcome, and the booking tool's own note
    [ghl_contact] = provider_sandbox.ghl.contacts.values()
    assert ghl_contact["phone"] == ANA and {"prix:called", "prix:booked"} <= set(ghl_contact["tags"])
    notes = [r.body["body"] for r in provider_sandbox.requests("ghl") if r.path.endswith("/notes")]
    [outcome_note] = [n for n in notes if f"[PrixAgent call {call.pk}]" in n]
    assert "Outcome: Booked" in outcome_note and call.summary in outcome_note
    ana.refresh_from_db()
    assert ana.ghl_contact_id == ghl_contact["id"]


def test_an_opt_out_puts_the_number_on_the_do_not_call_list(
    provider_sandbox: Any, live_agent: Agent, connected: Account, ana: Contact
) -> None:
    provider_sandbox.twilio.script_calls(to=ANA, outcome="answered", conversation={"scenario": "opt_out"}, delay=0)
    call = call_settles(place(connected, ana, live_agent))
    assert (call.status, call.outcome) == ("completed", "opted_out")
    assert DoNotCallEntry.objects.get(account=connected, phone=ANA).source == "opt_out"
    ana.refresh_from_db()
    assert ana.do_not_call
    # The next call to her is refused before Twilio is asked.
    with pytest.raises(CallRefused) as refused:
        place(connected, ana, live_agent, key="attempt-2")
    assert refused.value.code == "do_not_call"
    assert len([r for r in provider_sandbox.requests("twilio") if r.path.endswith("/Calls.json")]) == 1


@pytest.mark.parametrize(
    ("outcome", "status", "statuses"),
    [
        ("no-answer", "no-answer", ["queued", "initiated", "ringing", "no-answer"]),
        ("busy", "busy", ["queued", "initiated", "busy"]),
        ("failed", "failed", ["queued", "failed"]),
    ],
)
def test_calls_nobody_answers_end_without_a_conversation(
    provider_sandbox: Any,
    live_agent: Agent,
    connected: Account,
    ana: Contact,
    outcome: str,
    status: str,
    statuses: list[str],
) -> None:
    ended: list[Call] = []
    signals.call_ended.connect(lambda sender, call, **kw: ended.append(call), weak=False, dispatch_uid="test-ended")
    try:
        provider_sandbox.twilio.script_calls(to=ANA, outcome=outcome, delay=0)
        call = call_settles(place(connected, ana, live_agent), analysis=False)
        played(provider_sandbox, call.twilio_call_sid)
    finally:
        signals.call_ended.disconnect(dispatch_uid="test-ended")
    assert (call.status, call.outcome, call.duration_seconds) == (status, status.replace("-", "_"), 0)
    assert [step["status"] for step in call.timeline] == ["pending", *statuses]
    assert call.analysis_status == "none" and call.answered_at is None and not call.transcript
    assert [c.pk for c in ended] == [call.pk] and ended[0].status == status
    assert UsageRecord.objects.get(call_id=call.pk).minutes == 0  # metered as a call, no minutes
    assert not ToolSession.objects.filter(call_id=call.pk).exists()  # the agent never spoke
    assert OutboxMessage.objects.get(kind="calls.ghl_outcome").payload == {"call": str(call.pk)}


def test_a_machine_gets_the_voicemail_in_the_agents_voice(
    provider_sandbox: Any, live_agent: Agent, connected: Account, ana: Contact
) -> None:
    provider_sandbox.twilio.script_calls(to=ANA, outcome="voicemail", delay=0)
    call = call_settles(place(connected, ana, live_agent), analysis=False)
    steps = played(provider_sandbox, call.twilio_call_sid)

    sent = [r for r in provider_sandbox.requests("twilio") if r.path.endswith("/Calls.json")][0].body
    assert sent["MachineDetection"] == "DetectMessageEnd" and "AsyncAmd" not in sent  # the verdict before TwiML
    assert (call.status, call.outcome, call.answered_by) == ("completed", "voicemail", "machine_end_beep")
    assert call.voicemail_left and call.analysis_status == "none"
    [spoken] = provider_sandbox.elevenlabs.spoken
    assert spoken["voice_id"] == live_agent.voice_id and "Ana" in spoken["text"]  # the message, variables filled
    [play] = [s for s in steps if s["step"] == "play"]
    assert play["http"] == 200 and "/webhooks/audio/" in play["url"]  # Twilio fetched our signed audio URL
    assert not provider_sandbox.elevenlabs.conversations  # no register-call for a machine


def test_a_machine_without_a_voicemail_message_is_hung_up_on(
    provider_sandbox: Any, live_agent: Agent, connected: Account, ana: Contact
) -> None:
    Agent.objects.filter(pk=live_agent.pk).update(voicemail_message="")
    live_agent.refresh_from_db()
    provider_sandbox.twilio.script_calls(to=ANA, outcome="answered", answered_by="machine_start", delay=0)
    call = call_settles(place(connected, ana, live_agent))
    played(provider_sandbox, call.twilio_call_sid)
    sent = [r for r in provider_sandbox.requests("twilio") if r.path.endswith("/Calls.json")][0].body
    assert (sent["MachineDetection"], sent["AsyncAmd"]) == ("Enable", "true")  # a person hears the agent at once
    assert (call.answered_by, call.outcome) == ("machine_start", "machine")
    hangups = [r for r in provider_sandbox.requests("twilio") if r.body and r.body.get("Status") == "completed"]
    assert len(hangups) == 1  # we hung up on the machine


def test_an_inbound_call_reaches_the_numbers_agent_and_a_new_caller_becomes_a_contact(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    from agents.services import agent_update

    agent_update(agent=live_agent, data={}, inbound_numbers=["+15005550007"])
    assert outbox_deliver_due()["delivered"] >= 1  # the number now points at our inbound webhook
    started = provider_sandbox.twilio.inbound_call(to="+15005550007", conversation={"scenario": "chat"}, delay=0)
    played(provider_sandbox, started["call_sid"])
    call = call_settles(Call.objects.get(twilio_call_sid=started["call_sid"]))

    assert (call.direction, call.agent, call.from_number, call.to_number) == (
        "inbound",
        live_agent,
        "+14155550199",
        "+15005550007",
    )
    assert call.contact.phone == "+14155550199" and call.contact.source == "inbound"
    assert (call.status, call.outcome, call.analysis_status) == ("completed", "answered", "received")
    conversation = provider_sandbox.elevenlabs.conversations[call.conversation_id]
    assert conversation["metadata"]["phone_call"]["direction"] == "inbound"
