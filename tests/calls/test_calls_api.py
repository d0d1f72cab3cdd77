"""`/api/v1/calls/`, `/api/v1/call-settings/`, `/api/v1/tenant-webhooks/`: the role matrix, charlie
gets 404 on every route of alice's, filters, idempotent placing, the recording proxy."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from agents.models import Agent
from calls.models import Call, TenantWebhook
from calls.services import call_place
from calls.tenant_webhooks import tenant_webhook_create
from contacts.models import Contact
from contacts.services import dnc_add
from sandbox.base import new_id
from tests.calls.conftest import ANA, callback


def creates(sb: Any) -> int:
    return len([r for r in sb.requests("twilio") if r.method == "POST" and r.path.endswith("/Calls.json")])


def with_recording(sb: Any, call: Call) -> str:
    recording = new_id("RE")
    sb.twilio.recordings[recording] = {"account_sid": call.account.twilio_account_sid, "call_sid": call.twilio_call_sid}
    Call.objects.filter(pk=call.pk).update(recording_sid=recording, status="completed")
    return recording


# --- placing a call ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [("alice_api", 201), ("dave_api", 201), ("bob_api", 403)])
def test_owners_and_admins_place_calls_members_do_not(
    request: Any, provider_sandbox: Any, public_api: None, agent: Agent, ana: Contact, who: str, expected: int
) -> None:
    client: APIClient = request.getfixturevalue(who)
    response = client.post("/api/v1/calls/", {"contact": ana.pk, "agent": str(agent.pk)})
    assert response.status_code == expected, response.content
    assert creates(provider_sandbox) == (1 if expected == 201 else 0)
    if expected == 201:
        body = response.json()
        assert (body["status"], body["to_number"], body["contact"]["name"]) == ("queued", ANA, "Ana López")
        assert "twilio" not in str(body.get("recording_url"))


def test_the_same_idempotency_key_places_one_call(
    provider_sandbox: Any, public_api: None, alice_api: APIClient, agent: Agent, ana: Contact
) -> None:
    payload = {"contact": ana.pk, "agent": str(agent.pk)}
    first = alice_api.post("/api/v1/calls/", payload, HTTP_IDEMPOTENCY_KEY="order-42")
    again = alice_api.post("/api/v1/calls/", payload, HTTP_IDEMPOTENCY_KEY="order-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and creates(provider_sandbox) == 1


def test_refusals_say_why_and_dial_nothing(
    provider_sandbox: Any, public_api: None, alice_api: APIClient, agent: Agent, connected: Account, ana: Contact
) -> None:
    dnc_add(account=connected, phone=ANA, reason="asked")
    response = alice_api.post("/api/v1/calls/", {"contact": ana.pk, "agent": str(agent.pk)})
    assert response.status_code == 409 and response.json()["error"]["code"] == "do_not_call"
    missing = alice_api.post("/api/v1/calls/", {"agent": str(agent.pk)})
    assert missing.status_code == 400 and "contact" in missing.json()["error"]["fields"]
    assert creates(provider_sandbox) == 0 and not Call.objects.exists()


def test_a_suspended_account_cannot_call(public_api: None, alice_api: APIClient, agent: Agent, ana: Contact) -> None:
    Account.objects.filter(pk=agent.account_id).update(status="suspended", status_reason="Unpaid")
    response = alice_api.post("/api/v1/calls/", {"contact": ana.pk, "agent": str(agent.pk)})
    assert response.status_code == 403 and not Call.objects.exists()


def test_charlie_cannot_call_with_alices_contact_or_agent(
    provider_sandbox: Any, public_api: None, charlie_api: APIClient, agent: Agent, ana: Contact
) -> None:
    response = charlie_api.post("/api/v1/calls/", {"contact": ana.pk, "agent": str(agent.pk)})
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"agent"}
    assert creates(provider_sandbox) == 0 and not Call.objects.exists()


# --- reading -----------------------------------------------------------------------------------------


def test_the_list_filters_and_the_detail_shows_the_conversation(
    provider_sandbox: Any, call: Call, alice_api: APIClient, bob_api: APIClient, agent: Agent, connected: Account
) -> None:
    other = Contact.objects.create(account=connected, phone="+14155550124", time_zone="UTC")
    second = call_place(account=connected, contact=other, agent=agent, attempt_key="k2")
    for status in ("initiated", "no-answer"):
        callback(provider_sandbox, second, status)
    assert [c["id"] for c in bob_api.get("/api/v1/calls/").json()["results"]] == [str(second.pk), str(call.pk)]
    by = {
        "outcome=no_answer": [second],
        "status=live": [call],
        "status=ended": [second],
        f"contact={other.pk}": [second],
        f"agent={agent.pk}": [second, call],
        "direction=inbound": [],
        "since=2999-01-01": [],
        "agent=not-a-uuid": [],
    }
    for query, expected in by.items():
        found = [c["id"] for c in alice_api.get(f"/api/v1/calls/?{query}").json()["results"]]
        assert found == [str(c.pk) for c in expected], query
    response = bob_api.get(f"/api/v1/calls/{second.pk}/")
    detail = response.json()
    assert detail["outcome"] == "no_answer" and detail["transcript"] == [] and detail["recording_url"] is None
    # The account's stored Twilio credentials (the values) never reach the response.
    account = Account.objects.get(pk=second.account_id)
    for secret in (account.twilio_auth_token, account.twilio_account_sid):
        assert secret and secret not in response.content.decode()


def test_charlie_gets_404_on_every_route_of_alices(
    provider_sandbox: Any, call: Call, charlie_api: APIClient, alice_account: Account
) -> None:
    with_recording(provider_sandbox, call)
    endpoint, _ = tenant_webhook_create(account=alice_account, url="https://hooks.example.com/x", events=["call.ended"])
    routes = [
        ("get", f"/api/v1/calls/{call.pk}/"),
        ("get", f"/api/v1/calls/{call.pk}/recording/"),
        ("post", f"/api/v1/calls/{call.pk}/hangup/"),
        ("get", f"/api/v1/tenant-webhooks/{endpoint.pk}/"),
        ("patch", f"/api/v1/tenant-webhooks/{endpoint.pk}/"),
        ("delete", f"/api/v1/tenant-webhooks/{endpoint.pk}/"),
        ("post", f"/api/v1/tenant-webhooks/{endpoint.pk}/test/"),
        ("post", f"/api/v1/tenant-webhooks/{endpoint.pk}/roll-secret/"),
        ("get", f"/api/v1/tenant-webhooks/{endpoint.pk}/deliveries/"),
    ]
    for method, url in routes:
        response = getattr(charlie_api, method)(url, {"is_active": False} if method == "patch" else None)
        assert response.status_code == 404, url
    assert charlie_api.get("/api/v1/calls/").json()["results"] == []
    assert charlie_api.get("/api/v1/tenant-webhooks/").json()["results"] == []
    assert not [r for r in provider_sandbox.requests("twilio") if "/Recordings/" in r.path]
    assert TenantWebhook.objects.get().is_active and not endpoint.deliveries.exists()


# --- the recording -----------------------------------------------------------------------------------


def test_the_recording_streams_through_the_platform(
    provider_sandbox: Any, call: Call, bob_api: APIClient, alice_api: APIClient
) -> None:
    recording = with_recording(provider_sandbox, call)
    response = bob_api.get(f"/api/v1/calls/{call.pk}/recording/")
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    assert b"".join(response.streaming_content).endswith(recording.encode())
    assert response["Cache-Control"] == "private, no-store"
    [fetched] = [r for r in provider_sandbox.requests("twilio") if "/Recordings/" in r.path]
    assert fetched.identity == call.account.twilio_account_sid  # with the tenant's own credentials
    assert alice_api.get(f"/api/v1/calls/{call.pk}/").json()["recording_url"] == f"/api/v1/calls/{call.pk}/recording/"


def test_a_call_without_a_recording_answers_404(call: Call, alice_api: APIClient) -> None:
    assert alice_api.get(f"/api/v1/calls/{call.pk}/recording/").status_code == 404


# --- hanging up, settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [("alice_api", 200), ("dave_api", 200), ("bob_api", 403)])
def test_hanging_up_a_live_call(request: Any, provider_sandbox: Any, call: Call, who: str, expected: int) -> None:
    response = request.getfixturevalue(who).post(f"/api/v1/calls/{call.pk}/hangup/")
    assert response.status_code == expected
    hung = [r for r in provider_sandbox.requests("twilio") if (r.body or {}).get("Status") == "completed"]
    assert len(hung) == (1 if expected == 200 else 0)


def test_an_ended_call_cannot_be_hung_up(provider_sandbox: Any, call: Call, alice_api: APIClient) -> None:
    callback(provider_sandbox, call, "busy")
    assert alice_api.post(f"/api/v1/calls/{call.pk}/hangup/").json()["error"]["code"] == "not_live"


@pytest.mark.parametrize(("who", "expected"), [("alice_api", 200), ("dave_api", 200), ("bob_api", 403)])
def test_call_settings_role_matrix(request: Any, alice_account: Account, who: str, expected: int) -> None:
    client = request.getfixturevalue(who)
    assert client.get("/api/v1/call-settings/").json() == {
        "machine_detection": True,
        "record_calls": False,
        "ring_timeout": 30,
    }
    response = client.patch("/api/v1/call-settings/", {"record_calls": True, "ring_timeout": 45})
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["record_calls"] is True
        assert client.patch("/api/v1/call-settings/", {"ring_timeout": 5}).status_code == 400


# --- tenant webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [("alice_api", 201), ("dave_api", 201), ("bob_api", 403)])
def test_tenant_webhook_role_matrix(request: Any, alice_account: Account, who: str, expected: int) -> None:
    client = request.getfixturevalue(who)
    created = client.post(
        "/api/v1/tenant-webhooks/", {"url": "https://hooks.example.com/prix", "events": ["call.ended"]}
    )
    assert created.status_code == expected
    if expected != 201:
        return
    secret = created.json()["secret"]
    endpoint = created.json()["id"]
    assert secret.startswith("whsec_")
    assert secret not in str(client.get("/api/v1/tenant-webhooks/").content)
    assert secret not in str(client.get(f"/api/v1/tenant-webhooks/{endpoint}/").content)
    assert client.patch(f"/api/v1/tenant-webhooks/{endpoint}/", {"events": ["call.analyzed"]}).status_code == 200
    refused = client.patch(f"/api/v1/tenant-webhooks/{endpoint}/", {"url": "https://10.0.0.1/x"})
    assert refused.status_code == 400 and "url" in refused.json()["error"]["fields"]
    rolled = client.post(f"/api/v1/tenant-webhooks/{endpoint}/roll-secret/").json()["secret"]
    assert rolled != secret
    assert client.delete(f"/api/v1/tenant-webhooks/{endpoint}/").status_code == 204


def test_members_read_webhooks_but_cannot_change_them(
    alice_account: Account, bob_api: APIClient, alice_api: APIClient
) -> None:
    endpoint = alice_api.post(
        "/api/v1/tenant-webhooks/", {"url": "https://hooks.example.com/prix", "events": ["call.ended"]}
    ).json()["id"]
    assert bob_api.get(f"/api/v1/tenant-webhooks/{endpoint}/").status_code == 200
    assert bob_api.get(f"/api/v1/tenant-webhooks/{endpoint}/deliveries/").status_code == 200
    for method, suffix in (("patch", ""), ("delete", ""), ("post", "test/"), ("post", "roll-secret/")):
        assert getattr(bob_api, method)(f"/api/v1/tenant-webhooks/{endpoint}/{suffix}").status_code == 403
