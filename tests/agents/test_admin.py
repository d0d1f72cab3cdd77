"""The operator's admin for agents: read-mostly pages, the re-sync action, masked webhook secrets."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, User
from agents import services
from agents.models import Agent, ElevenLabsWorkspace, ToolSession


@pytest.fixture
def operator_client(db: None) -> Client:
    operator = User.objects.create_superuser("ops@prixagent.test", "operator pass phrase 2024")
    client = Client()
    client.force_login(operator)
    return client


def test_the_agent_pages_render_without_secrets(
    operator_client: Client, alice_agent: Agent, alice_account: Account
) -> None:
    workspace = ElevenLabsWorkspace.objects.get()
    _session, token = services.tool_session_open(account=alice_account, agent=alice_agent)
    session = ToolSession.objects.get()
    pages = [
        "/admin/agents/agent/",
        f"/admin/agents/agent/{alice_agent.pk}/change/",
        "/admin/agents/elevenlabsworkspace/",
        f"/admin/agents/elevenlabsworkspace/{workspace.pk}/change/",
        "/admin/agents/toolsession/",
        f"/admin/agents/toolsession/{session.pk}/change/",
        "/admin/agents/toolinvocation/",
        "/admin/agents/booking/",
        "/admin/agents/agent/?sync_status__exact=synced&q=alice",
    ]
    secret = workspace.webhook_secret
    for page in pages:
        r = operator_client.get(page)
        assert r.status_code == 200, page
        html = r.content.decode()
        assert secret not in html and token not in html and session.token_hash not in html, page
    html = operator_client.get(f"/admin/agents/elevenlabsworkspace/{workspace.pk}/change/").content.decode()
    assert "••••" + secret[-4:] in html
    assert operator_client.get("/admin/agents/agent/add/").status_code == 403


def test_the_resync_action_pushes_agents(operator_client: Client, alice_agent: Agent, provider_sandbox: Any) -> None:
    provider_sandbox.elevenlabs.edit_agent(alice_agent.elevenlabs_agent_id, name="Changed at ElevenLabs")
    r = operator_client.post(
        "/admin/agents/agent/", {"action": "resync", "_selected_action": [str(alice_agent.pk)]}, follow=True
    )
    assert r.status_code == 200 and "pushed" in r.content.decode()
    assert provider_sandbox.elevenlabs.agents[alice_agent.elevenlabs_agent_id]["name"] == alice_agent.name
    assert Agent.objects.get(pk=alice_agent.pk).sync_status == Agent.SyncStatus.SYNCED


def test_tenant_users_cannot_reach_the_agents_admin(alice: User, alice_agent: Agent) -> None:
    web = Client()
    web.force_login(alice)
    r = web.get("/admin/agents/agent/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
