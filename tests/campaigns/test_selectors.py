"""Reads behind the API and the pages: list filters, members, figures, the overview's days (in
the account's time zone) and what they cost in queries; never another tenant's rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from billing.models import UsageRecord
from billing.usage import usage_minutes
from calls.models import Call
from campaigns import charts, selectors
from campaigns.models import Campaign
from contacts.models import Contact
from tests.campaigns.ui_fixtures import *  # noqa: F403
from tests.campaigns.ui_fixtures import make_call, make_campaign, make_member


def test_campaign_get_is_scoped_to_the_account(campaign: Campaign, charlie_campaign: Campaign) -> None:
    assert selectors.campaign_get(campaign.account, str(campaign.pk)) == campaign
    for wrong in (charlie_campaign.pk, "not-a-uuid", None):
        with pytest.raises(Http404):
            selectors.campaign_get(campaign.account, wrong)


def test_list_filters(campaign: Campaign) -> None:
    other = make_campaign(campaign.account, campaign.agent, name="Winter promo", state="paused")
    account = campaign.account

    def names(**query: str) -> list[str]:
        return [c.name for c in selectors.campaigns_for(account, selectors.CampaignFilters.from_query(query))]

    assert names() == ["Winter promo", "Spring demos"]
    assert names(state="active") == ["Winter promo"]
    assert names(state="draft") == ["Spring demos"]
    assert names(state="bogus") == ["Winter promo", "Spring demos"]  # ignored, not an error
    assert names(q="winter") == ["Winter promo"]
    assert names(agent="not-a-uuid") == []
    assert names(agent=str(other.agent_id)) == ["Winter promo", "Spring demos"]


def test_members_by_state(campaign: Campaign, contacts: list[Contact]) -> None:
    for person, state in zip(contacts, ["queued", "answered", "queued"], strict=True):
        make_member(campaign, person, state)
    assert [m.contact for m in selectors.campaign_members(campaign)] == contacts
    assert [m.contact for m in selectors.campaign_members(campaign, "queued")] == [contacts[0], contacts[2]]
    assert selectors.campaign_members(campaign, "nonsense").count() == 3


def test_stats_cost_a_fixed_number_of_queries(campaign: Campaign, contacts: list[Contact]) -> None:
    for number, person in enumerate(contacts):
        make_member(campaign, person, "answered", outcome="booked")
        make_call(campaign, campaign.account, number, outcome="booked", duration_seconds=30 + number, price="-0.01")
    with CaptureQueriesContext(connection) as queries:
        stats = selectors.campaign_stats(campaign)
    assert len(queries.captured_queries) == 3
    assert stats["by_outcome"] == {"booked": 3} and stats["minutes"] == 3 and stats["cost"] == {"USD": "0.03"}
    assert stats["answer_rate"] == 1.0 and stats["progress"] == 1.0


def test_stats_of_an_empty_campaign(campaign: Campaign) -> None:
    stats = selectors.campaign_stats(campaign)
    assert (stats["contacts"], stats["answer_rate"], stats["progress"], stats["cost"]) == (0, None, None, {})


def test_the_overview_counts_the_accounts_local_days(
    ready_account: Account, campaign: Campaign, charlie_campaign: Campaign
) -> None:
    ready_account.time_zone = "America/Los_Angeles"
    ready_account.limits = {"monthly_minutes": 100}
    ready_account.save()
    zone = ZoneInfo("America/Los_Angeles")
    today = date(2026, 11, 20)
    local = lambda day, hour: datetime(day.year, day.month, day.day, hour, tzinfo=zone)  # noqa: E731
    rows = [
        (local(today, 0), "booked"),  # 08:00 UTC: today
        (local(today, 23), "no_answer"),  # 07:00 UTC tomorrow: still today here
        (local(today, 12), "voicemail"),
        (local(today - timedelta(days=1), 23), "answered"),  # yesterday
        (local(today - timedelta(days=13), 9), "failed"),  # first day of the 14
        (local(today - timedelta(days=14), 9), "booked"),  # before the window
    ]
    for number, (moment, outcome) in enumerate(rows):
        call = make_call(campaign, ready_account, number, outcome=outcome, duration_seconds=60)
        Call.objects.filter(pk=call.pk).update(created_at=moment)
    charlie_call = make_call(charlie_campaign, charlie_campaign.account, 99, outcome="booked")
    Call.objects.filter(pk=charlie_call.pk).update(created_at=local(today, 10))
    with CaptureQueriesContext(connection) as queries:
        per_day = selectors.calls_per_day(ready_account, first=today - timedelta(days=13), last=today)
    assert len(queries.captured_queries) == 1
    assert len(per_day) == 14 and per_day[0]["day"] == today - timedelta(days=13) and per_day[-1]["day"] == today
    assert per_day[-1] == {
        "day": today,
        "calls": 3,
        "booked": 1,
        "answered": 0,
        "voicemail": 1,
        "no_answer": 1,
        "failed": 0,
        "other": 0,
    }
    assert per_day[-2]["answered"] == 1 and per_day[0]["failed"] == 1
    assert sum(day["calls"] for day in per_day) == 5  # the 15th day back and charlie's call are out
    overview = selectors.account_overview(ready_account, today=today)
    assert (overview["calls_today"], overview["bookings_today"]) == (3, 1)
    assert overview["answer_rate_today"] == round(1 / 3, 4)  # booked; voicemail and no answer did not talk
    assert (overview["minutes_used"], overview["minutes_allowed"]) == (usage_minutes(account=ready_account), 100)


def test_the_overview_minutes_are_the_metered_ones(ready_account: Account) -> None:
    import uuid

    from django.utils import timezone

    UsageRecord.objects.create(account=ready_account, call_id=uuid.uuid4(), seconds=61, minutes=2, day=timezone.now())
    overview = selectors.account_overview(ready_account)
    assert (overview["minutes_used"], overview["minutes_allowed"], overview["minutes_share"]) == (2, None, None)


def test_the_chart_stacks_each_day_to_its_total() -> None:
    per_day = [
        {
            "day": date(2026, 11, 1),
            "calls": 0,
            "booked": 0,
            "answered": 0,
            "voicemail": 0,
            "no_answer": 0,
            "failed": 0,
            "other": 0,
        },
        {
            "day": date(2026, 11, 2),
            "calls": 7,
            "booked": 2,
            "answered": 3,
            "voicemail": 0,
            "no_answer": 1,
            "failed": 1,
            "other": 0,
        },
    ]
    chart = charts.calls_chart(per_day)
    empty, full = chart.bars
    assert empty.segments == [] and full.total == 7
    assert [s["series"] for s in full.segments] == ["booked", "answered", "no_answer", "failed"]
    top = chart.ticks[-1]["value"]
    assert top == 10  # the next 1-2-5 step above 7
    plot_height = chart.baseline - chart.ticks[-1]["y"]
    assert abs(sum(s["height"] for s in full.segments) - plot_height * 7 / top) < 0.05
    assert full.segments[0]["y"] + full.segments[0]["height"] == pytest.approx(chart.baseline, abs=0.01)
