"""What an agent looks like at ElevenLabs: the JSON we push, the fields we read back, the tools.

Field names are the SDK's (providers.md §2.3): `conversation_config.agent.prompt.*`,
`tts.agent_output_audio_format`, `platform_settings.overrides`, `workspace_overrides.webhooks`,
`data_collection`, `evaluation`. The platform-managed parts (audio formats, override flags,
post-call webhook, tool ids) are re-asserted on every push, so an edit made at ElevenLabs can
never leave an agent unable to take our calls.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agents.models import Agent, Tool
from agents.variables import TOOL_TOKEN_VARIABLE

# Twilio media streams carry 8 kHz mu-law; register-call needs it both ways (providers.md §2.4).
TELEPHONY_AUDIO = "ulaw_8000"
# ElevenLabs requires the v2.5 (multilingual) models for non-English agents.
TTS_MODEL_ENGLISH, TTS_MODEL_MULTILINGUAL = "eleven_flash_v2", "eleven_flash_v2_5"
POST_CALL_EVENTS = ["transcript", "call_initiation_failure"]
TOOL_TOKEN_HEADER = "X-Prix-Tool-Token"
TOOL_RESPONSE_TIMEOUT_SECS = 10


def agent_tag(agent: Agent) -> str:
    """Names the PrixAgent agent at ElevenLabs: finds it again if a create's answer was lost."""
    return f"prix-agent-{agent.pk}"


def agent_tags(agent: Agent) -> list[str]:
    # The account tag says whose agent this is in the platform's shared workspace.
    return ["prixagent", f"prix-account-{agent.account_id}", agent_tag(agent)]


def conversation_config(agent: Agent, *, tool_ids: list[str], placeholders: dict[str, str]) -> dict[str, Any]:
    return {
        "agent": {
            "first_message": agent.first_message,
            "language": agent.language,
            "prompt": {
                "prompt": agent.system_prompt,
                "llm": agent.llm,
                "temperature": agent.temperature,
                "tool_ids": tool_ids,
            },
            "dynamic_variables": {"dynamic_variable_placeholders": {**placeholders, TOOL_TOKEN_VARIABLE: "none"}},
        },
        "tts": {
            "voice_id": agent.voice_id,
            "model_id": TTS_MODEL_ENGLISH if agent.language == "en" else TTS_MODEL_MULTILINGUAL,
            "agent_output_audio_format": TELEPHONY_AUDIO,
        },
        "asr": {"user_input_audio_format": TELEPHONY_AUDIO},
        "conversation": {"max_duration_seconds": agent.max_call_seconds},
    }


def platform_settings(agent: Agent, *, webhook_id: str) -> dict[str, Any]:
    return {
        # The calls app may override these per call (e.g. a first message in the contact's
        # language); ElevenLabs ignores overrides whose flag is off.
        "overrides": {
            "conversation_config_override": {
                "agent": {"first_message": True, "language": True, "prompt": {"prompt": True}},
                "tts": {"voice_id": True},
            }
        },
        "workspace_overrides": {"webhooks": {"post_call_webhook_id": webhook_id, "events": POST_CALL_EVENTS}},
        "data_collection": {
            item["id"]: {"type": item["type"], "description": item["description"]} for item in agent.data_collection
        },
        "evaluation": {
            "criteria": [
                {"id": c["id"], "name": c["name"], "type": "prompt", "conversation_goal_prompt": c["goal"]}
                for c in agent.evaluation_criteria
            ]
        },
    }


def revision(remote: dict[str, Any]) -> str:
    """The agent's current version at ElevenLabs (its update time if the API gave no version)."""
    if remote.get("version_id"):
        return str(remote["version_id"])
    return f"t{(remote.get('metadata') or {}).get('updated_at_unix_secs', '')}"


