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


# --- a phone call's conversation (Twilio's media stream reached the agent) --------------------
# `converse` runs while the call is up (the turns, calling the agent's tools for real), `hang_up`
# when it ends (the analysis, then the post-call webhook: `deliver`, `skip`, `twice` or `late`).
# A script gives `turns` (`{"role", "message"}` or `{"tool", "parameters"}`), or a `scenario`:
# `book` (check availability, book the first time offered), `opt_out`, `chat`. Values starting
# with "$last." come from the previous tool's answer ("$last.slots.0.start"), "$var." from the
# conversation's dynamic variables, and "$first_message" is the agent's, variables filled in.

SCENARIOS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "book": {
        "en": [
            {"role": "agent", "message": "$first_message"},
            {"role": "user", "message": "Hi! Yes, I'd like to find a time to talk."},
            {"tool": "check_availability", "parameters": {}},
            {"role": "agent", "message": "$last.message"},
            {"role": "user", "message": "The first one works for me."},
            {"tool": "book_appointment", "parameters": {"start": "$last.slots.0.start", "email": "$var.email"}},
            {"role": "agent", "message": "$last.message"},
            {"role": "user", "message": "Perfect, thank you. Bye!"},
        ],
        "es": [
            {"role": "agent", "message": "$first_message"},
            {"role": "user", "message": "¡Hola! Sí, me gustaría encontrar un momento para hablar."},
            {"tool": "check_availability", "parameters": {}},
            {"role": "agent", "message": "$last.message"},
            {"role": "user", "message": "La primera me viene bien."},
            {"tool": "book_appointment", "parameters": {"start": "$last.slots.0.start", "email": "$var.email"}},
            {"role": "agent", "message": "$last.message"},
            {"role": "user", "message": "Perfecto, gracias. ¡Adiós!"},
        ],
    },
    "opt_out": {
        "en": [
            {"role": "agent", "message": "$first_message"},
            {"role": "user", "message": "Please don't call me again."},
            {"tool": "opt_out", "parameters": {"reason": "Asked not to be called again"}},
            {"role": "agent", "message": "$last.message"},
        ],
        "es": [
            {"role": "agent", "message": "$first_message"},
            {"role": "user", "message": "Por favor, no me vuelvan a llamar."},
            {"tool": "opt_out", "parameters": {"reason": "Pidió que no le vuelvan a llamar"}},
            {"role": "agent", "message": "$last.message"},
        ],
    },
    "chat": {
        "en": [
            {"role": "agent", "message": "$first_message"},
            {"role": "user", "message": "Not right now, thanks. Maybe next month."},
            {"role": "agent", "message": "No problem at all. Have a great day!"},
        ],
        "es": [
            {"role": "agent", "message": "$first_message"},
            {"role": "user", "message": "Ahora no, gracias. Quizá el mes que viene."},
            {"role": "agent", "message": "Sin problema. ¡Que tenga un buen día!"},
        ],
    },
}
DEMO_EMAIL = "caller@example.com"  # what a scripted caller spells out when the contact has no email


