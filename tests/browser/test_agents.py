"""Create an agent from a template, insert a variable by clicking it, save, and resolve drift,
in a real Chromium against the provider sandbox."""

from __future__ import annotations

import os
from typing import Any

import pytest

from accounts.models import User
from agents.models import Agent
from tests.agents.conftest import connect_elevenlabs
from tests.browser.test_integrations import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("PRIX_SCREENSHOTS")  # a directory: save screenshots there for a visual check


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=full_page)


def test_it_builds_an_agent_in_the_browser(page: Any, alice: User, provider_sandbox: Any) -> None:
    connect_elevenlabs(provider_sandbox, alice.account)
    log_in(page, alice)
    page.get_by_role("link", name="Agents", exact=True).click()
    page.wait_for_url("**/app/agents/")
    page.get_by_label("Template").select_option("appointment_setter")
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Create from template").click()
    page.wait_for_url("**/app/agents/*/")
    assert page.get_by_text("Agent created. It is live at ElevenLabs.").is_visible()
    agent = Agent.objects.get(account=alice.account)
    assert agent.name == "Agendador de citas" and agent.sync_status == Agent.SyncStatus.SYNCED
    shot(page, "agent-edit-desktop")

    first = page.get_by_label("First message")
    first.fill("Hola ")
    first.focus()
    page.locator(".agent-variable", has_text="{{company}}").click()  # inserted at the cursor
    assert first.input_value() == "Hola {{company}}"
    with page.expect_navigation():
        page.get_by_role("button", name="Save and push to ElevenLabs").click()
    shot(page, "agent-saved")
    assert page.get_by_text("Saved. It is live at ElevenLabs.").is_visible()
    agent.refresh_from_db()
    assert agent.first_message == "Hola {{company}}"
    assert (
        provider_sandbox.elevenlabs.agents[agent.elevenlabs_agent_id]["conversation_config"]["agent"]["first_message"]
        == "Hola {{company}}"
    )

    provider_sandbox.elevenlabs.edit_agent(agent.elevenlabs_agent_id, name="Renamed at ElevenLabs")
    with page.expect_navigation():
        page.get_by_role("button", name="Check for changes made at ElevenLabs").click()
    assert page.get_by_text("This agent was changed at ElevenLabs.").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "agent-drift-phone", full_page=False)
    with page.expect_navigation():
        page.get_by_role("button", name="Take theirs (keep the ElevenLabs version)").click()
    assert page.get_by_text("Kept the ElevenLabs version.").is_visible()
    assert Agent.objects.get(pk=agent.pk).name == "Renamed at ElevenLabs"
