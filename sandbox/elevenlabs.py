"""ElevenLabs Agents Platform API, the part PrixAgent uses (providers.md §2, §6).

Keys carry permissions like real scoped keys: `/v1/user` needs `user_read`, reads under
`/v1/convai/` need `convai_read`, writes need `convai_write`. Each key belongs to a workspace;
agents, tools, voices, webhooks, phone numbers and conversations live in the workspace.

Agents are versioned like the real ones: every create and PATCH commits a version on the
agent's main branch and `GET` answers with the current `version_id`, so an edit made "in the
ElevenLabs dashboard" (`POST /_sandbox/agents/edit`) shows up as a new version.

`POST /_sandbox/conversations/play` plays a conversation the way ElevenLabs runs one: it calls the
agent's webhook tools at their configured URL with their configured headers and body schema
(dynamic variables, `secret__` values and `system__` variables filled in), records the tool calls
in the transcript, and can then deliver the signed post-call webhook (`sandbox.elevenlabs_play`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from sandbox.base import ProviderApp, Request, Response, new_id

ALL_PERMISSIONS = ("convai_read", "convai_write", "user_read", "voices_read")
# ElevenLabs' premade voices every workspace can use (public voice ids).
PREMADE_VOICES = {"21m00Tcm4TlvDq8ikWAM": "Rachel", "EXAVITQu4vr4xnSDxMaL": "Sarah", "pNInz6obpgDQGcFmaJgB": "Adam"}
STATUS_FOR_CODE = {400: "invalid_request", 404: "not_found", 429: "system_busy", 500: "internal_error"}


def elevenlabs_signature(secret: str, body: str, timestamp: int | None = None) -> str:
    """ElevenLabs-Signature header: `t=<unix>,v0=<hex HMAC-SHA256 of "t.body">`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


