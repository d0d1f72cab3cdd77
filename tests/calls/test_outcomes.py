"""After the call: the outcome to GoHighLevel through an outage and a revoked token, the post-call
webhook that never comes (reconciliation) or comes late, and what listeners are told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Account
from agents.models import Agent
from calls.crm import OUTCOME_KIND
from calls.models import Call, TenantWebhookDelivery
from calls.recovery import calls_reconcile_analysis
from calls.services import call_place
from contacts.models import Contact
from integrations.models import IntegrationStatus
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_deliver_due, outbox_resume
from tests.calls.conftest import ANA, Receiver, call_settles, callback, played, wait_for
from webhooks.models import InboundWebhook


def ended(sb: Any, call: Call) -> Call:
    for status in ("initiated", "ringing", "no-answer"):
        callback(sb, call, status)
    call.refresh_from_db()
    return call


def outcome_message() -> OutboxMessage:
    return OutboxMessage.objects.get(kind=OUTCOME_KIND)


def due_now() -> None:
    OutboxMessage.objects.update(next_attempt_at=timezone.now())


def test_the_outcome_waits_out_a_ghl_outage_and_is_written_once(provider_sandbox: Any, call: Call) -> None:
    ended(provider_sandbox, call)
    provider_sandbox.inject_fault("ghl", r"/contacts/", status=503, count=2)
    assert outbox_deliver_due() == {"retry": 1}
    assert outcome_message().attempts == 1 and outcome_message().next_attempt_at > timezone.now()
    due_now()
    assert outbox_deliver_due() == {"retry": 1}
    due_now()
    assert outbox_deliver_due() == {"delivered": 1}
    message = outcome_message()
    assert (message.status, message.attempts, message.result["note"]) == ("delivered", 3, "written")
    notes = [r for r in provider_sandbox.requests("ghl") if r.method == "POST" and r.path.endswith("/notes")]
    assert len(notes) == 1 and f"[PrixAgent call {call.pk}]" in notes[0].body["body"]
    tags = [r for r in provider_sandbox.requests("ghl") if r.path.endswith("/tags")]
    assert tags[-1].body["tags"] == ["prix:called", "prix:no-answer"]
    due_now()
    assert outbox_deliver_due() == {}  # delivered: never again


def test_a_retry_after_a_lost_answer_does_not_write_the_note_twice(provider_sandbox: Any, call: Call) -> None:
    ended(provider_sandbox, call)
    # GoHighLevel writes the note but the answer never arrives (our client times out).
    provider_sandbox.inject_fault("ghl", r"/notes$", latency=3, count=1)
    assert outbox_deliver_due() == {"retry": 1}
    wait_for(lambda: any(c["notes"] for c in provider_sandbox.ghl.contacts.values()), what="the late note")
    due_now()
    assert outbox_deliver_due() == {"delivered": 1}
    assert outcome_message().result["note"] == "already written"
    posted = [r for r in provider_sandbox.requests("ghl") if r.method == "POST" and r.path.endswith("/notes")]
    assert len(posted) == 1


def test_a_revoked_ghl_token_marks_the_integration_failing_and_parks(provider_sandbox: Any, call: Call) -> None:
    ended(provider_sandbox, call)
    provider_sandbox.ghl.revoke_token(call.account.ghl_api_key)  # the location owner deleted the integration
    assert outbox_deliver_due() == {"parked": 1}
    status = IntegrationStatus.objects.get(account=call.account, provider="ghl")
    assert status.failing and "401" in status.last_error
    due_now()
    assert outbox_deliver_due() == {}  # parked: no retries against a dead token
    provider_sandbox.ghl.revoked.clear()  # a new token, connected again
    assert outbox_resume(account=call.account, kind_prefix="calls.") == 1
    assert outbox_deliver_due() == {"delivered": 1}


def test_no_note_without_ghl_or_without_a_contact(provider_sandbox: Any, call: Call, connected: Account) -> None:
    Account.objects.filter(pk=connected.pk).update(ghl_configured=False)
    call.account.refresh_from_db()
    ended(provider_sandbox, call)
    assert not OutboxMessage.objects.filter(kind=OUTCOME_KIND).exists()


def test_a_missing_post_call_webhook_is_reconciled_and_a_late_one_changes_nothing_twice(
    provider_sandbox: Any, live_agent: Agent, connected: Account, ana: Contact, receiver: Receiver
) -> None:
    from calls.tenant_webhooks import tenant_webhook_create, tenant_webhooks_deliver_due

    tenant_webhook_create(account=connected, url=receiver.url(), events=["call.analyzed"])
    conversation = {"scenario": "chat", "webhook": "skip"}  # no tool call: we never learn its id
    provider_sandbox.twilio.script_calls(to=ANA, outcome="answered", conversation=conversation, delay=0)
    call = call_place(account=connected, contact=ana, agent=live_agent, attempt_key="k1")
    played(provider_sandbox, call.twilio_call_sid)
    call = call_settles(call, analysis=False)
    assert call.analysis_status == "waiting" and not OutboxMessage.objects.filter(kind=OUTCOME_KIND).exists()

    assert calls_reconcile_analysis() == {}  # ElevenLabs gets a few minutes first
    assert calls_reconcile_analysis(now=timezone.now() + timedelta(minutes=6)) == {"reconciled": 1}
    call.refresh_from_db()
    assert call.analysis_status == "received" and "not interested" in call.summary and call.outcome == "answered"
    asked = [r for r in provider_sandbox.requests("elevenlabs") if r.path == "/v1/convai/conversations"]
    assert asked[0].query["user_id"] == [str(call.pk)]
    assert OutboxMessage.objects.filter(kind=OUTCOME_KIND).count() == 1
    assert tenant_webhooks_deliver_due() == {"delivered": 1}

    # The webhook shows up after all: stored and processed, nothing announced twice.
    conversation_id = call.conversation_id
    state = provider_sandbox.elevenlabs
    from sandbox.elevenlabs_play import _deliver, _finish

    with state.lock:
        agent_json = state.agents[live_agent.elevenlabs_agent_id]
        target = _finish(state, agent_json, state.conversations[conversation_id], {"analysis": {}})
    assert _deliver(*target)["status"] == 200
    assert InboundWebhook.objects.get(endpoint="elevenlabs-post-call").status == "processed"
    assert TenantWebhookDelivery.objects.filter(event_type="call.analyzed").count() == 1
    assert OutboxMessage.objects.filter(kind=OUTCOME_KIND).count() == 1


def test_an_analysis_that_never_exists_is_given_up_after_a_day(
    provider_sandbox: Any, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    for status in ("initiated", "ringing", "in-progress"):
        callback(provider_sandbox, call, status)
    callback(provider_sandbox, call, "completed", CallDuration="40")
    call.refresh_from_db()
    assert call.analysis_status == "waiting"
    soon = timezone.now() + timedelta(minutes=6)
    assert calls_reconcile_analysis(now=soon) == {"waiting": 1}  # nothing at ElevenLabs yet
    assert calls_reconcile_analysis(now=soon) == {}  # it waits longer before asking again
    tomorrow = timezone.now() + timedelta(days=1, hours=1)
    assert calls_reconcile_analysis(now=tomorrow) == {"missing": 1}
    call.refresh_from_db()
    assert call.analysis_status == "missing"
    assert outcome_message().payload == {"call": str(call.pk)}  # the outcome goes out without a summary
