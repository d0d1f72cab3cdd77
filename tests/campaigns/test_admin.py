"""The operator's admin for campaigns: read-only pages without secrets, pause and cancel actions
that call the services, and list pages whose query count does not grow with the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from campaigns.models import Campaign
from contacts.models import Contact
from tests.campaigns.ui_fixtures import *  # noqa: F403
from tests.campaigns.ui_fixtures import TWILIO_TOKEN, make_call, make_campaign, make_member


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@prixagent.test", "operator pass phrase 2024"))
    return client


def test_the_pages_render_without_secrets(operator: Client, campaign: Campaign, contacts: list[Contact]) -> None:
    member = make_member(campaign, contacts[0], "answered", outcome="booked", attempts=1)
    make_call(campaign, campaign.account, 1, outcome="booked", duration_seconds=61)
    pages = [
        "/admin/campaigns/campaign/",
        "/admin/campaigns/campaign/?state__exact=draft&q=alice",
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        "/admin/campaigns/campaigncontact/",
        "/admin/campaigns/campaigncontact/?state__exact=answered",
        f"/admin/campaigns/campaigncontact/{member.pk}/change/",
    ]
    for page in pages:
        response = operator.get(page)
        assert response.status_code == 200, page
        assert TWILIO_TOKEN not in response.content.decode(), page
    detail = operator.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "answered: 1" in detail and "minutes: 2" in detail  # readonly counts from campaign_stats
    assert operator.get("/admin/campaigns/campaign/add/").status_code == 403


def test_the_list_costs_the_same_for_more_campaigns(operator: Client, campaign: Campaign) -> None:
    with CaptureQueriesContext(connection) as one:
        operator.get("/admin/campaigns/campaign/")
    for index in range(5):
        make_campaign(campaign.account, campaign.agent, name=f"More {index}")
    with CaptureQueriesContext(connection) as six:
        operator.get("/admin/campaigns/campaign/")
    assert len(six.captured_queries) == len(one.captured_queries)


def test_pause_and_cancel_actions_call_the_services(operator: Client, campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    draft = make_campaign(campaign.account, campaign.agent, name="Still a draft")
    response = operator.post(
        "/admin/campaigns/campaign/",
        {"action": "pause", "_selected_action": [str(campaign.pk), str(draft.pk)]},
        follow=True,
    )
    html = response.content.decode()
    assert (
        "Pause: 1 campaign(s)." in html and "Still a draft: A draft campaign cannot be paused." in html
    )  # the draft is refused, and said so
    campaign.refresh_from_db()
    # The tenant sees who paused it as support, never the operator's own address.
    assert campaign.state == "paused" and campaign.state_message == "Paused by PrixAgent support."
    assert "ops@prixagent.test" not in campaign.state_message
    operator.post("/admin/campaigns/campaign/", {"action": "cancel", "_selected_action": [str(campaign.pk)]})
    assert Campaign.objects.get(pk=campaign.pk).state == "cancelled"
    assert Campaign.objects.get(pk=draft.pk).state == "draft"
