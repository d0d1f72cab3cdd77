"""`/app/agents/`: list, create from a template, the editor, drift, delete, tool log (plain HTML forms)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, User
from agents import services
from agents.models import Agent, AgentAccountSettings, ToolInvocation
from tests.agents.conftest import connect_twilio_numbers, web_client

LIST = "/app/agents/"


def edit_url(agent: Agent, suffix: str = "") -> str:
    return f"{LIST}{agent.pk}/{suffix}"


@pytest.fixture
def alice_web(alice: User) -> Client:
    return web_client(alice)


def form_data(agent: Agent, **changes: Any) -> dict[str, Any]:
    """The edit form as the browser would post it, with `changes` applied."""
    data: dict[str, Any] = {name: getattr(agent, name) for name in services.EDITABLE if name not in ("tools",)}
    data["calcom_event_type_id"] = data["calcom_event_type_id"] or ""
    data["tools"] = agent.tools
    data["inbound_numbers"] = []
    for prefix, rows, keys in (
        ("outcomes", agent.data_collection, ("id", "type", "description")),
        ("criteria", agent.evaluation_criteria, ("id", "name", "goal")),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = len(rows) + 1
        data[f"{prefix}-INITIAL_FORMS"] = len(rows)
        for n, row in enumerate(rows):
            for key in keys:
                data[f"{prefix}-{n}-{key}"] = row[key]
    data.update(changes)
    return data


def test_it_lists_agents_and_offers_templates(alice_web: Client, alice_agent: Agent) -> None:
    html = alice_web.get(LIST).content.decode()
    assert alice_agent.name in html and 'href="/app/agents/"' in html and 'aria-current="page"' in html
    assert "In sync" in html
    for title in ("Appointment setter", "Lead qualifier", "Reminder call"):
        assert title in html
    assert 'action="/app/agents/new/"' in html


def test_it_creates_an_agent_from_a_template(alice_web: Client, alice_account: Account, alice_key: str) -> None:
    r = alice_web.post(f"{LIST}new/", {"template": "reminder_call", "language": "es", "name": ""})
    agent = Agent.objects.get(account=alice_account)
    assert r.status_code == 302 and r["Location"] == edit_url(agent)
    assert agent.name == "Llamada recordatorio" and agent.sync_status == Agent.SyncStatus.SYNCED
    html = alice_web.get(r["Location"]).content.decode()
    assert "Agent created. It is live at ElevenLabs." in html


def test_the_editor_shows_variables_voices_and_the_sync_state(
    alice_web: Client, alice_agent: Agent, alice_contact: Any
) -> None:
    html = alice_web.get(edit_url(alice_agent)).content.decode()
    assert 'data-insert="{{first_name}}"' in html and 'data-insert="{{budget}}"' in html
    assert '<option value="21m00Tcm4TlvDq8ikWAM" selected>Rachel (premade)</option>' in html
    assert alice_agent.elevenlabs_agent_id in html and "Your ElevenLabs account" in html
    assert 'name="system_prompt"' in html and "js/agents.js" in html


def test_it_saves_an_edit_and_pushes_it(alice_web: Client, alice_agent: Agent, provider_sandbox: Any) -> None:
    data = form_data(
        alice_agent,
        name="Edited in the dashboard",
        **{"outcomes-4-id": "wants_demo", "outcomes-4-type": "boolean", "outcomes-4-description": "Asked for a demo"},
    )
    r = alice_web.post(edit_url(alice_agent), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    agent = Agent.objects.get(pk=alice_agent.pk)
    assert agent.name == "Edited in the dashboard" and agent.sync_status == Agent.SyncStatus.SYNCED
    assert [o["id"] for o in agent.data_collection][-1] == "wants_demo"
    theirs = provider_sandbox.elevenlabs.agents[agent.elevenlabs_agent_id]
    assert (
        theirs["name"] == "Edited in the dashboard" and "wants_demo" in theirs["platform_settings"]["data_collection"]
    )


def test_an_unknown_variable_is_an_error_on_the_field(alice_web: Client, alice_agent: Agent) -> None:
    r = alice_web.post(edit_url(alice_agent), form_data(alice_agent, system_prompt="Hello {{favourite_food}}"))
    assert r.status_code == 400
    html = r.content.decode()
    field = html[html.index('name="system_prompt"') - 600 : html.index('name="system_prompt"') + 3000]
    assert "Unknown variable {{favourite_food}}" in field
    assert Agent.objects.get(pk=alice_agent.pk).system_prompt == alice_agent.system_prompt


def test_a_failed_push_shows_the_error_and_a_retry(
    alice_web: Client, alice_agent: Agent, provider_sandbox: Any
) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents/agent_", status=500)
    r = alice_web.post(edit_url(alice_agent), form_data(alice_agent, name="Kept locally"), follow=True)
    html = r.content.decode()
    assert "It could not be pushed to ElevenLabs" in html and "Retry the push" in html
    assert Agent.objects.get(pk=alice_agent.pk).name == "Kept locally"
    provider_sandbox.clear_faults()
    html = alice_web.post(edit_url(alice_agent, "sync/"), follow=True).content.decode()
    assert "Pushed again. It is live at ElevenLabs." in html


def test_the_drift_banner_offers_take_theirs_and_overwrite(
    alice_web: Client, alice_agent: Agent, provider_sandbox: Any
) -> None:
    provider_sandbox.elevenlabs.edit_agent(alice_agent.elevenlabs_agent_id, name="Their name")
    html = alice_web.post(edit_url(alice_agent, "check/"), follow=True).content.decode()
    assert "This agent was changed at ElevenLabs." in html and "Their name" in html
    assert f'action="{edit_url(alice_agent, "take-theirs/")}"' in html
    assert f'action="{edit_url(alice_agent, "overwrite/")}"' in html
    html = alice_web.post(edit_url(alice_agent, "take-theirs/"), follow=True).content.decode()
    assert "Kept the ElevenLabs version." in html and Agent.objects.get(pk=alice_agent.pk).name == "Their name"
    provider_sandbox.elevenlabs.edit_agent(alice_agent.elevenlabs_agent_id, name="Again")
    alice_web.post(edit_url(alice_agent, "check/"))
    html = alice_web.post(edit_url(alice_agent, "overwrite/"), follow=True).content.decode()
    assert "Overwrote ElevenLabs." in html
    assert provider_sandbox.elevenlabs.agents[alice_agent.elevenlabs_agent_id]["name"] == "Their name"


def test_it_asks_before_deleting(alice_web: Client, alice_agent: Agent, provider_sandbox: Any) -> None:
    page = alice_web.get(edit_url(alice_agent, "delete/")).content.decode()
    assert "Delete the agent “" in page and 'method="post"' in page
    assert Agent.objects.filter(pk=alice_agent.pk).exists()
    r = alice_web.post(edit_url(alice_agent, "delete/"))
    assert r.status_code == 302 and r["Location"] == LIST
    assert not Agent.objects.filter(pk=alice_agent.pk).exists()
    assert alice_agent.elevenlabs_agent_id not in provider_sandbox.elevenlabs.agents


def test_the_tool_log_lists_invocations(alice_web: Client, alice_agent: Agent, alice_account: Account) -> None:
    session, _token = services.tool_session_open(account=alice_account, agent=alice_agent)
    ToolInvocation.objects.create(
        account=alice_account,
        session=session,
        agent=alice_agent,
        tool="add_note",
        arguments={"note": "Wants a call on Friday"},
        result={"status": "ok", "message": "I've noted that for the team."},
        status="ok",
        duration_ms=7,
    )
    html = alice_web.get(edit_url(alice_agent, "tools/")).content.decode()
    assert "Wants a call on Friday" in html and "I&#x27;ve noted that for the team." in html and "7 ms" in html


def test_the_editor_offers_the_accounts_numbers(alice_web: Client, alice_agent: Agent, alice_account: Account) -> None:
    connect_twilio_numbers(alice_account)
    r = alice_web.post(
        edit_url(alice_agent),
        form_data(alice_agent, default_from_number="+15005550006", inbound_numbers=["+15005550007"]),
    )
    assert r.status_code == 302
    agent = Agent.objects.get(pk=alice_agent.pk)
    assert agent.default_from_number == "+15005550006"
    assert [n.phone_number for n in agent.inbound_numbers.all()] == ["+15005550007"]


def test_booking_settings_are_saved(alice_web: Client, alice_account: Account) -> None:
    r = alice_web.post(f"{LIST}settings/", {"no_email_policy": "placeholder", "placeholder_email": ""}, follow=True)
    assert "Enter the address to book with" in r.content.decode()
    alice_web.post(f"{LIST}settings/", {"no_email_policy": "placeholder", "placeholder_email": "b@alice.example"})
    assert AgentAccountSettings.objects.get(account=alice_account).placeholder_email == "b@alice.example"


def test_forms_need_a_csrf_token(alice: User, alice_agent: Agent) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(edit_url(alice_agent, "delete/")).status_code == 403
    assert Agent.objects.filter(pk=alice_agent.pk).exists()


# --- roles and tenants -----------------------------------------------------------------------

POSTS = ["", "sync/", "check/", "take-theirs/", "overwrite/", "delete/"]


def test_members_read_but_cannot_change(bob: User, alice_agent: Agent, provider_sandbox: Any) -> None:
    web = web_client(bob)
    html = web.get(edit_url(alice_agent)).content.decode()
    assert "Save and push to ElevenLabs" not in html and 'disabled id="id_system_prompt"' in html
    assert "Create from template" not in web.get(LIST).content.decode()
    before = Agent.objects.get(pk=alice_agent.pk).updated_at
    for suffix in POSTS:
        r = web.post(edit_url(alice_agent, suffix), form_data(alice_agent, name="Bob was here"))
        assert r.status_code == 403, suffix
    assert web.post(f"{LIST}new/", {"template": "reminder_call", "language": "en"}).status_code == 403
    assert web.post(f"{LIST}settings/", {"no_email_policy": "ask"}).status_code == 403
    assert Agent.objects.get(pk=alice_agent.pk).updated_at == before and Agent.objects.count() == 1


def test_admins_change_agents(dave: User, alice_agent: Agent, provider_sandbox: Any) -> None:
    web = web_client(dave)
    assert web.post(edit_url(alice_agent), form_data(alice_agent, name="Dave's edit")).status_code == 302
    assert Agent.objects.get(pk=alice_agent.pk).name == "Dave's edit"
    assert web.post(edit_url(alice_agent, "delete/")).status_code == 302
    assert not Agent.objects.filter(pk=alice_agent.pk).exists()


def test_charlie_gets_404_on_every_page_of_alices_agent(charlie: User, alice_agent: Agent) -> None:
    web = web_client(charlie)
    before = Agent.objects.get(pk=alice_agent.pk).updated_at
    for suffix in ["", "tools/", "delete/"]:
        assert web.get(edit_url(alice_agent, suffix)).status_code == 404, suffix
    for suffix in POSTS:
        assert web.post(edit_url(alice_agent, suffix), form_data(alice_agent, name="x")).status_code == 404, suffix
    assert str(alice_agent.pk) not in web.get(LIST).content.decode()
    assert Agent.objects.get(pk=alice_agent.pk).updated_at == before
