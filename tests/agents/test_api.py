"""`/api/v1/agents/` and `/api/v1/agent-settings/`: shapes, validation, roles, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from agents import services
from agents.models import Agent, AgentAccountSettings, AgentInboundNumber, ToolInvocation
from agents.tools import Answer
from tests.agents.conftest import connect_calcom, connect_twilio_numbers

URL = "/api/v1/agents/"


def detail(agent: Agent, suffix: str = "") -> str:
    return f"{URL}{agent.pk}/{suffix}"


def fingerprint(agent: Agent) -> tuple[Any, ...]:
    agent = Agent.objects.get(pk=agent.pk)
    return (agent.name, agent.system_prompt, agent.sync_status, agent.remote_revision, agent.updated_at)


# --- reads -------------------------------------------------------------------------------------


def test_it_lists_the_callers_agents_only(
    alice_api: APIClient, charlie_api: APIClient, alice_agent: Agent, charlie_account: Account
) -> None:
    r = alice_api.get(URL)
    assert r.status_code == 200
    [item] = r.json()["results"]
    assert item["id"] == str(alice_agent.pk) and item["sync"]["status"] == "synced"
    assert item["sync"]["workspace"] == "tenant" and item["template"] == "appointment_setter"
    assert charlie_api.get(URL).json()["results"] == []


def test_charlie_gets_404_on_alices_agent_and_its_tool_log(charlie_api: APIClient, alice_agent: Agent) -> None:
    for suffix in ("", "tool-invocations/"):
        r = charlie_api.get(detail(alice_agent, suffix))
        assert r.status_code == 404, suffix
        assert r.json()["error"]["code"] == "not_found"
    missing = charlie_api.get(f"{URL}00000000-0000-0000-0000-000000000000/")
    assert missing.json()["error"]["code"] == r.json()["error"]["code"]


def test_it_shows_the_tool_log_of_an_agent(alice_api: APIClient, alice_agent: Agent, alice_account: Account) -> None:
    session, _token = services.tool_session_open(account=alice_account, agent=alice_agent)
    ToolInvocation.objects.create(
        account=alice_account,
        session=session,
        agent=alice_agent,
        tool="opt_out",
        arguments={"reason": "no"},
        result=Answer("ok", "Understood.").body(),
        status="ok",
        duration_ms=12,
    )
    r = alice_api.get(detail(alice_agent, "tool-invocations/"))
    assert r.status_code == 200
    [entry] = r.json()["results"]
    assert (entry["tool"], entry["status"], entry["duration_ms"]) == ("opt_out", "ok", 12)
    assert entry["result"]["message"] == "Understood."


def test_it_lists_templates_voices_and_variables(
    alice_api: APIClient, alice_key: str, alice_contact: Any, provider_sandbox: Any
) -> None:
    templates = alice_api.get(f"{URL}templates/").json()
    assert {t["slug"] for t in templates} == {"appointment_setter", "lead_qualifier", "reminder_call"}
    assert all(t["languages"] == ["es", "en"] for t in templates)
    voices = alice_api.get(f"{URL}voices/").json()
    assert {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel"}.items() <= voices[0].items()
    names = [v["name"] for v in alice_api.get(f"{URL}variables/").json()]
    assert {"first_name", "company", "account_name", "local_time", "budget"} <= set(names)


def test_voices_answer_503_when_elevenlabs_is_down(alice_api: APIClient, alice_key: str, provider_sandbox: Any) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/v1/voices$", status=503)
    r = alice_api.get(f"{URL}voices/")
    assert r.status_code == 503 and r.json()["error"]["code"] == "provider_unavailable"


# --- create and update -------------------------------------------------------------------------


def test_it_creates_from_a_template_in_spanish(
    alice_api: APIClient, alice_account: Account, alice_key: str, provider_sandbox: Any
) -> None:
    r = alice_api.post(URL, {"template": "lead_qualifier", "language": "es", "name": "Calificador"}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "Calificador" and body["language"] == "es" and body["template"] == "lead_qualifier"
    assert body["first_message"].startswith("Hola {{first_name}}")
    assert body["sync"]["status"] == "synced" and body["sync"]["elevenlabs_agent_id"]
    assert [o["id"] for o in body["data_collection"]][0] == "interested"


def test_it_creates_from_scratch_with_custom_outcomes(
    alice_api: APIClient, alice_key: str, provider_sandbox: Any
) -> None:
    payload = {
        "name": "Custom",
        "system_prompt": "Ask {{first_name}} about their budget of {{budget}}.",
        "data_collection": [{"id": "wants_demo", "type": "boolean", "description": "Asked for a demo"}],
        "evaluation_criteria": [{"id": "short", "name": "Short", "goal": "Under two minutes"}],
        "tools": ["opt_out"],
    }
    r = alice_api.post(URL, payload, format="json")
    assert r.status_code == 400
    assert "{{budget}}" in r.json()["error"]["fields"]["system_prompt"][0]  # no contact has a Budget field yet


def test_it_refuses_unknown_prompt_variables_on_every_text_field(
    alice_api: APIClient, alice_agent: Agent, provider_sandbox: Any
) -> None:
    before = fingerprint(alice_agent)
    r = alice_api.patch(
        detail(alice_agent),
        {
            "system_prompt": "Hi {{nickname}}",
            "first_message": "Yo {{ shoe_size }}",
            "voicemail_message": "{{secret__x}}",
        },
        format="json",
    )
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert "{{nickname}}" in fields["system_prompt"][0] and "{{shoe_size}}" in fields["first_message"][0]
    assert "secret" in fields["voicemail_message"][0]
    assert fingerprint(alice_agent) == before


def test_custom_fields_of_the_accounts_contacts_are_known_variables(
    alice_api: APIClient, alice_agent: Agent, alice_contact: Any, provider_sandbox: Any
) -> None:
    r = alice_api.patch(detail(alice_agent), {"system_prompt": "Budget: {{budget}}."}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["system_prompt"] == "Budget: {{budget}}." and r.json()["sync"]["status"] == "synced"


def test_it_checks_outcomes_criteria_and_tools(alice_api: APIClient, alice_agent: Agent, provider_sandbox: Any) -> None:
    before = fingerprint(alice_agent)
    shapes = alice_api.patch(
        detail(alice_agent),
        {"evaluation_criteria": [{"id": "c", "name": "", "goal": "g"}], "tools": ["launch_rockets"]},
        format="json",
    )
    assert shapes.status_code == 400
    assert set(shapes.json()["error"]["fields"]) == {"evaluation_criteria.0.name", "tools.0"}
    outcomes = [
        {"id": "Bad Id", "type": "boolean", "description": "x"},
        {"id": "ok", "type": "boolean", "description": "y"},
        {"id": "ok", "type": "string", "description": "z"},
    ]
    ids = alice_api.patch(detail(alice_agent), {"data_collection": outcomes}, format="json")
    assert ids.status_code == 400
    messages = ids.json()["error"]["fields"]["data_collection"]
    assert messages[0].startswith("Outcome 1:") and "used twice" in messages[1]
    assert fingerprint(alice_agent) == before


def test_it_checks_numbers_event_types_and_voice_against_the_account(
    alice_api: APIClient, alice_agent: Agent, alice_account: Account, provider_sandbox: Any
) -> None:
    connect_twilio_numbers(alice_account)
    r = alice_api.patch(
        detail(alice_agent),
        {
            "default_from_number": "+19995550000",
            "inbound_numbers": ["+15005550006", "+18885550000"],
            "calcom_event_type_id": 424242,
            "voice_id": "not-a-voice",
        },
        format="json",
    )
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert set(fields) == {"default_from_number", "inbound_numbers", "calcom_event_type_id", "voice_id"}
    assert "+18885550000" in fields["inbound_numbers"][0]


def test_it_sets_the_numbers_the_calls_app_reads(
    alice_api: APIClient, alice_agent: Agent, alice_account: Account, provider_sandbox: Any
) -> None:
    connect_twilio_numbers(alice_account)
    user = connect_calcom(provider_sandbox, alice_account)
    event_type = user["event_types"][0]["id"]
    r = alice_api.patch(
        detail(alice_agent),
        {
            "default_from_number": "+15005550007",
            "inbound_numbers": ["+15005550006"],
            "calcom_event_type_id": event_type,
            "voicemail_message": "Call us back, {{first_name}}.",
            "max_call_seconds": 300,
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    agent = Agent.objects.get(pk=alice_agent.pk)
    assert (agent.default_from_number, agent.calcom_event_type_id, agent.max_call_seconds) == (
        "+15005550007",
        event_type,
        300,
    )
    assert [n.phone_number for n in agent.inbound_numbers.all()] == ["+15005550006"]
    other = services.agent_create_from_template(account=alice_account, template="reminder_call", language="en")
    taken = alice_api.patch(detail(other), {"inbound_numbers": ["+15005550006"]}, format="json")
    assert taken.status_code == 400 and alice_agent.name in taken.json()["error"]["fields"]["inbound_numbers"][0]
    assert AgentInboundNumber.objects.get(phone_number="+15005550006").agent == agent


def test_a_failed_push_answers_200_with_the_reason(
    alice_api: APIClient, alice_agent: Agent, provider_sandbox: Any
) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents/agent_", status=500)
    r = alice_api.patch(detail(alice_agent), {"name": "Kept"}, format="json")
    assert r.status_code == 200
    assert r.json()["name"] == "Kept" and r.json()["sync"]["status"] == "failed" and r.json()["sync"]["error"]
    provider_sandbox.clear_faults()
    retried = alice_api.post(detail(alice_agent, "sync/"))
    assert retried.status_code == 200 and retried.json()["sync"]["status"] == "synced"


def test_drift_is_shown_and_resolved_through_the_api(
    alice_api: APIClient, alice_agent: Agent, provider_sandbox: Any
) -> None:
    provider_sandbox.elevenlabs.edit_agent(alice_agent.elevenlabs_agent_id, name="Their name")
    checked = alice_api.post(detail(alice_agent, "check-drift/")).json()
    assert checked["sync"]["status"] == "drifted" and checked["sync"]["theirs"]["name"] == "Their name"
    taken = alice_api.post(detail(alice_agent, "take-theirs/")).json()
    assert taken["name"] == "Their name" and taken["sync"]["status"] == "synced"
    provider_sandbox.elevenlabs.edit_agent(alice_agent.elevenlabs_agent_id, name="Theirs again")
    alice_api.post(detail(alice_agent, "check-drift/"))
    overwritten = alice_api.post(detail(alice_agent, "overwrite/")).json()
    assert overwritten["sync"]["status"] == "synced"
    assert provider_sandbox.elevenlabs.agents[alice_agent.elevenlabs_agent_id]["name"] == "Their name"


def test_agent_settings_round_trip(alice_api: APIClient, alice_account: Account) -> None:
    assert alice_api.get("/api/v1/agent-settings/").json() == {"no_email_policy": "ask", "placeholder_email": ""}
    r = alice_api.patch("/api/v1/agent-settings/", {"no_email_policy": "placeholder"}, format="json")
    assert r.status_code == 400 and "placeholder_email" in r.json()["error"]["fields"]
    r = alice_api.patch(
        "/api/v1/agent-settings/",
        {"no_email_policy": "placeholder", "placeholder_email": "bookings@alice.example"},
        format="json",
    )
    assert r.status_code == 200
    assert AgentAccountSettings.objects.get(account=alice_account).placeholder_email == "bookings@alice.example"


# --- the role matrix on every changing route ---------------------------------------------------

CHANGES = [
    ("post", "", {"template": "reminder_call", "language": "en"}),
    ("patch", "{id}/", {"name": "Changed"}),
    ("post", "{id}/sync/", None),
    ("post", "{id}/check-drift/", None),
    ("post", "{id}/overwrite/", None),
    ("post", "{id}/take-theirs/", None),
    ("delete", "{id}/", None),
]


@pytest.mark.parametrize(("method", "path", "payload"), CHANGES)
def test_members_cannot_change_agents(
    bob_api: APIClient, alice_agent: Agent, method: str, path: str, payload: Any
) -> None:
    before = (Agent.objects.count(), fingerprint(alice_agent))
    r = getattr(bob_api, method)(URL + path.format(id=alice_agent.pk), payload, format="json")
    assert r.status_code == 403
    assert (Agent.objects.count(), fingerprint(alice_agent)) == before


@pytest.mark.parametrize(("method", "path", "payload"), CHANGES)
def test_another_tenant_gets_404_and_changes_nothing(
    charlie_api: APIClient, alice_agent: Agent, method: str, path: str, payload: Any
) -> None:
    if not path:  # creating is not about alice's agent: charlie creates one of his own
        return
    before = fingerprint(alice_agent)
    r = getattr(charlie_api, method)(URL + path.format(id=alice_agent.pk), payload, format="json")
    assert r.status_code == 404
    assert fingerprint(alice_agent) == before


@pytest.mark.parametrize("client_name", ["alice_api", "dave_api"])
@pytest.mark.parametrize(("method", "path", "payload"), CHANGES)
def test_owners_and_admins_change_agents(
    request: Any, client_name: str, alice_agent: Agent, provider_sandbox: Any, method: str, path: str, payload: Any
) -> None:
    client = request.getfixturevalue(client_name)
    if path == "{id}/take-theirs/":
        provider_sandbox.elevenlabs.edit_agent(alice_agent.elevenlabs_agent_id, name="Theirs")
    r = getattr(client, method)(URL + path.format(id=alice_agent.pk), payload, format="json")
    assert r.status_code in (200, 201, 204), r.content
    if method == "delete":
        assert not Agent.objects.filter(pk=alice_agent.pk).exists()


@pytest.mark.parametrize("client_name", ["alice_api", "dave_api", "bob_api", "charlie_api"])
def test_agent_settings_roles(request: Any, client_name: str, alice_account: Account, charlie_account: Account) -> None:
    client = request.getfixturevalue(client_name)
    r = client.patch(
        "/api/v1/agent-settings/",
        {"no_email_policy": "placeholder", "placeholder_email": "x@example.com"},
        format="json",
    )
    if client_name == "bob_api":
        assert r.status_code == 403 and not AgentAccountSettings.objects.exists()
    else:
        assert r.status_code == 200
        owner = charlie_account if client_name == "charlie_api" else alice_account
        assert AgentAccountSettings.objects.get().account == owner  # charlie only ever reaches his own


def test_the_plan_limits_how_many_agents_an_account_has(
    alice_api: APIClient, alice_account: Account, alice_agent: Agent, provider_sandbox: Any
) -> None:
    Account.objects.filter(pk=alice_account.pk).update(limits={"agents": 1})
    creates = len([r for r in provider_sandbox.requests("elevenlabs") if r.path.endswith("/agents/create")])
    r = alice_api.post(URL, {"template": "lead_qualifier", "language": "en", "name": "Second"}, format="json")
    assert r.status_code == 403, r.content
    assert r.json()["error"]["code"] == "plan_limit"
    assert Agent.objects.filter(account=alice_account).count() == 1
    assert len([r for r in provider_sandbox.requests("elevenlabs") if r.path.endswith("/agents/create")]) == creates
