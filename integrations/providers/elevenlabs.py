"""ElevenLabs Agents Platform, through the official SDK, with one key (a tenant's or the platform's).

- `api_key` is always passed explicitly: the SDK's default is os.getenv("ELEVENLABS_API_KEY"),
  read at import time, so a blank tenant key would silently become the platform's.
- The SDK retries every method (POST included) on 408/409/429/5xx, so calls that create things
  pass `NO_RETRY`: a retried create can duplicate an agent or, worse, a phone call.
- A 401 carries `detail.status`: `invalid_api_key` (wrong key) vs `missing_permissions` (a valid
  key without the scope we need); both are permanent, with different codes.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

import httpx
from django.views.decorators.debug import sensitive_variables
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError

from integrations.providers.base import (
    ProviderError,
    base_url,
    error_for_status,
    require,
    scrub,
    timeout,
    transport_error,
    unexpected,
)
from integrations.registry import Validation

PROVIDER = "ElevenLabs"
REAL_URL = "https://api.elevenlabs.io"
NO_RETRY: dict[str, Any] = {"max_retries": 0}
# Voice ids are 20 letters and digits; the id goes into the request path.
VOICE_ID = re.compile(r"[A-Za-z0-9]{8,64}")


@sensitive_variables()
def client(api_key: str, *, timeout_s: float | None = None) -> ElevenLabs:
    require(PROVIDER, api_key=api_key)
    return ElevenLabs(api_key=api_key, base_url=base_url("elevenlabs", REAL_URL), timeout=timeout_s or timeout())


@sensitive_variables()
def validate(api_key: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    """List one agent: needs `convai_read`, the permission the product actually uses."""
    el = client(api_key, timeout_s=timeout_s)
    # Validation is read-only, but a 429/5xx retry would sleep up to a minute inside a request.
    page = call(api_key, lambda: el.conversational_ai.agents.list(page_size=1, request_options=NO_RETRY))
    agents = getattr(page, "agents", None)
    if not isinstance(agents, list):
        raise unexpected(PROVIDER, "no agents list", page, (api_key,))
    return {"agents_visible": len(agents)}


@sensitive_variables()
def voice(api_key: str, voice_id: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    """Look a voice up (ELEVENLABS_VOICE_ID, an agent's voice): proves the key can use it."""
    require(PROVIDER, voice_id=voice_id)
    if not VOICE_ID.fullmatch(voice_id):
        raise ProviderError(f"{voice_id!r} is not a voice id", permanent=True, code="invalid_voice_id", status=None)
    el = client(api_key, timeout_s=timeout_s)
    found = call(api_key, lambda: el.voices.get(voice_id, request_options=NO_RETRY))
    if not isinstance(getattr(found, "voice_id", None), str):
        raise unexpected(PROVIDER, "no voice", found, (api_key,))
    return {"voice_id": found.voice_id, "name": found.name}


@sensitive_variables()
def call(api_key: str, fn: Any) -> Any:
    """Run one SDK call and map its failures to ProviderError."""
    try:
        return fn()
    except ApiError as exc:
        if exc.status_code is not None and exc.status_code < 400:
            # The SDK raises ApiError for a 2xx body it cannot read as JSON (e.g. a proxy's page).
            raise unexpected(PROVIDER, f"unreadable {exc.status_code} body", exc.body, (api_key,)) from exc
        raise _from_api_error(exc, api_key) from exc
    except (ValueError, TypeError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
        raise unexpected(PROVIDER, type(exc).__name__, exc, (api_key,)) from exc
    except httpx.TransportError as exc:
        raise transport_error(PROVIDER, exc) from exc


@sensitive_variables()
def _from_api_error(exc: ApiError, api_key: str) -> ProviderError:
    detail = exc.body.get("detail") if isinstance(exc.body, dict) else None
    status_name = detail.get("status") if isinstance(detail, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else None
    reason = scrub(str(message or status_name or detail or exc.body or "no reason given"), (api_key,))
    code = status_name if status_name in ("invalid_api_key", "missing_permissions", "voice_not_found") else None
    if code == "missing_permissions":
        # A valid key, but without the scope we need: the owner must fix the key's permissions.
        return ProviderError(reason, permanent=True, code=code, status=exc.status_code)
    return error_for_status(PROVIDER, exc.status_code or 500, reason, code=code)


# --- registry glue (integrations.registry) ---------------------------------------------------


@sensitive_variables()
def connect_check(creds: dict[str, str]) -> Validation:
    """Connect: list one agent, the permission the product needs (`convai_read`)."""
    info = validate(creds["api_key"])
    details = {"agents_visible": info.get("agents_visible")}
    return Validation(details, f"{details['agents_visible']} agent(s) visible")


# --- Agents Platform: agents, tools, workspace webhooks, voices (agents app) -----------------
# Every call below runs with SDK retries off: creates must never be repeated behind our back
# (a duplicate agent, tool or webhook), and a retried read would sleep up to a minute inside a
# request. Callers decide what to retry, and when.


def _dump(model: Any) -> dict[str, Any]:
    return model.dict() if hasattr(model, "dict") else dict(model)


def agent_create(
    api_key: str,
    *,
    name: str,
    conversation_config: dict[str, Any],
    platform_settings: dict[str, Any],
    tags: list[str],
    timeout_s: float | None = None,
) -> str:
    """`POST /v1/convai/agents/create`; the new agent's id."""
    el = client(api_key, timeout_s=timeout_s)
    created = call(
        api_key,
        lambda: el.conversational_ai.agents.create(
            name=name,
            conversation_config=conversation_config,  # type: ignore[arg-type]  # plain JSON is passed through
            platform_settings=platform_settings,  # type: ignore[arg-type]
            tags=tags,
            request_options=NO_RETRY,
        ),
    )
    return created.agent_id


def agent_get(api_key: str, agent_id: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    """`GET /v1/convai/agents/{id}`: the whole agent, with its current `version_id`."""
    el = client(api_key, timeout_s=timeout_s)
    return _dump(call(api_key, lambda: el.conversational_ai.agents.get(agent_id, request_options=NO_RETRY)))


def agent_update(
    api_key: str,
    agent_id: str,
    *,
    name: str,
    conversation_config: dict[str, Any],
    platform_settings: dict[str, Any],
    tags: list[str],
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """`PATCH /v1/convai/agents/{id}`: answers with the whole agent and its new `version_id`."""
    el = client(api_key, timeout_s=timeout_s)
    updated = call(
        api_key,
        lambda: el.conversational_ai.agents.update(
            agent_id,
            name=name,
            conversation_config=conversation_config,  # type: ignore[arg-type]
            platform_settings=platform_settings,  # type: ignore[arg-type]
            tags=tags,
            request_options=NO_RETRY,
        ),
    )
    return _dump(updated)


def agent_delete(api_key: str, agent_id: str, *, timeout_s: float | None = None) -> None:
    el = client(api_key, timeout_s=timeout_s)
    call(api_key, lambda: el.conversational_ai.agents.delete(agent_id, request_options=NO_RETRY))


def agent_ids_tagged(api_key: str, tag: str, *, timeout_s: float | None = None) -> list[str]:
    """Ids of the workspace's agents carrying `tag` (finds an agent whose create answer was lost)."""
    el = client(api_key, timeout_s=timeout_s)
    page = call(api_key, lambda: el.conversational_ai.agents.list(tags=[tag], page_size=100, request_options=NO_RETRY))
    return [agent.agent_id for agent in page.agents]


def tool_create(api_key: str, tool_config: dict[str, Any], *, timeout_s: float | None = None) -> str:
    """`POST /v1/convai/tools` (a workspace tool, referenced from agents by id)."""
    el = client(api_key, timeout_s=timeout_s)
    tool = call(
        api_key,
        lambda: el.conversational_ai.tools.create(
            request={"tool_config": tool_config},  # type: ignore[arg-type]
            request_options=NO_RETRY,
        ),
    )
    return tool.id


def tool_update(api_key: str, tool_id: str, tool_config: dict[str, Any], *, timeout_s: float | None = None) -> None:
    """`PATCH /v1/convai/tools/{id}` with the whole config."""
    el = client(api_key, timeout_s=timeout_s)
    call(
        api_key,
        lambda: el.conversational_ai.tools.update(
            tool_id,
            request={"tool_config": tool_config},  # type: ignore[arg-type]
            request_options=NO_RETRY,
        ),
    )


def webhook_create(api_key: str, *, name: str, url: str, timeout_s: float | None = None) -> tuple[str, str]:
    """`POST /v1/workspace/webhooks` (HMAC): (webhook id, signing secret). The secret is shown once."""
    el = client(api_key, timeout_s=timeout_s)
    created = call(
        api_key,
        lambda: el.webhooks.create(
            settings={"auth_type": "hmac", "name": name, "webhook_url": url},  # type: ignore[arg-type]
            request_options=NO_RETRY,
        ),
    )
    if not created.webhook_secret:
        raise ProviderError(
            f"{PROVIDER} created webhook {created.webhook_id} without a signing secret",
            permanent=True,
            code="no_webhook_secret",
        )
    return created.webhook_id, created.webhook_secret


def voices_list(api_key: str, *, timeout_s: float | None = None) -> list[dict[str, Any]]:
    """`GET /v1/voices`: the voices this key can use, as {voice_id, name, category, labels}."""
    el = client(api_key, timeout_s=timeout_s)
    found = call(api_key, lambda: el.voices.get_all(request_options=NO_RETRY))
    return [
        {"voice_id": v.voice_id, "name": v.name or v.voice_id, "category": v.category or "", "labels": v.labels or {}}
        for v in found.voices
    ]


# --- calls (the calls app) -------------------------------------------------------------------
# register-call runs while the callee listens to silence (Twilio waits up to 15 s for TwiML), so
# it gets a short timeout of its own; like every call here, SDK retries stay off. Building an SDK
# client costs ~25 ms (an httpx client and its TLS context) and a new connection each time, so
# the calls path keeps one client per key and base URL in the process (bench/calls_webhooks.py).
REGISTER_CALL_TIMEOUT = 5.0
_CALL_CLIENTS: dict[tuple[str, str, float], ElevenLabs] = {}
_CALL_CLIENTS_MAX = 256
_call_clients_lock = threading.Lock()


@sensitive_variables()
def _call_client(api_key: str, timeout_s: float) -> ElevenLabs:
    require(PROVIDER, api_key=api_key)
    slot = (hashlib.sha256(api_key.encode()).hexdigest(), base_url("elevenlabs", REAL_URL), timeout_s)
    with _call_clients_lock:
        found = _CALL_CLIENTS.get(slot)
        if found is None:
            if len(_CALL_CLIENTS) >= _CALL_CLIENTS_MAX:
                _CALL_CLIENTS.pop(next(iter(_CALL_CLIENTS)))
            found = _CALL_CLIENTS[slot] = client(api_key, timeout_s=timeout_s)
        return found


def register_call(
    api_key: str,
    *,
    agent_id: str,
    from_number: str,
    to_number: str,
    direction: str,
    client_data: dict[str, Any],
    timeout_s: float | None = None,
) -> str:
    """`POST /v1/convai/twilio/register-call`: the TwiML that connects the call to the agent."""
    el = _call_client(api_key, timeout_s or REGISTER_CALL_TIMEOUT)
    twiml = call(
        api_key,
        lambda: el.conversational_ai.twilio.register_call(
            agent_id=agent_id,
            from_number=from_number,
            to_number=to_number,
            direction=direction,  # type: ignore[arg-type]
            conversation_initiation_client_data=client_data,  # type: ignore[arg-type]
            request_options=NO_RETRY,
        ),
    )
    if not isinstance(twiml, str) or "<Response" not in twiml:
        raise unexpected(PROVIDER, "register-call answered without TwiML", twiml, (api_key,))
    return twiml


def conversation_get(api_key: str, conversation_id: str, *, timeout_s: float | None = None) -> dict[str, Any]:
    """`GET /v1/convai/conversations/{id}`: what the post-call webhook carries, for reconciliation."""
    el = client(api_key, timeout_s=timeout_s)
    found = call(api_key, lambda: el.conversational_ai.conversations.get(conversation_id, request_options=NO_RETRY))
    return _dump(found)


def conversation_ids_for_user(
    api_key: str, *, agent_id: str, user_id: str, since_unix: int, timeout_s: float | None = None
) -> list[str]:
    """Ids of the agent's conversations started after `since_unix` whose `user_id` is ours."""
    el = client(api_key, timeout_s=timeout_s)
    page = call(
        api_key,
        lambda: el.conversational_ai.conversations.list(
            agent_id=agent_id,
            user_id=user_id,
            call_start_after_unix=since_unix,
            page_size=10,
            request_options=NO_RETRY,
        ),
    )
    conversations = getattr(page, "conversations", None)
    if not isinstance(conversations, list):
        raise unexpected(PROVIDER, "no conversations list", page, (api_key,))
    return [c.conversation_id for c in conversations]


def speech(
    api_key: str, *, voice_id: str, text: str, model_id: str, language_code: str, timeout_s: float | None = None
) -> bytes:
    """`POST /v1/text-to-speech/{voice_id}`: `text` spoken in the voice, as MP3."""
    if not VOICE_ID.fullmatch(voice_id):
        raise ProviderError(f"{voice_id!r} is not a voice id", permanent=True, code="invalid_voice_id", status=None)
    el = client(api_key, timeout_s=timeout_s)
    # Only the multilingual (v2.5) models take a language code; the English one refuses it.
    language = {"language_code": language_code} if language_code else {}
    chunks = call(
        api_key,
        lambda: b"".join(
            el.text_to_speech.convert(
                voice_id,
                text=text,
                model_id=model_id,
                output_format="mp3_22050_32",
                request_options=NO_RETRY,
                **language,
            )
        ),
    )
    if not chunks:
        raise unexpected(PROVIDER, "no audio", b"", (api_key,))
    return chunks
