"""The sandbox's ElevenLabs agents/tools/webhooks/voices/conversations and Cal.com booking shapes,
exercised with the official SDK (and `requests` for Cal.com) the way the product uses them."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError

NO_RETRY = {"max_retries": 0}


def eleven(sb: Any, key: str) -> ElevenLabs:
    return ElevenLabs(api_key=key, base_url=sb.base_urls["elevenlabs"])


def test_agents_are_versioned_and_edits_at_elevenlabs_make_a_version(provider_sandbox: Any) -> None:
    el = eleven(provider_sandbox, provider_sandbox.elevenlabs.create_key())
    created = el.conversational_ai.agents.create(
        conversation_config={"agent": {"first_message": "Hi", "prompt": {"prompt": "P"}}},
        tags=["prix-agent-x"],
        request_options=NO_RETRY,
    )
    first = el.conversational_ai.agents.get(created.agent_id)
    patched = el.conversational_ai.agents.update(
        created.agent_id, conversation_config={"agent": {"prompt": {"prompt": "Q"}}}, request_options=NO_RETRY
    )
    assert patched.version_id != first.version_id
    assert patched.conversation_config.agent.first_message == "Hi"  # PATCH merges
    assert patched.conversation_config.agent.prompt.prompt == "Q"
    version = el.conversational_ai.agents.versions.get(created.agent_id, patched.version_id)
    assert (version.seq_no_in_branch, version.parents.in_branch_parent_id) == (1, first.version_id)
    edited = provider_sandbox.elevenlabs.edit_agent(created.agent_id, name="Dashboard edit")
    assert el.conversational_ai.agents.get(created.agent_id).version_id == edited["version_id"] != patched.version_id
    assert [a.agent_id for a in el.conversational_ai.agents.list(tags=["prix-agent-x"]).agents] == [created.agent_id]
    assert el.conversational_ai.agents.list(tags=["prix-agent-y"]).agents == []


def test_voices_are_the_premade_ones_plus_the_workspaces_own(provider_sandbox: Any) -> None:
    alice, charlie = provider_sandbox.elevenlabs.create_key(), provider_sandbox.elevenlabs.create_key()
    clone = provider_sandbox.elevenlabs.create_voice(provider_sandbox.elevenlabs.workspace_of(alice), "Alice's clone")
    alice_voices = {v.voice_id: v for v in eleven(provider_sandbox, alice).voices.get_all().voices}
    charlie_voices = {v.voice_id for v in eleven(provider_sandbox, charlie).voices.get_all().voices}
    assert alice_voices[clone].category == "cloned" and "21m00Tcm4TlvDq8ikWAM" in alice_voices
    assert clone not in charlie_voices and "21m00Tcm4TlvDq8ikWAM" in charlie_voices
    with pytest.raises(ApiError) as info:
        eleven(provider_sandbox, charlie).voices.get(clone)
    assert info.value.body["detail"]["status"] == "voice_not_found"


def test_tools_are_created_patched_and_checked_like_the_api(provider_sandbox: Any) -> None:
    el = eleven(provider_sandbox, provider_sandbox.elevenlabs.create_key())
    config = {"type": "webhook", "name": "t", "description": "d", "api_schema": {"url": "https://x/", "method": "POST"}}
    tool = el.conversational_ai.tools.create(request={"tool_config": config}, request_options=NO_RETRY)
    el.conversational_ai.tools.update(tool.id, request={"tool_config": {**config, "description": "d2"}})
    assert el.conversational_ai.tools.get(tool.id).tool_config.description == "d2"
    with pytest.raises(ApiError) as info:
        el.conversational_ai.tools.create(
            request={"tool_config": {**config, "api_schema": {"method": "POST"}}}, request_options=NO_RETRY
        )
    assert info.value.status_code == 422 and info.value.body["detail"][0]["loc"][-1] == "url"


def test_webhooks_keep_their_secret_out_of_listings(provider_sandbox: Any) -> None:
    el = eleven(provider_sandbox, provider_sandbox.elevenlabs.create_key())
    created = el.webhooks.create(
        settings={"auth_type": "hmac", "name": "n", "webhook_url": "https://x/hook"}, request_options=NO_RETRY
    )
    assert created.webhook_secret
    [listed] = el.webhooks.list().webhooks
    assert listed.webhook_url == "https://x/hook" and created.webhook_secret not in json.dumps(listed.dict())
    el.webhooks.update(created.webhook_id, is_disabled=True, name="off")
    assert el.webhooks.list().webhooks[0].is_disabled
    el.webhooks.delete(created.webhook_id)
    assert el.webhooks.list().webhooks == []


class Capture(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Capture.received.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def capture_server() -> Any:
    Capture.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_played_conversation_calls_tools_as_configured_and_signs_the_post_call_webhook(
    provider_sandbox: Any, capture_server: str
) -> None:
    key = provider_sandbox.elevenlabs.create_key()
    el = eleven(provider_sandbox, key)
    hook = el.webhooks.create(
        settings={"auth_type": "hmac", "name": "n", "webhook_url": f"{capture_server}/hook/"}, request_options=NO_RETRY
    )
    tool = el.conversational_ai.tools.create(
        request={
            "tool_config": {
                "type": "webhook",
                "name": "lookup",
                "description": "d",
                "api_schema": {
                    "url": f"{capture_server}/tools/{{kind}}/",
                    "method": "POST",
                    "path_params_schema": {"kind": {"type": "string", "constant_value": "crm"}},
                    "request_headers": {"X-Token": {"variable_name": "secret__token"}, "X-Fixed": "yes"},
                    "request_body_schema": {
                        "type": "object",
                        "properties": {
                            "conversation": {"type": "string", "dynamic_variable": "system__conversation_id"},
                            "who": {"type": "string", "dynamic_variable": "first_name"},
                            "question": {"type": "string", "description": "asked by the LLM"},
                        },
                        "required": ["conversation", "question"],
                    },
                },
            }
        },
        request_options=NO_RETRY,
    )
    agent = el.conversational_ai.agents.create(
        conversation_config={"agent": {"prompt": {"tool_ids": [tool.id]}}},
        platform_settings={"workspace_overrides": {"webhooks": {"post_call_webhook_id": hook.webhook_id}}},
        request_options=NO_RETRY,
    )
    played = requests.post(
        f"{provider_sandbox.base_urls['elevenlabs']}/_sandbox/conversations/play",
        json={
            "agent_id": agent.agent_id,
            "dynamic_variables": {"secret__token": "tok-1", "first_name": "Ana"},
            "tool_calls": [{"tool": "lookup", "parameters": {"question": "price?"}}],
            "analysis": {"data_collection_results": {"interested": {"value": True}}},
            "deliver_webhook": True,
        },
        timeout=10,
    ).json()
    conversation = played["conversation_id"]
    (tool_headers, tool_body), (hook_headers, hook_body) = Capture.received
    assert tool_headers["X-Token"] == "tok-1" and tool_headers["X-Fixed"] == "yes"
    assert json.loads(tool_body) == {"conversation": conversation, "who": "Ana", "question": "price?"}
    assert played["tool_results"][0]["url"].endswith("/tools/crm/") and played["webhook"]["status"] == 200
    event = el.webhooks.construct_event(hook_body.decode(), hook_headers["ElevenLabs-Signature"], hook.webhook_secret)
    assert event["type"] == "post_call_transcription" and event["data"]["conversation_id"] == conversation
    assert event["data"]["analysis"]["data_collection_results"]["interested"]["value"] is True
    assert el.conversational_ai.conversations.get(conversation).status == "done"


def test_play_refuses_what_elevenlabs_could_not_do(provider_sandbox: Any) -> None:
    el = eleven(provider_sandbox, provider_sandbox.elevenlabs.create_key())
    agent = el.conversational_ai.agents.create(conversation_config={}, request_options=NO_RETRY)
    played = provider_sandbox.elevenlabs.play(agent_id=agent.agent_id, tool_calls=[{"tool": "nope"}])
    assert "no webhook tool named 'nope'" in played["tool_results"][0]["error"]
    r = requests.post(
        f"{provider_sandbox.base_urls['elevenlabs']}/_sandbox/conversations/play", json={"agent_id": "x"}, timeout=5
    )
    assert r.status_code == 400


# --- Cal.com ---------------------------------------------------------------------------------


def test_calcom_slots_and_bookings_have_the_v2_shapes(provider_sandbox: Any) -> None:
    user = provider_sandbox.calcom.create_user("ana", "Europe/Madrid")
    event = user["event_types"][0]["id"]
    root, auth = provider_sandbox.base_urls["calcom"], {"Authorization": f"Bearer {user['api_key']}"}
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    start = (day + timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)).isoformat()
    slots = requests.get(
        f"{root}/slots",
        params={"eventTypeId": event, "start": start, "end": start, "timeZone": "America/Bogota", "format": "range"},
        headers={"cal-api-version": "2024-09-04"},
        timeout=5,
    ).json()["data"]
    for day in slots.values():
        assert all(s["start"].endswith("-05:00") and "end" in s for s in day)
    free = next(s for day in slots.values() for s in day)["start"]
    utc = datetime.fromisoformat(free).astimezone(UTC).isoformat().replace("+00:00", "Z")
    bad = requests.post(
        f"{root}/bookings",
        json={"start": utc, "eventTypeId": event, "attendee": {"name": "A", "email": "a@x.example", "timeZone": "UTC"},
              "metadata": {"n": 1}},
        headers={**auth, "cal-api-version": "2024-08-13"},
        timeout=5,
    )  # fmt: skip
    assert bad.status_code == 400 and "metadata" in bad.json()["error"]["message"]
    booked = requests.post(
        f"{root}/bookings",
        json={"start": utc, "eventTypeId": event, "attendee": {"name": "A", "email": "a@x.example", "timeZone": "UTC"}},
        headers={**auth, "cal-api-version": "2024-08-13"},
        timeout=5,
    )
    data = booked.json()["data"]
    assert booked.status_code == 201 and data["status"] == "accepted"
    assert data["eventType"] == {"id": event, "slug": "30min"} and data["attendees"][0]["absent"] is False
    assert {"uid", "start", "end", "hosts", "createdAt", "updatedAt", "absentHost"} <= set(data)
