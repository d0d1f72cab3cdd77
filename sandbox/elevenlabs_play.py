"""A scripted ElevenLabs conversation: an agent's webhook tools called the way ElevenLabs calls them.

`POST /_sandbox/conversations/play` (or `sb.elevenlabs.play(...)`) takes a script::

    {
      "agent_id": "agent_…",              # or "conversation_id" of a register-call / outbound call
      "dynamic_variables": {"first_name": "Ana", "secret__prix_tool_token": "…"},
      "tool_calls": [{"tool": "check_availability", "parameters": {"day": "2030-01-07"}}],
      "analysis": {"call_successful": "success", "data_collection_results": {…}},
      "call_duration_secs": 42,
      "deliver_webhook": true
    }

and, for each tool call, does what ElevenLabs does with a server (webhook) tool: it finds the tool by
name among the agent's `tool_ids` in the agent's workspace, fills the URL's `{path_params}`, the
headers (`{"variable_name": …}` values come from the conversation's dynamic variables, `secret__`
ones included) and the body (`dynamic_variable` properties from the variables, `system__*` ones
included; `constant_value` as configured; the rest from the script's `parameters`, standing in for
the LLM), then sends the request with the tool's `response_timeout_secs`. The tool calls and
results go into the conversation's transcript. With `deliver_webhook`, the conversation ends and
its `post_call_transcription` is POSTed to the agent's post-call webhook, signed with that
webhook's secret.

Outbound HTTP runs without the app's lock held: the server under test may call the sandbox back.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandbox.base import new_id
from sandbox.elevenlabs import ElevenLabsApp, elevenlabs_signature

DEFAULT_TOOL_TIMEOUT = 20  # seconds; ElevenLabs' default response_timeout_secs


class ScriptError(ValueError):
    """The script asks for something ElevenLabs could not do (answers 400 on the control API)."""


def play(app: ElevenLabsApp, **script: Any) -> dict[str, Any]:
    with app.lock:
        conversation, agent = _conversation_and_agent(app, script)
        variables = _variables(agent, conversation, script.get("dynamic_variables") or {})
        calls = [_prepare(app, agent, call, variables) for call in script.get("tool_calls") or []]
    results = [_send(call) if "error" not in call else call for call in calls]
    ending = bool(script.get("deliver_webhook"))
    with app.lock:
        _record(conversation, results)
        conversation["status"] = "in-progress"
        target = _finish(app, agent, conversation, script) if ending else None
    webhook = None
    if ending:
        webhook = _deliver(*target) if target else {"error": "the agent has no post-call webhook"}
    return {"conversation_id": conversation["conversation_id"], "tool_results": results, "webhook": webhook}


def _conversation_and_agent(app: ElevenLabsApp, script: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if script.get("conversation_id"):
        conversation = app.conversations.get(script["conversation_id"])
        if conversation is None:
            raise ScriptError(f"unknown conversation {script['conversation_id']}")
        agent = app.agents.get(conversation["agent_id"])
    else:
        agent = app.agents.get(script.get("agent_id") or "")
        if agent is None:
            raise ScriptError(f"unknown agent {script.get('agent_id')}")
        conversation_id = app._new_conversation(agent["workspace"], agent["agent_id"], {"direction": "outbound"})
        conversation = app.conversations[conversation_id]
    if agent is None:
        raise ScriptError("the conversation's agent was deleted")
    phone = conversation["metadata"]["phone_call"]
    phone["call_sid"] = phone.get("call_sid") or new_id("CA")
    return conversation, agent


def _variables(agent: dict[str, Any], conversation: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Placeholders < the call's dynamic variables < the script's; system variables always win."""
    config = (agent["conversation_config"] or {}).get("agent") or {}
    placeholders = (config.get("dynamic_variables") or {}).get("dynamic_variable_placeholders") or {}
    initiation = (conversation.get("conversation_initiation_client_data") or {}).get("dynamic_variables") or {}
    phone = conversation["metadata"]["phone_call"]
    outbound = phone.get("direction") != "inbound"
    system = {
        "system__agent_id": agent["agent_id"],
        "system__current_agent_id": agent["agent_id"],
        "system__conversation_id": conversation["conversation_id"],
        "system__call_sid": phone["call_sid"],
        "system__caller_id": phone.get("agent_number") if outbound else phone.get("external_number"),
        "system__called_number": phone.get("external_number") if outbound else phone.get("agent_number"),
        "system__time_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "system__call_duration_secs": int(time.time()) - conversation["metadata"]["start_time_unix_secs"],
    }
    return {**placeholders, **initiation, **extra, **system}


def _prepare(
    app: ElevenLabsApp, agent: dict[str, Any], call: dict[str, Any], variables: dict[str, Any]
) -> dict[str, Any]:
    name = call.get("tool") or ""
    prompt = ((agent["conversation_config"] or {}).get("agent") or {}).get("prompt") or {}
    tool = next(
        (
            app.tools[tool_id]
            for tool_id in prompt.get("tool_ids") or []
            if tool_id in app.tools
            and app.tools[tool_id]["workspace"] == agent["workspace"]
            and app.tools[tool_id]["tool_config"].get("name") == name
        ),
        None,
    )
    if tool is None or tool["tool_config"].get("type") != "webhook":
        return {"tool": name, "error": f"the agent has no webhook tool named {name!r}"}
    config = tool["tool_config"]
    schema = config["api_schema"]
    parameters = call.get("parameters") or {}
    try:
        url = _url(schema, parameters, variables)
        headers = {key: _header(value, variables) for key, value in (schema.get("request_headers") or {}).items()}
        body = _object(schema.get("request_body_schema"), parameters, variables)
    except ScriptError as exc:
        return {"tool": name, "error": str(exc)}
    return {
        "tool": name,
        "tool_id": tool["id"],
        "method": (schema.get("method") or "GET").upper(),
        "url": url,
        "headers": headers,
        "body": body,
        "timeout": config.get("response_timeout_secs") or DEFAULT_TOOL_TIMEOUT,
    }


