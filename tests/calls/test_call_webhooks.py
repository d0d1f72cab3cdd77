"""Twilio's and ElevenLabs' webhooks of a call: signatures, repeats, order, isolation.

Deliveries are built by the sandbox (signed the way the provider signs) and posted with Django's
test client. `API_URL` is a public https URL while requests arrive on http://testserver: the
signature must hold against the public URL, as behind a TLS-terminating proxy.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Account
from agents.models import Agent
from billing.models import UsageRecord
from calls.models import Call
from calls.services import call_place
from contacts.models import Contact
from sandbox.elevenlabs import elevenlabs_signature
from sandbox.twilio import twilio_signature
from tests.calls.conftest import ANA, PUBLIC, callback, connect_twilio, post_form
from webhooks.models import InboundWebhook


def snapshot(call: Call) -> tuple[Any, ...]:
    call.refresh_from_db()
    return call.status, call.status_sequence, call.answered_at, call.ended_at, len(call.timeline), call.outcome


# --- Twilio status callbacks -------------------------------------------------------------------------


def test_callbacks_move_the_call_forward_and_a_repeat_changes_nothing(provider_sandbox: Any, call: Call) -> None:
    for status in ("initiated", "ringing", "in-progress"):
        assert callback(provider_sandbox, call, status).status_code == 200
    url, form, headers = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "completed", CallDuration="61")
    assert post_form(url, form, headers).status_code == 200
    before = snapshot(call)
    assert (call.status, call.duration_seconds, call.outcome) == ("completed", 61, "answered")

    for _repeat in range(3):  # Twilio retries the same delivery
        assert post_form(url, form, headers).status_code == 200
    assert snapshot(call) == before
    assert UsageRecord.objects.get(call_id=call.pk).minutes == 2  # metered once
    record = InboundWebhook.objects.get(event_id__startswith="status:", event_id__endswith=":completed")
    assert (record.deliveries, record.status) == (4, "processed")


def test_callbacks_out_of_order_never_move_the_call_backwards(provider_sandbox: Any, call: Call) -> None:
    sb = provider_sandbox
    built = [sb.twilio.status_callback(call.twilio_call_sid, s) for s in ("initiated", "ringing", "in-progress")]
    done = sb.twilio.status_callback(call.twilio_call_sid, "completed", CallDuration="30")
    assert post_form(*done).status_code == 200
    for late in reversed(built):  # ringing and in-progress arrive after completed
        assert post_form(*late).status_code == 200
    call.refresh_from_db()
    assert (call.status, call.status_sequence, call.duration_seconds) == ("completed", 3, 30)
    assert [step["status"] for step in call.timeline] == ["pending", "queued", "completed"]
    assert call.answered_at is not None  # completed means it was answered


def test_a_late_lower_sequence_does_not_undo_a_newer_one(provider_sandbox: Any, call: Call) -> None:
    initiated = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "initiated")
    ringing = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "ringing")
    post_form(*ringing)
    post_form(*initiated)
    call.refresh_from_db()
    assert (call.status, call.status_sequence) == ("ringing", 1)


# --- Twilio signatures ----------------------------------------------------------------------------


def _other_tenants_token(sb: Any, charlie_account: Account) -> str:
    return connect_twilio(sb, charlie_account, numbers=("+15005550009",))["auth_token"]


@pytest.mark.parametrize("case", ["missing", "forged", "tampered", "other_tenant", "another_url", "forwarded_host"])
def test_a_bad_twilio_signature_is_refused_and_changes_nothing(
    provider_sandbox: Any, call: Call, charlie_account: Account, case: str
) -> None:
    url, form, headers = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "completed", CallDuration="9")
    token = provider_sandbox.twilio.accounts[call.account.twilio_account_sid]["auth_token"]
    extra: dict[str, str] = {}
    if case == "missing":
        headers = {}
    elif case == "forged":
        headers = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    elif case == "tampered":
        form = {**form, "CallDuration": "3600"}
    elif case == "other_tenant":
        theirs = _other_tenants_token(provider_sandbox, charlie_account)
        headers = {"X-Twilio-Signature": twilio_signature(theirs, url, form)}
    elif case == "another_url":  # signed for the URL the request claims, not the public one
        headers = {"X-Twilio-Signature": twilio_signature(token, url.replace(PUBLIC, "http://testserver"), form)}
    elif case == "forwarded_host":  # a client steering the validated URL through X-Forwarded-*
        evil = url.replace(PUBLIC, "https://evil.example")
        headers = {"X-Twilio-Signature": twilio_signature(token, evil, form)}
        extra = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    before = snapshot(call)
    response = post_form(url, form, {**headers, **extra})
    assert response.status_code == 403 and response.json()["error"]["code"] == "invalid_signature"
    assert snapshot(call) == before
    assert not UsageRecord.objects.exists()
    assert list(InboundWebhook.objects.values_list("status", flat=True)) == ["rejected"]


def test_an_unknown_call_is_refused(provider_sandbox: Any, call: Call) -> None:
    url, form, headers = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "completed")
    response = post_form(url.replace(str(call.pk), "00000000-0000-4000-8000-000000000000"), form, headers)
    assert response.status_code == 403


def test_a_callback_naming_another_calls_sid_changes_neither(
    provider_sandbox: Any, call: Call, agent: Agent, connected: Account
) -> None:
    bob = Contact.objects.create(account=connected, phone="+14155550124", time_zone="UTC")
    other = call_place(account=connected, contact=bob, agent=agent, attempt_key="k2")
    url, form, headers = provider_sandbox.twilio.status_callback(other.twilio_call_sid, "completed")
    signed_for_first = url.replace(str(other.pk), str(call.pk))  # the right token, the wrong call's URL
    token = provider_sandbox.twilio.accounts[connected.twilio_account_sid]["auth_token"]
    before = (snapshot(call), snapshot(other))
    signature = twilio_signature(token, signed_for_first, form)
    response = post_form(signed_for_first, form, {"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert (snapshot(call), snapshot(other)) == before
    assert InboundWebhook.objects.get().status == "ignored"


def test_a_token_that_cannot_be_decrypted_answers_503_and_stores_nothing(
    provider_sandbox: Any, call: Call, charlie_account: Account
) -> None:
    _other_tenants_token(provider_sandbox, charlie_account)
    with connection.cursor() as cursor:  # charlie's ciphertext copied into alice's row: bound, refused
        cursor.execute(
            "UPDATE accounts SET twilio_auth_token = "
            "(SELECT twilio_auth_token FROM accounts WHERE id = %s) WHERE id = %s",
            [charlie_account.pk, call.account_id],
        )
    url, form, headers = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "completed")
    response = post_form(url, form, headers)
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "Traceback" not in response.content.decode()
    assert not InboundWebhook.objects.exists()


def test_an_oversized_body_is_413(provider_sandbox: Any, call: Call) -> None:
    url, form, headers = provider_sandbox.twilio.status_callback(call.twilio_call_sid, "completed")
    assert post_form(url, {**form, "Junk": "x" * 70_000}, headers).status_code == 413


# --- the voice webhook ----------------------------------------------------------------------------


def test_a_repeated_voice_request_gets_the_same_twiml_and_registers_once(provider_sandbox: Any, call: Call) -> None:
    url, form, headers = provider_sandbox.twilio.voice_request(call.twilio_call_sid, "human")
    first, second = post_form(url, form, headers), post_form(url, form, headers)
    assert first.status_code == second.status_code == 200
    assert first["Content-Type"].startswith("text/xml") and b"<Connect><Stream" in first.content
    assert first.content == second.content
    registered = [r for r in provider_sandbox.requests("elevenlabs") if r.path.endswith("/register-call")]
    assert len(registered) == 1
    body = registered[0].body
    variables = body["conversation_initiation_client_data"]["dynamic_variables"]
    assert body["conversation_initiation_client_data"]["user_id"] == variables["prix_call_id"] == str(call.pk)
    assert variables["first_name"] == "Ana" and variables["secret__prix_tool_token"].startswith("pxt_")
    assert (body["from_number"], body["to_number"], body["direction"]) == ("+15005550006", ANA, "outbound")
    call.refresh_from_db()
    assert call.status == "in-progress" and call.tool_session is not None


def test_when_elevenlabs_is_down_the_caller_hears_an_apology(provider_sandbox: Any, call: Call) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/register-call$", status=500)
    url, form, headers = provider_sandbox.twilio.voice_request(call.twilio_call_sid, "human")
    response = post_form(url, form, headers)
    assert response.status_code == 200 and b"<Say" in response.content and b"<Hangup/>" in response.content
    call.refresh_from_db()
    assert call.error_code == "agent_unavailable" and call.tool_session is None
    assert len([r for r in provider_sandbox.requests("elevenlabs") if r.path.endswith("/register-call")]) == 1


# --- ElevenLabs' post-call webhook ---------------------------------------------------------------


def post_call(agent: Agent, call: Call, conversation: str = "conv_1a2b3c4d5e6f708192a3b4c5", **changes: Any) -> bytes:
    data = {
        "conversation_id": conversation,
        "agent_id": agent.elevenlabs_agent_id,
        "status": "done",
        "user_id": str(call.pk),
        "transcript": [
            {"role": "agent", "message": "Hi Ana!", "time_in_call_secs": 0},
            {"role": "user", "message": "Hello.", "time_in_call_secs": 2},
        ],
        "metadata": {"call_duration_secs": 20, "phone_call": {"type": "twilio", "call_sid": call.twilio_call_sid}},
        "analysis": {
            "call_successful": "success",
            "transcript_summary": "Ana said hello.",
            "data_collection_results": {"interested": {"data_collection_id": "interested", "value": True}},
            "evaluation_criteria_results": {"greeted": {"criteria_id": "greeted", "result": "success"}},
        },
        "conversation_initiation_client_data": {"user_id": str(call.pk), "dynamic_variables": {}},
        **changes,
    }
    return json.dumps({"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": data}).encode()


def webhook_path(agent: Agent) -> str:
    return f"/webhooks/elevenlabs/{agent.workspace.public_id}/"


def send(agent: Agent, body: bytes, signature: str | None) -> Any:
    headers = {"HTTP_ELEVENLABS_SIGNATURE": signature} if signature is not None else {}
    return Client().post(webhook_path(agent), data=body, content_type="application/json", **headers)


def test_the_post_call_webhook_stores_the_analysis_once(
    agent: Agent, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    secret = agent.workspace.webhook_secret
    body = post_call(agent, call)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert send(agent, body, elevenlabs_signature(secret, body.decode())).status_code == 200
    call.refresh_from_db()
    assert call.analysis_status == "received" and call.summary == "Ana said hello."
    assert call.outcomes == {"interested": {"value": True}} and call.evaluation == {"greeted": {"result": "success"}}
    assert [t["message"] for t in call.transcript] == ["Hi Ana!", "Hello."]
    assert len(callbacks) >= 1
    again = send(agent, body, elevenlabs_signature(secret, body.decode()))
    assert again.status_code == 200 and InboundWebhook.objects.get().deliveries == 2


@pytest.mark.parametrize("case", ["missing", "expired", "future", "tampered", "other_workspace", "garbage"])
def test_a_bad_elevenlabs_signature_is_refused_and_changes_nothing(
    provider_sandbox: Any, agent: Agent, call: Call, charlie_account: Account, case: str
) -> None:
    from tests.agents.conftest import connect_elevenlabs

    secret = agent.workspace.webhook_secret
    body = post_call(agent, call)
    now = int(time.time())
    signature: str | None = elevenlabs_signature(secret, body.decode(), now)
    if case == "missing":
        signature = None
    elif case == "expired":
        signature = elevenlabs_signature(secret, body.decode(), now - 31 * 60)
    elif case == "future":
        signature = elevenlabs_signature(secret, body.decode(), now + 31 * 60)
    elif case == "tampered":
        body = body.replace(b"Ana said hello.", b"Ana bought it all")
    elif case == "other_workspace":
        from agents.services import agent_create_from_template

        connect_elevenlabs(provider_sandbox, charlie_account)
        theirs = agent_create_from_template(account=charlie_account, template="lead_qualifier", language="en")
        signature = elevenlabs_signature(theirs.workspace.webhook_secret, body.decode(), now)
    elif case == "garbage":
        signature = "t=abc,v0=zz"
    response = send(agent, body, signature)
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.analysis_status == "none" and not call.transcript
    assert list(InboundWebhook.objects.values_list("status", flat=True)) == ["rejected"]


def test_a_conversation_naming_another_accounts_call_changes_nothing(
    agent: Agent, call: Call, charlie_account: Account
) -> None:
    theirs = Call.objects.create(
        account=charlie_account, attempt_key="c1", to_number="+14155550999", from_number="+15005550009"
    )
    body = post_call(agent, theirs, conversation_initiation_client_data={"user_id": str(theirs.pk)})
    response = send(agent, body, elevenlabs_signature(agent.workspace.webhook_secret, body.decode()))
    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.analysis_status == "none" and not theirs.transcript
    assert InboundWebhook.objects.get().status == "ignored"


def test_an_operator_replay_changes_nothing_twice(provider_sandbox: Any, call: Call) -> None:
    from django.core.management import call_command

    callback(provider_sandbox, call, "completed", CallDuration="30")
    before = snapshot(call)
    record = InboundWebhook.objects.get()
    call_command("replay_webhook", str(record.pk))
    record.refresh_from_db()
    assert record.status == "processed" and snapshot(call) == before
    assert UsageRecord.objects.filter(call_id=call.pk).count() == 1


@pytest.mark.parametrize("case", ["expired", "unparseable"])
def test_a_refused_post_call_body_is_kept_without_the_tool_token(
    provider_sandbox: Any, agent: Agent, call: Call, case: str
) -> None:
    """Refused bodies are kept for the admin too: the dead tool token is blanked there as well."""
    token = "pxt_" + "t" * 40
    variables = {"first_name": "Ana", "secret__prix_tool_token": token}
    body = post_call(agent, call, conversation_initiation_client_data={"dynamic_variables": variables})
    now = int(time.time())
    secret = agent.workspace.webhook_secret
    if case == "expired":  # refused before parsing (the signature's time is too old)
        response = send(agent, body, elevenlabs_signature(secret, body.decode(), now - 31 * 60))
        assert response.status_code == 403
    else:  # signed, but not a post-call event we can read
        envelope = json.loads(body)
        envelope["data"].pop("conversation_id")
        body = json.dumps(envelope).encode()
        response = send(agent, body, elevenlabs_signature(secret, body.decode(), now))
        assert response.status_code == 400
    [kept] = InboundWebhook.objects.all()
    assert kept.status == "rejected" and token not in kept.body and "[removed]" in kept.body
