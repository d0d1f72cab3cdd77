"""Agents pushed to ElevenLabs (the sandbox) with the official SDK: create, PATCH, delete, drift,
workspaces, keys. Every assertion about ElevenLabs reads the sandbox's own state."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection

from accounts.models import Account
from agents import services, sync
from agents.models import Agent, ElevenLabsWorkspace, Tool
from integrations.models import IntegrationStatus
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_deliver_due
from tests.agents.conftest import connect_elevenlabs


def remote(sb: Any, agent: Agent) -> dict[str, Any]:
    return sb.elevenlabs.agents[agent.elevenlabs_agent_id]


def agents_in(sb: Any, key: str) -> list[dict[str, Any]]:
    workspace = sb.elevenlabs.workspace_of(key)
    return [a for a in sb.elevenlabs.agents.values() if a["workspace"] == workspace]


def calls(sb: Any, method: str, path_part: str) -> list[Any]:
    return [r for r in sb.requests("elevenlabs") if r.method == method and path_part in r.path]


# --- create, update, delete ----------------------------------------------------------------


def test_it_creates_the_agent_with_the_tenant_key(
    provider_sandbox: Any, alice_account: Account, alice_key: str
) -> None:
    agent = services.agent_create_from_template(account=alice_account, template="appointment_setter", language="es")
    assert agent.sync_status == Agent.SyncStatus.SYNCED and agent.sync_error == ""
    [theirs] = agents_in(provider_sandbox, alice_key)
    assert theirs["agent_id"] == agent.elevenlabs_agent_id
    assert agent.remote_revision == theirs["versions"][-1]["id"]
    config = theirs["conversation_config"]
    assert config["agent"]["language"] == "es" and config["agent"]["prompt"]["prompt"] == agent.system_prompt
    assert config["tts"]["agent_output_audio_format"] == "ulaw_8000"
    assert config["asr"]["user_input_audio_format"] == "ulaw_8000"
    assert config["conversation"]["max_duration_seconds"] == agent.max_call_seconds
    placeholders = config["agent"]["dynamic_variables"]["dynamic_variable_placeholders"]
    assert placeholders["first_name"] == "Alex" and placeholders["account_name"] == "Alice Co"
    settings = theirs["platform_settings"]
    assert settings["overrides"]["conversation_config_override"]["agent"]["prompt"]["prompt"] is True
    assert settings["data_collection"]["appointment_booked"]["type"] == "boolean"
    assert [c["id"] for c in settings["evaluation"]["criteria"]] == ["polite_and_clear", "meeting_offered"]
    workspace = agent.workspace
    assert settings["workspace_overrides"]["webhooks"]["post_call_webhook_id"] == workspace.webhook_id
    assert workspace.account == alice_account and not workspace.is_platform
    assert f"prix-agent-{agent.pk}" in theirs["tags"] and f"prix-account-{alice_account.pk}" in theirs["tags"]
    # Tools: referenced by id, the ones the template enables, each created once in the workspace.
    tool_names = {
        provider_sandbox.elevenlabs.tools[t]["tool_config"]["name"] for t in config["agent"]["prompt"]["tool_ids"]
    }
    assert tool_names == set(agent.tools)
    assert all(r.identity == alice_key for r in provider_sandbox.requests("elevenlabs"))


def test_it_patches_on_save_and_never_creates_a_second_agent(
    provider_sandbox: Any, alice_agent: Agent, alice_key: str
) -> None:
    first_id = alice_agent.elevenlabs_agent_id
    agent = services.agent_update(agent=alice_agent, data={"system_prompt": "New instructions for {{first_name}}."})
    agent = services.agent_update(agent=agent, data={"temperature": 0.2, "name": "Renamed"})
    assert agent.elevenlabs_agent_id == first_id and agent.sync_status == Agent.SyncStatus.SYNCED
    assert len(agents_in(provider_sandbox, alice_key)) == 1
    assert len(calls(provider_sandbox, "POST", "/agents/create")) == 1
    assert len(calls(provider_sandbox, "PATCH", f"/agents/{first_id}")) == 2
    theirs = remote(provider_sandbox, agent)
    assert theirs["name"] == "Renamed" and theirs["conversation_config"]["agent"]["prompt"]["temperature"] == 0.2
    assert theirs["conversation_config"]["agent"]["prompt"]["prompt"] == "New instructions for {{first_name}}."
    assert agent.remote_revision == theirs["versions"][-1]["id"]


def test_it_adopts_an_agent_whose_create_answer_was_lost(
    provider_sandbox: Any, alice_account: Account, alice_key: str, settings: Any
) -> None:
    settings.PROVIDER_TIMEOUT_SECONDS = 0.3
    provider_sandbox.inject_fault("elevenlabs", r"/agents/create$", latency=0.6, count=1)
    agent = services.agent_create_from_template(account=alice_account, template="lead_qualifier", language="en")
    assert agent.sync_status == Agent.SyncStatus.FAILED and "did not answer in time" in agent.sync_error
    deadline = time.monotonic() + 3
    while not agents_in(provider_sandbox, alice_key) and time.monotonic() < deadline:
        time.sleep(0.05)  # ElevenLabs finishes the create after we gave up waiting
    assert len(agents_in(provider_sandbox, alice_key)) == 1
    agent = sync.agent_sync(agent=agent)
    assert agent.sync_status == Agent.SyncStatus.SYNCED
    [theirs] = agents_in(provider_sandbox, alice_key)
    assert agent.elevenlabs_agent_id == theirs["agent_id"]
    assert len(calls(provider_sandbox, "POST", "/agents/create")) == 1  # adopted, not created again


def test_a_failed_sync_keeps_the_edit_and_can_be_retried(provider_sandbox: Any, alice_agent: Agent) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents/agent_", status=500)
    agent = services.agent_update(agent=alice_agent, data={"first_message": "Hello {{first_name}}!"})
    assert agent.sync_status == Agent.SyncStatus.FAILED and "ElevenLabs" in agent.sync_error
    assert not agent.sync_error_permanent
    stored = Agent.objects.get(pk=agent.pk)
    assert stored.first_message == "Hello {{first_name}}!" and stored.sync_status == Agent.SyncStatus.FAILED
    assert remote(provider_sandbox, agent)["conversation_config"]["agent"]["first_message"] != "Hello {{first_name}}!"
    provider_sandbox.clear_faults()
    agent = sync.agent_sync(agent=agent)
    assert agent.sync_status == Agent.SyncStatus.SYNCED and agent.sync_error == ""
    assert remote(provider_sandbox, agent)["conversation_config"]["agent"]["first_message"] == "Hello {{first_name}}!"


def test_the_periodic_retry_pushes_failed_agents_but_not_permanent_failures(
    provider_sandbox: Any, alice_agent: Agent
) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents/agent_", status=503)
    agent = services.agent_update(agent=alice_agent, data={"name": "Retry me"})
    Agent.objects.filter(pk=agent.pk).update(sync_attempted_at=agent.sync_attempted_at - sync.RETRY_AFTER)
    provider_sandbox.clear_faults()
    assert sync.agents_retry_due() == 1
    agent.refresh_from_db()
    assert agent.sync_status == Agent.SyncStatus.SYNCED and remote(provider_sandbox, agent)["name"] == "Retry me"
    Agent.objects.filter(pk=agent.pk).update(
        sync_status=Agent.SyncStatus.FAILED, sync_error_permanent=True, sync_attempted_at=None
    )
    assert sync.agents_retry_due() == 0


def test_a_refused_tenant_key_marks_the_integration_failing(
    provider_sandbox: Any, alice_account: Account, alice_key: str
) -> None:
    provider_sandbox.elevenlabs.keys[alice_key]["permissions"] = {"voices_read"}
    agent = services.agent_create_from_template(account=alice_account, template="reminder_call", language="en")
    assert agent.sync_status == Agent.SyncStatus.FAILED and agent.sync_error_permanent
    assert "missing the permission" in agent.sync_error
    status = IntegrationStatus.objects.get(account=alice_account, provider="elevenlabs")
    assert status.failing and "convai_write" in status.last_error


def test_it_deletes_the_agent_at_elevenlabs_too(provider_sandbox: Any, alice_agent: Agent, alice_key: str) -> None:
    services.agent_delete(agent=alice_agent)
    assert not Agent.objects.filter(pk=alice_agent.pk).exists()
    assert agents_in(provider_sandbox, alice_key) == []


def test_a_404_at_elevenlabs_is_fine_when_deleting(provider_sandbox: Any, alice_agent: Agent, alice_key: str) -> None:
    del provider_sandbox.elevenlabs.agents[alice_agent.elevenlabs_agent_id]
    services.agent_delete(agent=alice_agent)
    assert not Agent.objects.filter(pk=alice_agent.pk).exists()


def test_an_unreachable_elevenlabs_deletes_there_later_through_the_outbox(
    provider_sandbox: Any, alice_agent: Agent, alice_key: str
) -> None:
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents/agent_", status=503, count=1)
    services.agent_delete(agent=alice_agent)
    assert not Agent.objects.filter(pk=alice_agent.pk).exists()
    assert len(agents_in(provider_sandbox, alice_key)) == 1
    message = OutboxMessage.objects.get(kind="agents.elevenlabs_delete")
    assert message.account_id == alice_agent.account_id
    assert outbox_deliver_due() == {"delivered": 1}
    assert agents_in(provider_sandbox, alice_key) == []


def test_an_agent_deleted_at_elevenlabs_is_created_again_on_save(
    provider_sandbox: Any, alice_agent: Agent, alice_key: str
) -> None:
    del provider_sandbox.elevenlabs.agents[alice_agent.elevenlabs_agent_id]
    agent = services.agent_update(agent=alice_agent, data={"name": "Back"})
    assert agent.sync_status == Agent.SyncStatus.SYNCED
    [theirs] = agents_in(provider_sandbox, alice_key)
    assert theirs["agent_id"] == agent.elevenlabs_agent_id and theirs["name"] == "Back"


# --- drift ------------------------------------------------------------------------------------


def edit_at_elevenlabs(sb: Any, agent: Agent, prompt: str = "Edited in the ElevenLabs dashboard.") -> None:
    sb.elevenlabs.edit_agent(agent.elevenlabs_agent_id, conversation_config={"agent": {"prompt": {"prompt": prompt}}})


def test_an_edit_at_elevenlabs_is_detected_and_not_overwritten(provider_sandbox: Any, alice_agent: Agent) -> None:
    edit_at_elevenlabs(provider_sandbox, alice_agent)
    agent = services.agent_update(agent=alice_agent, data={"name": "Our edit"})
    assert agent.sync_status == Agent.SyncStatus.DRIFTED
    assert agent.remote_snapshot["fields"]["system_prompt"] == "Edited in the ElevenLabs dashboard."
    theirs = remote(provider_sandbox, agent)
    assert theirs["conversation_config"]["agent"]["prompt"]["prompt"] == "Edited in the ElevenLabs dashboard."
    assert theirs["name"] != "Our edit"
    assert Agent.objects.get(pk=agent.pk).name == "Our edit"  # the local edit is kept


def test_the_periodic_check_finds_drift(provider_sandbox: Any, alice_agent: Agent) -> None:
    edit_at_elevenlabs(provider_sandbox, alice_agent)
    Agent.objects.filter(pk=alice_agent.pk).update(
        sync_attempted_at=alice_agent.sync_attempted_at - sync.DRIFT_CHECK_EVERY
    )
    assert sync.agents_check_drift_due() == 1
    assert Agent.objects.get(pk=alice_agent.pk).sync_status == Agent.SyncStatus.DRIFTED


def test_take_theirs_copies_their_version_then_pushes(provider_sandbox: Any, alice_agent: Agent) -> None:
    edit_at_elevenlabs(provider_sandbox, alice_agent, "Their prompt for {{first_name}}.")
    services.agent_update(agent=alice_agent, data={"name": "Our edit"})
    agent = services.agent_take_theirs(agent=Agent.objects.get(pk=alice_agent.pk))
    assert agent.sync_status == Agent.SyncStatus.SYNCED
    assert agent.system_prompt == "Their prompt for {{first_name}}."
    theirs = remote(provider_sandbox, agent)
    assert theirs["conversation_config"]["agent"]["prompt"]["prompt"] == "Their prompt for {{first_name}}."
    assert theirs["conversation_config"]["tts"]["agent_output_audio_format"] == "ulaw_8000"


def test_take_theirs_refuses_a_version_with_an_unknown_variable(provider_sandbox: Any, alice_agent: Agent) -> None:
    edit_at_elevenlabs(provider_sandbox, alice_agent, "Hi {{favourite_colour}}.")
    from prixagent.errors import ApplicationError

    with pytest.raises(ApplicationError) as info:
        services.agent_take_theirs(agent=alice_agent)
    assert "favourite_colour" in info.value.message
    assert Agent.objects.get(pk=alice_agent.pk).system_prompt == alice_agent.system_prompt


def test_overwrite_pushes_ours_over_theirs(provider_sandbox: Any, alice_agent: Agent) -> None:
    edit_at_elevenlabs(provider_sandbox, alice_agent)
    agent = services.agent_update(agent=alice_agent, data={"system_prompt": "Ours wins."})
    assert agent.sync_status == Agent.SyncStatus.DRIFTED
    agent = services.agent_overwrite(agent=agent)
    assert agent.sync_status == Agent.SyncStatus.SYNCED and agent.remote_snapshot is None
    assert remote(provider_sandbox, agent)["conversation_config"]["agent"]["prompt"]["prompt"] == "Ours wins."


# --- workspaces and keys -----------------------------------------------------------------------


def test_one_webhook_and_one_set_of_tools_per_workspace(
    provider_sandbox: Any, alice_account: Account, alice_key: str, settings: Any
) -> None:
    services.agent_create_from_template(account=alice_account, template="appointment_setter", language="en")
    services.agent_create_from_template(account=alice_account, template="lead_qualifier", language="es")
    webhooks = [w for w in provider_sandbox.elevenlabs.webhooks.values()]
    assert len(webhooks) == 1 and len(provider_sandbox.elevenlabs.tools) == len(Tool.values)
    workspace = ElevenLabsWorkspace.objects.get()
    origin = settings.API_URL.removesuffix("/api/v1")
    assert webhooks[0]["webhook_url"] == f"{origin}/webhooks/elevenlabs/{workspace.public_id}/"
    assert workspace.webhook_secret == webhooks[0]["webhook_secret"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM agents_elevenlabsworkspace")
        [(raw,)] = cursor.fetchall()
    assert raw.startswith("pa1:") and webhooks[0]["webhook_secret"] not in raw
    for tool in provider_sandbox.elevenlabs.tools.values():
        schema = tool["tool_config"]["api_schema"]
        assert schema["url"] == f"{origin}/api/v1/agent-tools/{tool['tool_config']['name']}/"
        assert schema["request_headers"] == {"X-Prix-Tool-Token": {"variable_name": "secret__prix_tool_token"}}


def test_a_new_api_url_gets_a_new_webhook_and_updated_tools(
    provider_sandbox: Any, alice_agent: Agent, settings: Any
) -> None:
    settings.API_URL = "https://app.example.com/api/v1"
    agent = services.agent_update(agent=alice_agent, data={"name": "Moved"})
    workspace = ElevenLabsWorkspace.objects.get()
    assert workspace.webhook_url == f"https://app.example.com/webhooks/elevenlabs/{workspace.public_id}/"
    assert len(provider_sandbox.elevenlabs.webhooks) == 2
    assert len(provider_sandbox.elevenlabs.tools) == len(Tool.values)  # patched, not duplicated
    urls = {t["tool_config"]["api_schema"]["url"] for t in provider_sandbox.elevenlabs.tools.values()}
    assert all(url.startswith("https://app.example.com/api/v1/agent-tools/") for url in urls)
    webhooks = remote(provider_sandbox, agent)["platform_settings"]["workspace_overrides"]["webhooks"]
    assert webhooks["post_call_webhook_id"] == workspace.webhook_id


def test_without_a_tenant_key_the_agent_lives_in_the_platform_workspace(
    provider_sandbox: Any, alice_account: Account, charlie_account: Account, platform_key: str
) -> None:
    alice = services.agent_create_from_template(account=alice_account, template="appointment_setter", language="en")
    charlie = services.agent_create_from_template(account=charlie_account, template="reminder_call", language="es")
    assert alice.sync_status == charlie.sync_status == Agent.SyncStatus.SYNCED
    assert alice.workspace == charlie.workspace and alice.workspace.is_platform
    assert alice.workspace.account is None and alice.workspace.tenant_key == "platform"
    assert len(agents_in(provider_sandbox, platform_key)) == 2
    assert f"prix-account-{charlie_account.pk}" in remote(provider_sandbox, charlie)["tags"]
    assert len(provider_sandbox.elevenlabs.webhooks) == 1
    assert all(r.identity == platform_key for r in provider_sandbox.requests("elevenlabs"))
    alice = services.agent_update(agent=alice, data={"name": "Platform PATCH"})
    assert remote(provider_sandbox, alice)["name"] == "Platform PATCH"
    services.agent_delete(agent=alice)
    assert len(agents_in(provider_sandbox, platform_key)) == 1


def test_connecting_a_key_moves_the_agent_to_the_tenant_workspace(
    provider_sandbox: Any, alice_account: Account, platform_key: str
) -> None:
    agent = services.agent_create_from_template(account=alice_account, template="appointment_setter", language="en")
    tenant_key = connect_elevenlabs(provider_sandbox, alice_account)
    agent = sync.agent_sync(agent=Agent.objects.get(pk=agent.pk))
    assert agent.sync_status == Agent.SyncStatus.SYNCED and not agent.workspace.is_platform
    assert len(agents_in(provider_sandbox, tenant_key)) == 1
    assert agents_in(provider_sandbox, platform_key) == []  # the platform copy was removed


def test_without_any_key_the_sync_fails_with_a_reason(provider_sandbox: Any, alice_account: Account) -> None:
    agent = services.agent_create_from_template(account=alice_account, template="appointment_setter", language="en")
    assert agent.sync_status == Agent.SyncStatus.FAILED and "No ElevenLabs key" in agent.sync_error
    assert provider_sandbox.requests("elevenlabs") == []