def editable_fields(remote: dict[str, Any]) -> dict[str, Any]:
    """The fields a tenant edits, as ElevenLabs has them (for "take theirs" and the drift banner)."""
    config = remote.get("conversation_config") or {}
    agent = config.get("agent") or {}
    prompt = agent.get("prompt") or {}
    platform = remote.get("platform_settings") or {}
    collection = platform.get("data_collection") or {}
    criteria = (platform.get("evaluation") or {}).get("criteria") or []
    fields = {
        "name": remote.get("name") or "",
        "language": agent.get("language") or "",
        "first_message": agent.get("first_message") or "",
        "system_prompt": prompt.get("prompt") or "",
        "llm": prompt.get("llm") or "",
        "temperature": prompt.get("temperature"),
        "voice_id": (config.get("tts") or {}).get("voice_id") or "",
        "max_call_seconds": (config.get("conversation") or {}).get("max_duration_seconds"),
        "data_collection": [
            {"id": key, "type": value.get("type") or "string", "description": value.get("description") or ""}
            for key, value in collection.items()
        ],
        "evaluation_criteria": [
            {"id": c.get("id") or "", "name": c.get("name") or "", "goal": c.get("conversation_goal_prompt") or ""}
            for c in criteria
        ],
    }
    return {key: value for key, value in fields.items() if value not in (None, "")}


# --- the server tools (one set per workspace, shared by its agents) -------------------------

_CORRELATION = {
    # Bound by ElevenLabs, not chosen by the LLM: which agent is calling (a token is accepted only
    # from the agent of its own session) and which conversation this is. (`system__call_sid`
    # exists only on Twilio calls, and a test call without it must still reach the tools.)
    "agent_id": {"type": "string", "dynamic_variable": "system__agent_id"},
    "conversation_id": {"type": "string", "dynamic_variable": "system__conversation_id"},
}

_TOOLS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    Tool.CHECK_AVAILABILITY: (
        "Find free appointment times in the business's calendar. Returns up to three times, each "
        "with a 'spoken' wording to say and a 'start' value to pass to book_appointment.",
        {
            "day": {
                "type": "string",
                "description": "The day the caller asked for, as YYYY-MM-DD. Leave empty for the next free times.",
            }
        },
        [],
    ),
    Tool.BOOK_APPOINTMENT: (
        "Book the appointment time the caller chose. Pass the 'start' value exactly as "
        "check_availability returned it. If the answer asks for an email, ask the caller and call again with it.",
        {
            "start": {"type": "string", "description": "The chosen time's 'start' value from check_availability."},
            "email": {"type": "string", "description": "The caller's email address, only if they gave one."},
            "name": {"type": "string", "description": "The caller's full name, only if they corrected it."},
        },
        ["start"],
    ),
    Tool.OPT_OUT: (
        "Put the caller on the do-not-call list. Use it at once when they ask not to be called again.",
        {"reason": {"type": "string", "description": "What the caller said, briefly."}},
        [],
    ),
    Tool.ADD_NOTE: (
        "Write a note on the caller's record for the team (a question, a request, a call-back time).",
        {"note": {"type": "string", "description": "The note, in one or two sentences."}},
        ["note"],
    ),
    Tool.UPDATE_CONTACT: (
        "Correct the caller's details when they give new ones. Send only the fields that changed.",
        {
            "first_name": {"type": "string", "description": "The caller's first name."},
            "last_name": {"type": "string", "description": "The caller's last name."},
            "email": {"type": "string", "description": "The caller's email address."},
            "company": {"type": "string", "description": "The caller's company."},
        },
        [],
    ),
}


def tool_config(tool: str, url: str) -> dict[str, Any]:
    """The webhook tool ElevenLabs calls for `tool` (providers.md §2.3)."""
    description, properties, required = _TOOLS[tool]
    return {
        "type": "webhook",
        "name": str(tool),
        "description": description,
        "response_timeout_secs": TOOL_RESPONSE_TIMEOUT_SECS,
        "api_schema": {
            "url": url,
            "method": "POST",
            "content_type": "application/json",
            # ElevenLabs does not sign tool calls: the per-call token is the only credential. It
            # travels as a `secret__` dynamic variable, which the LLM never sees.
            "request_headers": {TOOL_TOKEN_HEADER: {"variable_name": TOOL_TOKEN_VARIABLE}},
            "request_body_schema": {
                "type": "object",
                "description": f"Arguments of {tool}.",
                "properties": {**_CORRELATION, **properties},
                "required": ["agent_id", "conversation_id", *required],
            },
        },
    }


def tools_signature(configs: dict[str, dict[str, Any]]) -> str:
    """Changes whenever a tool's config (its URL, description or schema) changes."""
    return hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()