class ElevenLabsApp(ProviderApp):
    name = "elevenlabs"

    def reset_state(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}  # api key -> {workspace, permissions}
        self.agents: dict[str, dict[str, Any]] = {}
        self.tools: dict[str, dict[str, Any]] = {}
        self.phone_numbers: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.voices: dict[str, dict[str, Any]] = {}  # workspace voices (clones), by voice id
        self.spoken: list[dict[str, Any]] = []  # text-to-speech requests
        self.deliveries: list[dict[str, Any]] = []  # post-call webhooks sent after phone calls

    def routes(self) -> list[tuple[str, str, Any]]:
        agent = r"(?P<agent>agent_[0-9a-z]+)"
        tool = r"(?P<tool>tool_[0-9a-z]+)"
        webhook = r"(?P<webhook>wh_[0-9a-z]+)"
        return [
            ("GET", r"/v1/user", self.get_user),
            ("GET", r"/v1/voices", self.list_voices),
            ("GET", r"/v1/voices/(?P<voice>[A-Za-z0-9]+)", self.get_voice),
            ("GET", r"/v1/convai/agents", self.list_agents),
            ("POST", r"/v1/convai/agents/create", self.create_agent),
            ("GET", rf"/v1/convai/agents/{agent}", self.get_agent),
            ("PATCH", rf"/v1/convai/agents/{agent}", self.update_agent),
            ("DELETE", rf"/v1/convai/agents/{agent}", self.delete_agent),
            ("GET", rf"/v1/convai/agents/{agent}/versions/(?P<version>agtvrsn_[0-9a-z]+)", self.get_agent_version),
            ("GET", r"/v1/convai/tools", self.list_tools),
            ("POST", r"/v1/convai/tools", self.create_tool),
            ("GET", rf"/v1/convai/tools/{tool}", self.get_tool),
            ("PATCH", rf"/v1/convai/tools/{tool}", self.update_tool),
            ("DELETE", rf"/v1/convai/tools/{tool}", self.delete_tool),
            ("POST", r"/v1/convai/phone-numbers", self.import_phone_number),
            ("POST", r"/v1/convai/twilio/register-call", self.register_call),
            ("POST", r"/v1/convai/twilio/outbound-call", self.outbound_call),
            ("GET", r"/v1/convai/conversations", self.list_conversations),
            ("GET", r"/v1/convai/conversations/(?P<conversation>conv_[0-9a-z]+)", self.get_conversation),
            ("POST", r"/v1/text-to-speech/(?P<voice>[A-Za-z0-9]+)", self.text_to_speech),
            ("GET", r"/v1/workspace/webhooks", self.list_webhooks),
            ("POST", r"/v1/workspace/webhooks", self.create_webhook),
            ("PATCH", rf"/v1/workspace/webhooks/{webhook}", self.update_webhook),
            ("DELETE", rf"/v1/workspace/webhooks/{webhook}", self.delete_webhook),
        ]

    # --- test API --------------------------------------------------------------------------
    def create_key(
        self,
        permissions: tuple[str, ...] | list[str] = ALL_PERMISSIONS,
        *,
        workspace: str | None = None,
        api_key: str | None = None,
    ) -> str:
        key = api_key or new_id("sk_", 24)
        with self.lock:
            self.keys[key] = {"workspace": workspace or new_id("ws_", 6), "permissions": set(permissions)}
        return key

    def workspace_of(self, api_key: str) -> str:
        return self.keys[api_key]["workspace"]

    def create_voice(self, workspace: str, name: str = "My cloned voice", *, voice_id: str | None = None) -> str:
        """A voice only this workspace can use (an instant clone)."""
        voice_id = voice_id or new_id("", 10)
        with self.lock:
            self.voices[voice_id] = {"voice_id": voice_id, "name": name, "category": "cloned", "workspace": workspace}
        return voice_id

    def edit_agent(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        conversation_config: dict[str, Any] | None = None,
        platform_settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An edit made in the ElevenLabs dashboard: deep-merged, committed as a new version."""
        with self.lock:
            agent = self.agents[agent_id]
            if name is not None:
                agent["name"] = name
            for field, change in (
                ("conversation_config", conversation_config),
                ("platform_settings", platform_settings),
            ):
                if change:
                    agent[field] = _merged(agent[field], change)
            self._commit(agent, "Edited in the ElevenLabs dashboard")
            return self._full(agent)

    def play(self, **script: Any) -> dict[str, Any]:
        """Play a scripted conversation that calls the agent's tools (see `sandbox.elevenlabs_play`)."""
        from sandbox.elevenlabs_play import play  # imports this module

        return play(self, **script)

    def stream_started(self, conversation_id: str, call_sid: str, script: dict[str, Any]) -> None:
        """Twilio connected a call's media stream to this conversation: the agent talks (and uses
        its tools) as scripted (`sandbox.elevenlabs_play.converse`)."""
        from sandbox.elevenlabs_play import converse

        converse(self, conversation_id, call_sid, script)

    def stream_ended(self, conversation_id: str, script: dict[str, Any], duration: int) -> None:
        """The call hung up: the conversation ends and its post-call webhook goes out."""
        from sandbox.elevenlabs_play import hang_up

        hang_up(self, conversation_id, script, duration)

    def control_actions(self) -> dict[str, Any]:
        return {
            "keys": lambda **kw: {"api_key": self.create_key(**kw)},
            "voices": lambda workspace, **kw: {"voice_id": self.create_voice(workspace, **kw)},
            "agents/edit": self.edit_agent,
            "conversations/play": self.play,
        }

    def state(self) -> dict[str, Any]:
        keys = {k: {"workspace": v["workspace"], "permissions": sorted(v["permissions"])} for k, v in self.keys.items()}
        return {
            "keys": keys,
            "agents": self.agents,
            "tools": self.tools,
            "voices": self.voices,
            "webhooks": {k: {f: v for f, v in w.items() if f != "webhook_secret"} for k, w in self.webhooks.items()},
            "conversations": self.conversations,
        }

    # --- protocol ----------------------------------------------------------------------------
    def identify(self, request: Request) -> str | None:
        return request.headers.get("xi-api-key")

    def error(self, status: int, message: str, detail_status: str | None = None) -> Response:
        detail = {"status": detail_status or STATUS_FOR_CODE.get(status, "error"), "message": message}
        return Response(status, {"detail": detail})

    def _authorize(self, request: Request, permission: str) -> Response | str:
        key = self.keys.get(request.headers.get("xi-api-key", ""))
        if key is None:
            return self.error(401, "Invalid API key", "invalid_api_key")
        if permission not in key["permissions"]:
            return self.error(
                401,
                f"The API key you used is missing the permission {permission} to execute this operation.",
                "missing_permissions",
            )
        return key["workspace"]

    def _convai(self, request: Request) -> Response | str:
        return self._authorize(request, "convai_read" if request.method == "GET" else "convai_write")

    def _own_agent(self, request: Request) -> Response | dict[str, Any]:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        agent = self.agents.get(request.params["agent"])
        if agent is None or agent["workspace"] != workspace:
            return self.error(404, f"Agent {request.params['agent']} not found", "agent_not_found")
        return agent

    # --- handlers ----------------------------------------------------------------------------
    def _voices_of(self, workspace: str) -> list[dict[str, Any]]:
        premade = [
            {"voice_id": voice_id, "name": name, "category": "premade", "labels": {"accent": "american"}}
            for voice_id, name in PREMADE_VOICES.items()
        ]
        own = [
            {k: v for k, v in voice.items() if k != "workspace"}
            for voice in self.voices.values()
            if voice["workspace"] == workspace
        ]
        return premade + own

    def list_voices(self, request: Request) -> Response:
        workspace = self._authorize(request, "voices_read")
        if isinstance(workspace, Response):
            return workspace
        voices = [
            {**v, "preview_url": f"https://storage.example/voices/{v['voice_id']}.mp3"}
            for v in self._voices_of(workspace)
        ]
        return Response(200, {"voices": voices})

    def get_voice(self, request: Request) -> Response:
        workspace = self._authorize(request, "voices_read")
        if isinstance(workspace, Response):
            return workspace
        voice_id = request.params["voice"]
        voice = next((v for v in self._voices_of(workspace) if v["voice_id"] == voice_id), None)
        if voice is None:
            return self.error(400, f"A voice with the voice_id {voice_id} was not found.", "voice_not_found")
        return Response(200, voice)

    def get_user(self, request: Request) -> Response:
        workspace = self._authorize(request, "user_read")
        if isinstance(workspace, Response):
            return workspace
        key = request.headers["xi-api-key"]
        subscription = {"tier": "creator", "character_count": 0, "character_limit": 100000, "status": "active"}
        return Response(200, {"user_id": workspace, "subscription": subscription, "xi_api_key_preview": key[-4:]})

    def list_agents(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        agents = [a for a in self.agents.values() if a["workspace"] == workspace]
        tags = request.query.get("tags") or []
        if tags:  # repeated `tags`: an agent carrying any of them
            agents = [a for a in agents if set(tags) & set(a["tags"])]
        search = (request.arg("search") or "").lower()
        if search:
            agents = [a for a in agents if search in a["name"].lower()]
        start = int(request.arg("cursor") or 0)
        size = min(int(request.arg("page_size") or 30), 100)
        page = agents[start : start + size]
        more = start + size < len(agents)
        return Response(
            200,
            {
                "agents": [self._summary(a) for a in page],
                "has_more": more,
                "next_cursor": str(start + size) if more else None,
            },
        )

    def create_agent(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        body = request.body if isinstance(request.body, dict) else {}
        if "conversation_config" not in body:
            return self._missing("conversation_config")
        agent_id = new_id("agent_", 12)
        now = int(time.time())
        self.agents[agent_id] = {
            "agent_id": agent_id,
            "workspace": workspace,
            "name": body.get("name") or "",
            "conversation_config": body["conversation_config"],
            "platform_settings": body.get("platform_settings") or {},
            "tags": body.get("tags") or [],
            "created_at_unix_secs": now,
            "updated_at_unix_secs": now,
            "branch_id": new_id("agtbrch_", 12),
            "versions": [],
        }
        self._commit(self.agents[agent_id], "Initial version")
        return Response(200, {"agent_id": agent_id})

    def get_agent(self, request: Request) -> Response:
        agent = self._own_agent(request)
        return agent if isinstance(agent, Response) else Response(200, self._full(agent))

    def update_agent(self, request: Request) -> Response:
        agent = self._own_agent(request)
        if isinstance(agent, Response):
            return agent
        body = request.body if isinstance(request.body, dict) else {}
        # PATCH semantics: the objects sent are merged into the agent, the rest is kept.
        for field in ("conversation_config", "platform_settings"):
            if isinstance(body.get(field), dict):
                agent[field] = _merged(agent[field], body[field])
        for field in ("name", "tags"):
            if field in body:
                agent[field] = body[field]
        self._commit(agent, body.get("version_description") or "")
        return Response(200, self._full(agent))

    def get_agent_version(self, request: Request) -> Response:
        agent = self._own_agent(request)
        if isinstance(agent, Response):
            return agent
        version = next((v for v in agent["versions"] if v["id"] == request.params["version"]), None)
        if version is None:
            return self.error(404, f"Version {request.params['version']} not found", "version_not_found")
        return Response(200, {**version, "agent_id": agent["agent_id"], "access_info": self._access()})

    def delete_agent(self, request: Request) -> Response:
        agent = self._own_agent(request)
        if isinstance(agent, Response):
            return agent
        del self.agents[agent["agent_id"]]
        return Response(200, {})

    def list_tools(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        return Response(200, {"tools": [self._public(t) for t in self.tools.values() if t["workspace"] == workspace]})

    def create_tool(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        config = (request.body or {}).get("tool_config") if isinstance(request.body, dict) else None
        problem = self._check_tool_config(config)
        if problem:
            return problem
        tool = {
            "id": new_id("tool_", 12),
            "workspace": workspace,
            "tool_config": config,
            "access_info": self._access(),
            "usage_stats": {"total_calls": 0, "avg_latency_secs": 0.0},
        }
        self.tools[tool["id"]] = tool
        return Response(200, self._public(tool))

    def _own_tool(self, request: Request) -> Response | dict[str, Any]:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        tool = self.tools.get(request.params["tool"])
        if tool is None or tool["workspace"] != workspace:
            return self.error(404, f"Tool {request.params['tool']} not found", "tool_not_found")
        return tool

    def get_tool(self, request: Request) -> Response:
        tool = self._own_tool(request)
        return tool if isinstance(tool, Response) else Response(200, self._public(tool))

    def update_tool(self, request: Request) -> Response:
        tool = self._own_tool(request)
        if isinstance(tool, Response):
            return tool
        config = (request.body or {}).get("tool_config") if isinstance(request.body, dict) else None
        problem = self._check_tool_config(config)
        if problem:
            return problem
        tool["tool_config"] = config
        return Response(200, self._public(tool))

    def delete_tool(self, request: Request) -> Response:
        tool = self._own_tool(request)
        if isinstance(tool, Response):
            return tool
        del self.tools[tool["id"]]
        return Response(204)

    def _check_tool_config(self, config: Any) -> Response | None:
        if not isinstance(config, dict):
            return self._missing("tool_config")
        for field in ("name", "description"):
            if not config.get(field):
                return self._missing(f"tool_config.{field}")
        if config.get("type") == "webhook":
            schema = config.get("api_schema")
            if not isinstance(schema, dict) or not schema.get("url"):
                return self._missing("tool_config.api_schema.url")
        return None

    def import_phone_number(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        body = request.body if isinstance(request.body, dict) else {}
        for field in ("phone_number", "label", "sid", "token"):
            if not body.get(field):
                return self._missing(field)
        number_id = new_id("phnum_", 12)
        self.phone_numbers[number_id] = {"workspace": workspace, **body, "token": "[stored]"}
        return Response(200, {"phone_number_id": number_id})

    def register_call(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        body = request.body if isinstance(request.body, dict) else {}
        for field in ("agent_id", "from_number", "to_number"):
            if not body.get(field):
                return self._missing(field)
        agent = self.agents.get(body["agent_id"])
        if agent is None or agent["workspace"] != workspace:
            return self.error(404, f"Agent {body['agent_id']} not found", "agent_not_found")
        conversation = self._new_conversation(workspace, agent["agent_id"], body)
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="wss://api.elevenlabs.io/v1/convai/conversation/twilio?token={conversation}" />'
            "</Connect></Response>"
        )
        return Response(200, twiml, content_type="text/xml")

    def outbound_call(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        body = request.body if isinstance(request.body, dict) else {}
        for field in ("agent_id", "agent_phone_number_id", "to_number"):
            if not body.get(field):
                return self._missing(field)
        number = self.phone_numbers.get(body["agent_phone_number_id"])
        if number is None or number["workspace"] != workspace:
            return self.error(404, "Phone number not found", "phone_number_not_found")
        conversation = self._new_conversation(workspace, body["agent_id"], body)
        call_sid = new_id("CA")
        self.conversations[conversation]["metadata"]["phone_call"]["call_sid"] = call_sid
        return Response(
            200, {"success": True, "message": "Success", "conversation_id": conversation, "callSid": call_sid}
        )

    def get_conversation(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        conversation = self.conversations.get(request.params["conversation"])
        if conversation is None or conversation["workspace"] != workspace:
            return self.error(404, "Conversation not found", "conversation_not_found")
        return Response(200, {k: v for k, v in conversation.items() if k != "workspace"})

    def list_conversations(self, request: Request) -> Response:
        workspace = self._convai(request)
        if isinstance(workspace, Response):
            return workspace
        after = int(request.arg("call_start_after_unix") or 0)
        found = [
            c
            for c in self.conversations.values()
            if c["workspace"] == workspace
            and c["agent_id"] == request.arg("agent_id", c["agent_id"])
            and (c.get("conversation_initiation_client_data") or {}).get("user_id")
            == request.arg("user_id", (c.get("conversation_initiation_client_data") or {}).get("user_id"))
            and c["metadata"]["start_time_unix_secs"] >= after
        ]
        found.sort(key=lambda c: c["metadata"]["start_time_unix_secs"], reverse=True)
        start = int(request.arg("cursor") or 0)
        size = min(int(request.arg("page_size") or 30), 100)
        page = found[start : start + size]
        more = start + size < len(found)
        summaries = [
            {
                "agent_id": c["agent_id"],
                "conversation_id": c["conversation_id"],
                "start_time_unix_secs": c["metadata"]["start_time_unix_secs"],
                "call_duration_secs": c["metadata"]["call_duration_secs"],
                "message_count": len(c["transcript"]),
                "status": c["status"],
                "call_successful": (c.get("analysis") or {}).get("call_successful") or "unknown",
                "direction": c["metadata"]["phone_call"].get("direction"),
            }
            for c in page
        ]
        return Response(
            200, {"conversations": summaries, "has_more": more, "next_cursor": str(start + size) if more else None}
        )

    def text_to_speech(self, request: Request) -> Response:
        key = self.keys.get(request.headers.get("xi-api-key", ""))
        if key is None:
            return self.error(401, "Invalid API key", "invalid_api_key")
        voice_id = request.params["voice"]
        if not any(v["voice_id"] == voice_id for v in self._voices_of(key["workspace"])):
            return self.error(400, f"A voice with the voice_id {voice_id} was not found.", "voice_not_found")
        text = (request.body or {}).get("text") if isinstance(request.body, dict) else None
        if not text:
            return self._missing("text")
        self.spoken.append({"voice_id": voice_id, "text": text, "model_id": request.body.get("model_id")})
        audio = b"ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00" + hashlib.sha256(text.encode()).digest() * 8
        return Response(200, audio, content_type="audio/mpeg")

    def create_webhook(self, request: Request) -> Response:
        workspace = self._authorize(request, "convai_write")
        if isinstance(workspace, Response):
            return workspace
        settings = (request.body or {}).get("settings") if isinstance(request.body, dict) else None
        if not isinstance(settings, dict) or not settings.get("webhook_url"):
            return self._missing("settings.webhook_url")
        if not settings.get("name"):
            return self._missing("settings.name")
        webhook = {
            "webhook_id": new_id("wh_", 10),
            "webhook_secret": new_id("wsec_", 16),
            "workspace": workspace,
            "auth_type": settings.get("auth_type") or "hmac",
            "is_disabled": False,
            "is_auto_disabled": False,
            "created_at_unix": int(time.time()),
        }
        self.webhooks[webhook["webhook_id"]] = {**settings, **webhook}
        return Response(200, {"webhook_id": webhook["webhook_id"], "webhook_secret": webhook["webhook_secret"]})

    def _own_webhook(self, request: Request) -> Response | dict[str, Any]:
        workspace = self._authorize(request, "convai_write" if request.method != "GET" else "convai_read")
        if isinstance(workspace, Response):
            return workspace
        webhook = self.webhooks.get(request.params["webhook"])
        if webhook is None or webhook["workspace"] != workspace:
            return self.error(404, "Webhook not found", "webhook_not_found")
        return webhook

    def list_webhooks(self, request: Request) -> Response:
        workspace = self._authorize(request, "convai_read")
        if isinstance(workspace, Response):
            return workspace
        mine = [self._public_webhook(w) for w in self.webhooks.values() if w["workspace"] == workspace]
        return Response(200, {"webhooks": mine})

    def update_webhook(self, request: Request) -> Response:
        webhook = self._own_webhook(request)
        if isinstance(webhook, Response):
            return webhook
        body = request.body if isinstance(request.body, dict) else {}
        for field in ("is_disabled", "name"):
            if field not in body:
                return self._missing(field)
        for field in ("is_disabled", "name", "retry_enabled", "request_headers", "events"):
            if field in body:
                webhook[field] = body[field]
        return Response(200, {"status": "ok"})

    def delete_webhook(self, request: Request) -> Response:
        webhook = self._own_webhook(request)
        if isinstance(webhook, Response):
            return webhook
        del self.webhooks[webhook["webhook_id"]]
        return Response(200, {"status": "ok"})

    @staticmethod
    def _public_webhook(webhook: dict[str, Any]) -> dict[str, Any]:
        hidden = ("workspace", "webhook_secret")
        return {k: v for k, v in webhook.items() if k not in hidden}

    # --- helpers -----------------------------------------------------------------------------
    def _missing(self, field: str) -> Response:
        loc = ["body", *field.split(".")]
        return Response(422, {"detail": [{"loc": loc, "msg": "Field required", "type": "missing"}]})

    def _new_conversation(self, workspace: str, agent_id: str, body: dict[str, Any]) -> str:
        conversation_id = new_id("conv_", 12)
        direction = body.get("direction", "outbound")
        self.conversations[conversation_id] = {
            "conversation_id": conversation_id,
            "agent_id": agent_id,
            "workspace": workspace,
            "status": "initiated",
            "transcript": [],
            "metadata": {
                "start_time_unix_secs": int(time.time()),
                "call_duration_secs": 0,
                "phone_call": {
                    "type": "twilio",
                    "direction": direction,
                    # Inbound: the caller is the far end; outbound: the callee.
                    "external_number": body.get("from_number" if direction == "inbound" else "to_number"),
                    "agent_number": body.get("to_number" if direction == "inbound" else "from_number"),
                    "call_sid": None,
                },
            },
            "analysis": None,
            "conversation_initiation_client_data": body.get("conversation_initiation_client_data") or {},
        }
        return conversation_id

    @staticmethod
    def _access() -> dict[str, Any]:
        return {"is_creator": True, "creator_name": "Sandbox", "creator_email": "sandbox@example.com", "role": "admin"}

    def _summary(self, agent: dict[str, Any]) -> dict[str, Any]:
        tts = (agent["conversation_config"] or {}).get("tts") or {}
        return {
            "agent_id": agent["agent_id"],
            "name": agent["name"],
            "voice_id": tts.get("voice_id", ""),
            "tags": agent["tags"],
            "created_at_unix_secs": agent["created_at_unix_secs"],
            "updated_at_unix_secs": agent["updated_at_unix_secs"],
            "access_info": self._access(),
        }

    @staticmethod
    def _commit(agent: dict[str, Any], description: str) -> None:
        """A new version on the agent's main branch, as every real create and PATCH makes."""
        versions = agent["versions"]
        now = int(time.time())
        versions.append(
            {
                "id": new_id("agtvrsn_", 12),
                "branch_id": agent["branch_id"],
                "version_description": description,
                "seq_no_in_branch": len(versions),
                "time_committed_secs": now,
                "parents": {"in_branch_parent_id": versions[-1]["id"] if versions else None},
            }
        )
        agent["updated_at_unix_secs"] = now

    def _full(self, agent: dict[str, Any]) -> dict[str, Any]:
        hidden = ("workspace", "versions", "created_at_unix_secs", "updated_at_unix_secs")
        public = {k: v for k, v in agent.items() if k not in hidden}
        return json.loads(
            json.dumps(
                {
                    **public,
                    "metadata": {
                        "created_at_unix_secs": agent["created_at_unix_secs"],
                        "updated_at_unix_secs": agent["updated_at_unix_secs"],
                    },
                    "version_id": agent["versions"][-1]["id"],
                    "main_branch_id": agent["branch_id"],
                    "access_info": self._access(),
                }
            )
        )

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps({k: v for k, v in item.items() if k != "workspace"}))


def _merged(base: Any, change: Any) -> Any:
    """`change` deep-merged into a copy of `base` (objects merge, everything else replaces)."""
    if not isinstance(base, dict) or not isinstance(change, dict):
        return json.loads(json.dumps(change))
    merged = dict(base)
    for key, value in change.items():
        merged[key] = _merged(base.get(key), value) if key in base else json.loads(json.dumps(value))
    return merged
