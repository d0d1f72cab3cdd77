"""Call blocks other apps' pages include: "Call now" and the contact's calls on the contact page,
the test call on the agent page. `{% load calls_tags %}{% call_now contact %}`."""

from __future__ import annotations

from typing import Any

from django import template

from calls.forms import CallNowForm, TestCallForm, ready_agents
from calls.selectors import calls_for_contact

register = template.Library()


@register.inclusion_tag("calls/_call_now.html", takes_context=True)
def call_now(context: dict[str, Any], contact: Any) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    can_call = user.can_manage and not contact.do_not_call
    return {
        "contact": contact,
        "form": CallNowForm(account=user.account, contact=contact) if can_call else None,
        "has_agent": ready_agents(user.account).exists(),
        "calls": calls_for_contact(contact),
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
    }


@register.inclusion_tag("calls/_test_call.html", takes_context=True)
def test_call(context: dict[str, Any], agent: Any) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    ready = bool(agent.elevenlabs_agent_id)
    return {
        "agent": agent,
        "form": TestCallForm(account=user.account, initial={"agent": agent.pk}) if user.can_manage and ready else None,
        "ready": ready,
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
    }
