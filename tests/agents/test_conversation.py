"""A whole call's tool use, played by the ElevenLabs sandbox against our live server.

The calls app's part is stood in for by what it will do: open a tool session, build the dynamic
variables, register the call. ElevenLabs' part (the sandbox) then calls the agent's tools at
the URL and with the headers our sync configured, filling the token from `secret__` variables.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from elevenlabs import ElevenLabs

from accounts.models import Account
from agents import selectors, services
from agents.models import Agent, Booking, ToolInvocation
from contacts.models import Contact
from tests.agents.conftest import connect_calcom


@pytest.fixture
def live_agent(live_server: Any, settings: Any, provider_sandbox: Any, alice_account: Account, alice_key: str) -> Agent:
    settings.API_URL = f"{live_server.url}/api/v1"  # the tools are created pointing at this server
    connect_calcom(provider_sandbox, alice_account)
    return services.agent_create_from_template(account=alice_account, template="appointment_setter", language="en")


def register_call(sb: Any, key: str, agent: Agent, variables: dict[str, str]) -> str:
    el = ElevenLabs(api_key=key, base_url=sb.base_urls["elevenlabs"])
    twiml = el.conversational_ai.twilio.register_call(
        agent_id=agent.elevenlabs_agent_id,
        from_number="+15005550006",
        to_number="+14155550123",
        direction="outbound",
        conversation_initiation_client_data={"dynamic_variables": variables},
        request_options={"max_retries": 0},
    )
    return re.search(r"token=(conv_[0-9a-z]+)", twiml).group(1)


def next_tuesday() -> str:
    day = timezone.now().date() + timedelta(days=2)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return day.isoformat()


def test_a_scripted_call_checks_availability_and_books_once(
    provider_sandbox: Any, live_agent: Agent, alice_account: Account, alice_contact: Contact, alice_key: str
) -> None:
    session, token = services.tool_session_open(account=alice_account, agent=live_agent, contact=alice_contact)
    variables = selectors.agent_dynamic_variables(agent=live_agent, contact=alice_contact, session_token=token)
    conversation = register_call(provider_sandbox, alice_key, live_agent, variables)

    offered = provider_sandbox.elevenlabs.play(
        conversation_id=conversation, tool_calls=[{"tool": "check_availability", "parameters": {"day": next_tuesday()}}]
    )
    [result] = offered["tool_results"]
    assert result["status"] == 200 and result["response"]["status"] == "ok", result
    assert result["headers"]["X-Prix-Tool-Token"] == token
    assert result["body"]["agent_id"] == live_agent.elevenlabs_agent_id
    assert result["body"]["conversation_id"] == conversation
    start = result["response"]["slots"][0]["start"]

    book = {"tool": "book_appointment", "parameters": {"start": start, "email": "ana@tacos.example"}}
    booked = provider_sandbox.elevenlabs.play(conversation_id=conversation, tool_calls=[book, book])
    assert [r["response"]["status"] for r in booked["tool_results"]] == ["booked", "already_booked"]
    assert Booking.objects.get().conversation_key == conversation
    assert len(provider_sandbox.calcom.bookings) == 1
    logged = ToolInvocation.objects.filter(session=session).order_by("created_at")
    assert [i.tool for i in logged] == ["check_availability", "book_appointment", "book_appointment"]
    assert {i.conversation_id for i in logged} == {conversation}
    transcript = provider_sandbox.elevenlabs.conversations[conversation]["transcript"]
    assert [t["tool_calls"][0]["tool_name"] for t in transcript] == [
        "check_availability",
        "book_appointment",
        "book_appointment",
    ]


def test_a_call_without_a_live_token_gets_nothing_done(
    provider_sandbox: Any, live_agent: Agent, alice_account: Account, alice_contact: Contact, alice_key: str
) -> None:
    session, token = services.tool_session_open(account=alice_account, agent=live_agent, contact=alice_contact)
    variables = selectors.agent_dynamic_variables(agent=live_agent, contact=alice_contact, session_token=token)
    conversation = register_call(provider_sandbox, alice_key, live_agent, variables)
    services.tool_session_close(session=session)  # the call ended; a late or replayed tool call
    played = provider_sandbox.elevenlabs.play(
        conversation_id=conversation, tool_calls=[{"tool": "opt_out", "parameters": {"reason": "stop"}}]
    )
    assert played["tool_results"][0]["status"] == 401
    test_call = provider_sandbox.elevenlabs.play(  # an ElevenLabs test call: the placeholder token
        agent_id=live_agent.elevenlabs_agent_id, tool_calls=[{"tool": "opt_out", "parameters": {}}]
    )
    assert test_call["tool_results"][0]["status"] == 401
    assert not ToolInvocation.objects.exists()
    alice_contact.refresh_from_db()
    assert not alice_contact.do_not_call
