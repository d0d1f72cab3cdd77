"""`manage.py campaign_status`: every scheduled, running or paused campaign with its tenant, pace
and backlog; `--account`, `--json`, and one readable line on a bad argument."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Account
from campaigns.models import Campaign
from contacts.models import Contact
from tests.campaigns.ui_fixtures import *  # noqa: F403
from tests.campaigns.ui_fixtures import make_contact, make_member


def run(*args: str) -> str:
    out = StringIO()
    call_command("campaign_status", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def busy(campaign: Campaign, contacts: list[Contact], alice_account: Account) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(state="running", calls_per_second="2.50", max_concurrent=4)
    now = timezone.now()
    make_member(campaign, contacts[0], "queued", due_at=now - timedelta(minutes=1))
    make_member(campaign, contacts[1], "queued", due_at=now + timedelta(hours=2))
    make_member(campaign, contacts[2], "dialing")
    make_member(campaign, make_contact(alice_account, "+14155550199"), "answered", outcome="booked")
    campaign.refresh_from_db()
    return campaign


def test_it_lists_active_campaigns_with_pace_and_backlog(busy: Campaign, charlie_campaign: Campaign) -> None:
    Campaign.objects.filter(pk=charlie_campaign.pk).update(
        state="paused", state_message="Twilio refused the credentials."
    )
    out = run()
    lines = out.splitlines()
    assert lines[0].split() == ["ACCOUNT", "CAMPAIGN", "STATE", "CPS", "CONC", "DUE", "LATER", "DIALING", "DONE"]
    alice_line = next(line for line in lines if line.startswith("alice-co"))
    assert alice_line.split()[-7:] == ["running", "2.50", "4", "1", "1", "1", "1"]
    assert "charlie-ltd" in out and "paused charlie-ltd/Charlie's secret campaign: Twilio refused" in out
    assert out.rstrip().endswith("2 campaign(s), 1 contact(s) due now, 1 dialing")


def test_drafts_and_finished_campaigns_are_left_out(campaign: Campaign) -> None:
    assert run().strip() == "No scheduled, running or paused campaigns."
    Campaign.objects.filter(pk=campaign.pk).update(state="completed")
    assert "Spring demos" not in run()


def test_it_filters_by_account_and_speaks_json(busy: Campaign, charlie_campaign: Campaign) -> None:
    Campaign.objects.filter(pk=charlie_campaign.pk).update(state="running")
    data = json.loads(run("--account", "alice-co", "--json"))
    assert [row["account"] for row in data["campaigns"]] == ["alice-co"]
    row = data["campaigns"][0]
    assert (row["queued_due"], row["queued_later"], row["dialing"], row["done"]) == (1, 1, 1, 1)
    assert (row["calls_per_second"], row["max_concurrent"], row["state"]) == ("2.50", 4, "running")


def test_a_bad_account_is_one_readable_line(db: None) -> None:
    with pytest.raises(CommandError, match=r"^No account with the slug 'nope'\.$"):
        call_command("campaign_status", "--account", "nope")