def _value(prop: dict[str, Any], name: str, parameters: dict[str, Any], variables: dict[str, Any]) -> Any:
    if prop.get("dynamic_variable"):
        if prop["dynamic_variable"] not in variables:
            raise ScriptError(f"missing dynamic variable {prop['dynamic_variable']!r}")
        return variables[prop["dynamic_variable"]]
    if "constant_value" in prop and prop["constant_value"] is not None:
        return prop["constant_value"]
    if prop.get("type") == "object":
        return _object(prop, parameters.get(name) or {}, variables)
    return parameters.get(name)


def _object(schema: dict[str, Any] | None, parameters: dict[str, Any], variables: dict[str, Any]) -> Any:
    if not schema:
        return None
    body = {}
    for name, prop in (schema.get("properties") or {}).items():
        value = _value(prop, name, parameters, variables)
        if value is None:
            if name in (schema.get("required") or []):
                raise ScriptError(f"the LLM did not provide the required parameter {name!r}")
            continue
        body[name] = value
    return body


def _header(value: Any, variables: dict[str, Any]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("variable_name"):
        if value["variable_name"] not in variables:
            raise ScriptError(f"missing dynamic variable {value['variable_name']!r}")
        return str(variables[value["variable_name"]])
    raise ScriptError(f"unsupported header value {value!r} (workspace secrets are not in the sandbox)")


def _url(schema: dict[str, Any], parameters: dict[str, Any], variables: dict[str, Any]) -> str:
    url = schema["url"]
    for name, prop in (schema.get("path_params_schema") or {}).items():
        url = url.replace("{" + name + "}", str(_value(prop, name, parameters, variables)))
    if re.search(r"\{[A-Za-z0-9_]+\}", url):
        raise ScriptError(f"unfilled path parameter in {url}")
    query = _object(schema.get("query_params_schema"), parameters, variables)
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}" if query else url


def _http(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> tuple[int, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ScriptError(f"unsupported URL scheme in {url}")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=timeout)
    try:
        path = parts.path or "/"
        connection.request(method, f"{path}?{parts.query}" if parts.query else path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _send(call: dict[str, Any]) -> dict[str, Any]:
    headers = {**call["headers"], "User-Agent": "ElevenLabs-Sandbox/1.0"}
    raw = None
    if call["body"] is not None and call["method"] != "GET":
        raw = json.dumps(call["body"]).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    try:
        status, payload = _http(call["method"], call["url"], headers, raw, call["timeout"])
    except (OSError, http.client.HTTPException) as exc:
        return {**call, "status": None, "error": f"{type(exc).__name__}: {exc}"}
    elapsed = time.perf_counter() - started
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload.decode("utf-8", "replace")
    return {**call, "status": status, "response": body, "elapsed_secs": round(elapsed, 4)}


def _record(conversation: dict[str, Any], results: list[dict[str, Any]]) -> None:
    for result in results:
        request_id = new_id("req_", 8)
        is_error = result.get("status") is None or result["status"] >= 400
        conversation["transcript"].append(
            {
                "role": "agent",
                "message": None,
                "time_in_call_secs": int(time.time()) - conversation["metadata"]["start_time_unix_secs"],
                "tool_calls": [
                    {
                        "type": "webhook",
                        "request_id": request_id,
                        "tool_name": result["tool"],
                        "params_as_json": json.dumps(result.get("body") or {}),
                        "tool_has_been_called": "error" not in result or result.get("status") is not None,
                    }
                ],
                "tool_results": [
                    {
                        "type": "webhook",
                        "request_id": request_id,
                        "tool_name": result["tool"],
                        "result_value": json.dumps(result.get("response", result.get("error"))),
                        "is_error": is_error,
                        "tool_has_been_called": result.get("status") is not None,
                    }
                ],
            }
        )


def _finish(
    app: ElevenLabsApp, agent: dict[str, Any], conversation: dict[str, Any], script: dict[str, Any]
) -> tuple[str, str, str] | None:
    """End the conversation; the (url, secret, body) of its post-call webhook, if the agent has one."""
    conversation["status"] = "done"
    conversation["metadata"]["call_duration_secs"] = int(script.get("call_duration_secs") or 0)
    conversation["analysis"] = {
        "call_successful": "success",
        "transcript_summary": "",
        "call_summary_title": "",
        "data_collection_results": {},
        "evaluation_criteria_results": {},
        **(script.get("analysis") or {}),
    }
    webhooks = ((agent.get("platform_settings") or {}).get("workspace_overrides") or {}).get("webhooks") or {}
    webhook = app.webhooks.get(webhooks.get("post_call_webhook_id") or "")
    if webhook is None or webhook["workspace"] != agent["workspace"] or webhook.get("is_disabled"):
        return None
    data = {k: v for k, v in conversation.items() if k != "workspace"}
    body = json.dumps({"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": data})
    return webhook["webhook_url"], webhook["webhook_secret"], body


def _deliver(url: str, secret: str, body: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "ElevenLabs-Signature": elevenlabs_signature(secret, body)}
    try:
        status, _payload = _http("POST", url, headers, body.encode(), DEFAULT_TOOL_TIMEOUT)
    except (OSError, http.client.HTTPException) as exc:
        return {"url": url, "status": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"url": url, "status": status}