def _path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _filled(value: Any, last: dict[str, Any], variables: dict[str, Any], first_message: str) -> Any:
    if isinstance(value, dict):
        return {k: _filled(v, last, variables, first_message) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    if value == "$first_message":
        return re.sub(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", lambda m: str(variables.get(m.group(1), "")), first_message)
    if value.startswith("$last."):
        return _path(last, value[len("$last.") :])
    if value == "$var.email":
        return variables.get("email") or DEMO_EMAIL
    if value.startswith("$var."):
        return variables.get(value[len("$var.") :])
    return value


def _turns(agent: dict[str, Any], script: dict[str, Any]) -> list[dict[str, Any]]:
    if script.get("turns"):
        return list(script["turns"])
    language = ((agent["conversation_config"] or {}).get("agent") or {}).get("language") or "en"
    scenario = SCENARIOS.get(script.get("scenario") or "chat", SCENARIOS["chat"])
    return scenario.get(language, scenario["en"])


def converse(app: ElevenLabsApp, conversation_id: str, call_sid: str, script: dict[str, Any]) -> None:
    with app.lock:
        conversation = app.conversations.get(conversation_id)
        agent = app.agents.get(conversation["agent_id"]) if conversation else None
        if conversation is None or agent is None:
            return
        conversation["metadata"]["phone_call"]["call_sid"] = call_sid
        conversation["status"] = "in-progress"
        variables = _variables(agent, conversation, script.get("dynamic_variables") or {})
        first = ((agent["conversation_config"] or {}).get("agent") or {}).get("first_message") or ""
        turns = _turns(agent, script)
    delay = float(script.get("delay", 0))
    last: dict[str, Any] = {}
    for turn in turns:
        if turn.get("tool"):
            parameters = _filled(turn.get("parameters") or {}, last, variables, first)
            with app.lock:
                call = _prepare(app, agent, {"tool": turn["tool"], "parameters": parameters}, variables)
            result = _send(call) if "error" not in call else call
            with app.lock:
                _record(conversation, [result])
            last = result.get("response") if isinstance(result.get("response"), dict) else {}
        else:
            message = _filled(turn.get("message") or "", last, variables, first)
            with app.lock:
                conversation["transcript"].append(
                    {
                        "role": "agent" if turn.get("role") == "agent" else "user",
                        "message": str(message or ""),
                        "time_in_call_secs": int(time.time()) - conversation["metadata"]["start_time_unix_secs"],
                        "tool_calls": [],
                        "tool_results": [],
                    }
                )
        if delay:
            time.sleep(delay)


def _tool_answers(conversation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    answers: dict[str, dict[str, Any]] = {}
    for turn in conversation["transcript"]:
        for result in turn.get("tool_results") or []:
            try:
                value = json.loads(result.get("result_value") or "null")
            except ValueError:
                value = None
            if isinstance(value, dict):
                answers[result.get("tool_name") or ""] = value
    return answers


def _default_analysis(agent: dict[str, Any], conversation: dict[str, Any]) -> dict[str, Any]:
    """What ElevenLabs' analysis would say about a scripted conversation."""
    answers = _tool_answers(conversation)
    booked = (answers.get("book_appointment") or {}).get("status") in ("booked", "already_booked")
    opted_out = (answers.get("opt_out") or {}).get("status") == "ok"
    when = ((answers.get("book_appointment") or {}).get("booking") or {}).get("spoken") or ""
    if booked:
        summary = f"The caller agreed to an appointment and was booked for {when}."
    elif opted_out:
        summary = "The caller asked not to be called again and was put on the do-not-call list."
    else:
        summary = "The caller was not interested right now."
    platform = agent.get("platform_settings") or {}
    results = {}
    for key, spec in (platform.get("data_collection") or {}).items():
        kind = (spec or {}).get("type")
        value: Any = booked if kind == "boolean" else (1 if kind in ("integer", "number") else summary[:60])
        results[key] = {"data_collection_id": key, "value": value, "rationale": "Scripted by the sandbox."}
    criteria = (platform.get("evaluation") or {}).get("criteria") or []
    evaluation = {
        c.get("id"): {"criteria_id": c.get("id"), "result": "success" if booked else "failure", "rationale": summary}
        for c in criteria
        if c.get("id")
    }
    return {
        "call_successful": "success" if booked or opted_out else "failure",
        "transcript_summary": summary,
        "call_summary_title": "Appointment booked" if booked else ("Opted out" if opted_out else "Not interested"),
        "data_collection_results": results,
        "evaluation_criteria_results": evaluation,
    }


def hang_up(app: ElevenLabsApp, conversation_id: str, script: dict[str, Any], duration: int) -> None:
    with app.lock:
        conversation = app.conversations.get(conversation_id)
        agent = app.agents.get(conversation["agent_id"]) if conversation else None
        if conversation is None or agent is None:
            return
        analysis = script.get("analysis") or _default_analysis(agent, conversation)
        conversation["metadata"]["termination_reason"] = "Call ended by remote party"
        target = _finish(app, agent, conversation, {"call_duration_secs": duration, "analysis": analysis})
    mode = script.get("webhook", "deliver")
    if target is None or mode == "skip":
        return
    if mode == "late":
        time.sleep(float(script.get("late_seconds", 1.0)))
    for _copy in range(2 if mode == "twice" else 1):
        outcome = _deliver(*target)
        with app.lock:
            app.deliveries.append({"conversation_id": conversation_id, **outcome})
