"""A campaign in a real Chromium: the preview on its page, "Start", the dialer calling the contacts
through the sandbox, the page's live region refreshing itself on a live event
(static/js/campaigns.js), "Pause", the overview's chart, zero CSP violations, phone width."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from agents.models import Agent
from campaigns.models import Campaign, CampaignContact
from tests.browser.test_csp import RECORD_VIOLATIONS, violations
from tests.browser.test_integrations import log_in
from tests.calls.conftest import (  # noqa: F401 - the calls tests' fixtures, used here too
    connected,
    live_agent,
    live_api,
    twilio_creds,
)
from tests.campaigns.conftest import ALL_DAY, all_terminal, make_contacts, new_campaign, run_dialer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def live_event(page: Any, campaign: Campaign) -> None:
    """What realtime.js dispatches when the account's socket hears the dialer's progress."""
    page.evaluate(
        "id => document.dispatchEvent(new CustomEvent('prix:event', "
        "{detail: {type: 'campaign.progress', data: {campaign: id}}}))",
        str(campaign.pk),
    )


def test_start_a_campaign_and_watch_it_progress(
    page: Any,
    provider_sandbox: Any,
    alice: User,
    live_agent: Agent,  # noqa: F811 - the fixture imported above
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(live_agent.account, 4)
    campaign = new_campaign(
        live_agent.account, live_agent, calls_per_second=5, max_concurrent=4, retry_delays={"busy": None}, **ALL_DAY
    )
    log_in(page, alice)
    page.goto(f"/app/campaigns/{campaign.pk}/")
    assert "4" in page.locator(".campaign-preview").inner_text()  # four callable now

    page.get_by_role("button", name="Start").click()
    page.wait_for_load_state()
    assert Campaign.objects.get(pk=campaign.pk).state == "running"
    run_dialer(lambda: all_terminal(campaign), what="the four calls")
    before = page.locator("[data-figure=done]").inner_text()
    live_event(page, campaign)
    page.wait_for_function(
        "before => document.querySelector('[data-figure=done]').textContent.trim() !== before.trim()", arg=before
    )
    assert page.locator("[data-figure=done]").inner_text().startswith("4")
    assert CampaignContact.objects.filter(campaign=campaign, state="busy").count() == 4
    assert violations(page, console) == []

    page.set_viewport_size({"width": 390, "height": 844})
    for url in (f"/app/campaigns/{campaign.pk}/", "/app/campaigns/", "/app/overview/", "/app/campaigns/new/"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    assert page.locator("form").first.is_visible()
    page.goto("/app/overview/")
    assert page.locator("svg").count() >= 1
    assert violations(page, console) == []


def test_pause_from_the_page(
    page: Any,
    provider_sandbox: Any,
    alice: User,
    live_agent: Agent,  # noqa: F811
) -> None:
    make_contacts(live_agent.account, 3)
    campaign = new_campaign(live_agent.account, live_agent, **ALL_DAY)
    log_in(page, alice)
    page.goto(f"/app/campaigns/{campaign.pk}/")
    page.get_by_role("button", name="Start").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Pause").click()
    page.wait_for_load_state()
    assert Campaign.objects.get(pk=campaign.pk).state == "paused"
    assert page.get_by_role("button", name="Resume").is_visible()
