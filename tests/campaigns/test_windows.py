"""Calling windows in each contact's local time, across DST changes and time zones: the pure
rules, then a campaign walked across two days on a controllable clock with contacts in Madrid
and Los Angeles, where no call may start outside either window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from accounts.models import Account
from agents.models import Agent
from calls.models import Call
from campaigns import clock, dialer, services, windows
from campaigns.models import CampaignContact
from tests.campaigns.conftest import make_contacts, members_of, new_campaign, run_dialer, wait_for

MADRID, LOS_ANGELES = "Europe/Madrid", "America/Los_Angeles"


def schedule(**overrides: Any) -> SimpleNamespace:
    base = {
        "start_date": None,
        "end_date": None,
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "window_start": time(8, 0),
        "window_end": time(21, 0),
    }
    return SimpleNamespace(**{**base, **overrides})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_window_opens_at_eight_local_on_both_sides_of_the_dst_change() -> None:
    rules = schedule()
    # Madrid: 08:00 is 07:00 UTC in winter time (Saturday 28 March 2026) and 06:00 UTC in summer
    # time (Sunday 29 March, clocks went forward at 01:00 UTC).
    assert windows.next_opening(rules, MADRID, utc(2026, 3, 28, 0, 0)) == utc(2026, 3, 28, 7, 0)
    assert windows.next_opening(rules, MADRID, utc(2026, 3, 28, 21, 0)) == utc(2026, 3, 29, 6, 0)
    assert windows.is_open(rules, MADRID, utc(2026, 3, 29, 6, 0))
    assert not windows.is_open(rules, MADRID, utc(2026, 3, 29, 5, 59))
    # The window closes at 21:00 local: 20:00 UTC before, 19:00 UTC after the change.
    assert windows.is_open(rules, MADRID, utc(2026, 3, 28, 19, 59))
    assert not windows.is_open(rules, MADRID, utc(2026, 3, 29, 19, 0))
    # Los Angeles changed on 8 March: 08:00 PST is 16:00 UTC, 08:00 PDT 15:00 UTC.
    assert windows.next_opening(rules, LOS_ANGELES, utc(2026, 3, 7, 12, 0)) == utc(2026, 3, 7, 16, 0)
    assert windows.next_opening(rules, LOS_ANGELES, utc(2026, 3, 8, 12, 0)) == utc(2026, 3, 8, 15, 0)
    # Autumn: Madrid back to winter time on 25 October.
    assert windows.next_opening(rules, MADRID, utc(2026, 10, 25, 3, 0)) == utc(2026, 10, 25, 7, 0)


def test_a_window_starting_in_the_skipped_hour_starts_when_the_clock_resumes() -> None:
    rules = schedule(window_start=time(2, 30), window_end=time(4, 0))
    # 02:30 does not exist in Madrid on 29 March 2026 (02:00 became 03:00): the window opens at
    # 03:30 CEST, 01:30 UTC, an hour after 02:30 CET would have been.
    assert windows.next_opening(rules, MADRID, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 30)


def test_weekdays_and_dates_are_the_contacts_own() -> None:
    weekdays = schedule(weekdays=[0, 1, 2, 3, 4])  # Monday to Friday
    # Friday 22:00 in Los Angeles is already Saturday in Madrid: Madrid waits for Monday.
    friday_night = utc(2026, 12, 5, 6, 0)  # Friday 22:00 PST, Saturday 07:00 CET
    assert windows.next_opening(weekdays, MADRID, friday_night) == utc(2026, 12, 7, 7, 0)
    dated = schedule(start_date=date(2026, 12, 10), end_date=date(2026, 12, 11))
    assert windows.next_opening(dated, MADRID, utc(2026, 12, 1, 12, 0)) == utc(2026, 12, 10, 7, 0)
    assert windows.next_opening(dated, MADRID, utc(2026, 12, 11, 20, 30)) is None  # the last day is over
    assert windows.next_opening(dated, LOS_ANGELES, utc(2026, 12, 11, 20, 30)) == utc(2026, 12, 11, 20, 30)
    assert not windows.last_day_over(dated, utc(2026, 12, 12, 11, 59))  # still the 11th at UTC-12
    assert windows.last_day_over(dated, utc(2026, 12, 12, 12, 0))


def local_window_holds(moment: datetime, zone: str) -> bool:
    """The rule, computed independently of the dialer: 08:00 ≤ local time < 21:00."""
    local = moment.astimezone(ZoneInfo(zone)).time()
    return time(8, 0) <= local < time(21, 0)


def test_no_dial_outside_either_window_across_the_dst_change(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="no-answer", delay=0)
    madrid = make_contacts(connected, 2, zone=MADRID, prefix="+3491555")
    make_contacts(connected, 2, zone=LOS_ANGELES, prefix="+1213555")
    zone_of = {c.pk: c.time_zone for c in connected.contacts.all()}
    campaign = new_campaign(
        connected,
        live_agent,
        weekdays=[0, 1, 2, 3, 4, 5, 6],
        calls_per_second=10,
        max_concurrent=10,
        max_attempts=10,
        retry_delays={"no_answer": 170},
    )
    moment = utc(2026, 3, 28, 0, 0)  # Saturday: Madrid asleep (01:00), Los Angeles at 17:00
    dialled_at: dict[Any, datetime] = {}
    with clock.frozen(moment):
        services.campaign_start(campaign=campaign)
    while moment < utc(2026, 3, 30, 12, 0):
        with clock.frozen(moment):
            dialer.campaigns_tick()
            wait_for(lambda: not CampaignContact.objects.filter(campaign=campaign, state="dialing").exists())
        for call in Call.objects.filter(campaign_ref=str(campaign.pk)).exclude(pk__in=list(dialled_at)):
            dialled_at[call.pk] = moment
            assert local_window_holds(moment, zone_of[call.contact_id]), (moment, zone_of[call.contact_id])
        moment += timedelta(minutes=15)

    madrid_dials = sorted({at for pk, at in dialled_at.items() if Call.objects.get(pk=pk).contact in madrid})
    # The first dial of each Madrid morning is at its 08:00: 07:00 UTC in winter, 06:00 UTC in summer.
    assert utc(2026, 3, 28, 7, 0) in madrid_dials and utc(2026, 3, 29, 6, 0) in madrid_dials
    assert not [at for at in madrid_dials if at.date() == date(2026, 3, 29) and at.hour < 6]
    la_dials = {at for pk, at in dialled_at.items() if zone_of[Call.objects.get(pk=pk).contact_id] == LOS_ANGELES}
    assert utc(2026, 3, 28, 0, 0) in la_dials  # 17:00 in Los Angeles: called at once
    assert len(dialled_at) >= 12


def test_contacts_outside_their_window_when_the_campaign_ends_are_skipped(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 1, zone=MADRID, prefix="+3491555")
    make_contacts(connected, 1, zone=LOS_ANGELES, prefix="+1213555")
    friday = date(2026, 12, 4)
    campaign = new_campaign(connected, live_agent, end_date=friday.isoformat(), retry_delays={"busy": None})
    with clock.frozen(utc(2026, 12, 4, 21, 0)):  # 22:00 in Madrid (closed), 13:00 in Los Angeles
        services.campaign_start(campaign=campaign)
        run_dialer(lambda: CampaignContact.objects.filter(campaign=campaign, state="busy").count() == 1)
    with clock.frozen(utc(2026, 12, 5, 12, 0)):  # Saturday: the last day is over everywhere
        run_dialer(lambda: services.Campaign.objects.get(pk=campaign.pk).state == "completed")
    states = {(m.contact.time_zone, m.state, m.skip_reason) for m in members_of(campaign)}
    assert states == {(LOS_ANGELES, "busy", ""), (MADRID, "skipped", "window_closed")}
