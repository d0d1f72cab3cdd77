"""The dialer end to end, in this process: campaigns through the sandbox's Twilio (signed callbacks
to the live server), contacts moving through their state machine, retries by outcome, skips,
pause, resume and cancel taking effect at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from accounts.models import Account
from agents.models import Agent
from calls.models import Call
from campaigns import clock, dialer, services
from campaigns.models import Campaign, CampaignContact
from contacts.models import Contact, DoNotCallEntry
from tests.campaigns.conftest import (
    ALL_DAY,
    all_terminal,
    creates,
    make_contacts,
    members_of,
    new_campaign,
    run_dialer,
    wait_for,
)


def test_every_contact_is_called_once_and_ends_answered(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="answered", conversation={"scenario": "book"}, delay=0)
    contacts = make_contacts(connected, 6)
    campaign = new_campaign(connected, live_agent, calls_per_second=5, max_concurrent=3, **ALL_DAY)

    services.campaign_start(campaign=campaign)
    run_dialer(lambda: all_terminal(campaign), what="every contact to finish")

    members = members_of(campaign)
    assert {m.contact_id for m in members} == {c.pk for c in contacts}
    assert {(m.state, m.attempts, m.dials) for m in members} == {("answered", 1, 1)}
    assert {m.outcome for m in members} <= {"booked", "answered"}
    placed = [r.body["To"] for r in creates(provider_sandbox)]
    assert sorted(placed) == sorted(c.phone for c in contacts)  # each number exactly once
    calls = Call.objects.filter(account=connected, campaign_ref=str(campaign.pk))
    assert calls.count() == 6 and set(calls.values_list("source", flat=True)) == {"campaign"}
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).state == "completed" or dialer.campaigns_tick() and False)
    campaign.refresh_from_db()
    assert campaign.state == "completed" and campaign.ended_at is not None


def test_no_answer_is_retried_after_its_delay_until_the_attempts_run_out(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    [bob] = make_contacts(connected, 1)
    provider_sandbox.twilio.script_calls(to=bob.phone, outcome="no-answer", delay=0)
    campaign = new_campaign(connected, live_agent, max_attempts=2, retry_delays={"no_answer": 30}, **ALL_DAY)
    start = clock.now()
    with clock.frozen(start):
        services.campaign_start(campaign=campaign)
        run_dialer(lambda: members_of(campaign)[0].state == "queued" and members_of(campaign)[0].attempts == 1)
        [member] = members_of(campaign)
        assert member.last_result == "no_answer" and member.due_at == start + timedelta(minutes=30)
        for _ in range(5):  # not due yet: nothing is dialed
            dialer.campaigns_tick()
        assert len(creates(provider_sandbox)) == 1
    with clock.frozen(start + timedelta(minutes=31)):
        run_dialer(lambda: all_terminal(campaign))
    [member] = members_of(campaign)
    assert (member.state, member.attempts, member.dials) == ("no_answer", 2, 2)
    assert len(creates(provider_sandbox)) == 2
    keys = sorted(Call.objects.filter(campaign_ref=str(campaign.pk)).values_list("attempt_key", flat=True))
    assert keys == [f"campaign:{member.pk}:1", f"campaign:{member.pk}:2"]


def test_do_not_call_and_invalid_numbers_are_skipped_without_dialing(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    flagged, listed, fine = make_contacts(connected, 3)
    Contact.objects.filter(pk=flagged.pk).update(do_not_call=True)
    DoNotCallEntry.objects.create(account=connected, phone=listed.phone)
    broken = Contact.objects.create(account=connected, phone="+12", time_zone="America/New_York")
    campaign = new_campaign(connected, live_agent, retry_delays={"busy": None}, **ALL_DAY)

    services.campaign_start(campaign=campaign)
    run_dialer(lambda: all_terminal(campaign))

    by_contact = {m.contact_id: m for m in members_of(campaign)}
    assert (by_contact[flagged.pk].state, by_contact[flagged.pk].skip_reason) == ("skipped", "do_not_call")
    assert (by_contact[listed.pk].state, by_contact[listed.pk].skip_reason) == ("skipped", "do_not_call")
    assert (by_contact[broken.pk].state, by_contact[broken.pk].skip_reason) == ("skipped", "invalid_number")
    assert by_contact[fine.pk].state == "busy"
    assert [r.body["To"] for r in creates(provider_sandbox)] == [fine.phone]


def test_pause_stops_dialing_at_once_and_resume_goes_on(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 10)
    campaign = new_campaign(
        connected, live_agent, calls_per_second=2, max_concurrent=2, retry_delays={"busy": None}, **ALL_DAY
    )
    services.campaign_start(campaign=campaign)
    run_dialer(lambda: len(creates(provider_sandbox)) >= 2)

    services.campaign_pause(campaign=campaign)
    placed = len(creates(provider_sandbox))
    for _ in range(10):
        dialer.campaigns_tick()
    # Claims made before the pause were given back, not dialed.
    wait_for(lambda: not CampaignContact.objects.filter(campaign=campaign, state="dialing").exists())
    assert len(creates(provider_sandbox)) == placed
    campaign.refresh_from_db()
    assert campaign.state == "paused" and campaign.state_reason == "paused"

    services.campaign_resume(campaign=campaign)
    run_dialer(lambda: all_terminal(campaign))
    assert len(creates(provider_sandbox)) == 10
    assert {m.state for m in members_of(campaign)} == {"busy"}


def test_cancel_skips_whoever_was_not_called(provider_sandbox: Any, live_agent: Agent, connected: Account) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 8)
    campaign = new_campaign(
        connected, live_agent, calls_per_second=1, max_concurrent=1, retry_delays={"busy": None}, **ALL_DAY
    )
    services.campaign_start(campaign=campaign)
    run_dialer(lambda: len(creates(provider_sandbox)) >= 1)
    services.campaign_cancel(campaign=campaign)
    placed = len(creates(provider_sandbox))
    for _ in range(5):
        dialer.campaigns_tick()
    wait_for(lambda: all_terminal(campaign))
    assert len(creates(provider_sandbox)) == placed < 8
    states = [(m.state, m.skip_reason) for m in members_of(campaign)]
    assert states.count(("skipped", "cancelled")) == 8 - placed


def test_contacts_tagged_while_it_runs_join_it(provider_sandbox: Any, live_agent: Agent, connected: Account) -> None:
    from contacts.services import tags_resolve

    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    [vip] = tags_resolve(account=connected, names=["vip"])
    first = make_contacts(connected, 2)
    for contact in first:
        contact.tags.add(vip)
    campaign = new_campaign(
        connected, live_agent, target="tags", target_tags=[vip.pk], retry_delays={"busy": None}, **ALL_DAY
    )
    services.campaign_start(campaign=campaign)
    [late] = make_contacts(connected, 1, start=50)
    late.tags.add(vip)
    make_contacts(connected, 1, start=60)  # untagged: never joins
    with clock.frozen(clock.now() + dialer.REFRESH_EVERY + timedelta(seconds=1)):
        run_dialer(lambda: len(members_of(campaign)) == 3 and all_terminal(campaign))
    assert sorted(r.body["To"] for r in creates(provider_sandbox)) == sorted([*(c.phone for c in first), late.phone])


def test_a_failure_spike_pauses_the_campaign_and_says_why(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="failed", delay=0)
    make_contacts(connected, 30)
    campaign = new_campaign(
        connected, live_agent, calls_per_second=20, max_concurrent=30, retry_delays={"failed": None}, **ALL_DAY
    )
    services.campaign_start(campaign=campaign)
    run_dialer(lambda: Campaign.objects.get(pk=campaign.pk).state == "paused")
    campaign.refresh_from_db()
    assert campaign.state_reason == "failures" and "failed" in campaign.state_message
    assert 20 <= CampaignContact.objects.filter(campaign=campaign, state="failed").count() <= 30


@pytest.mark.parametrize("code", [401])
def test_twilio_refusing_credentials_pauses_the_campaign(
    provider_sandbox: Any, live_agent: Agent, connected: Account, code: int
) -> None:
    make_contacts(connected, 3)
    campaign = new_campaign(connected, live_agent, **ALL_DAY)
    services.campaign_start(campaign=campaign)
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=code)
    run_dialer(lambda: Campaign.objects.get(pk=campaign.pk).state == "paused")
    campaign.refresh_from_db()
    assert campaign.state_reason == "twilio_failing"
    assert not CampaignContact.objects.filter(campaign=campaign, state="dialing").exists()


def test_a_twilio_429_backs_off_that_tenant_only_and_costs_no_attempt(
    provider_sandbox: Any, live_agent: Agent, connected: Account, charlie_account: Account
) -> None:
    from campaigns import pacing

    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 3)
    campaign = new_campaign(
        connected,
        live_agent,
        calls_per_second=10,
        max_concurrent=3,
        max_attempts=1,
        retry_delays={"busy": None},
        **ALL_DAY,
    )
    provider_sandbox.inject_fault("twilio", r"/Calls\.json$", status=429, count=1)
    services.campaign_start(campaign=campaign)
    run_dialer(lambda: all_terminal(campaign), timeout=60)
    members = members_of(campaign)
    # The refused create used a key, not an attempt: everyone still got their one real call.
    assert {(m.state, m.attempts) for m in members} == {("busy", 1)}
    assert sorted(m.dials for m in members).count(2) == 1
    requests = creates(provider_sandbox)
    assert [r.status for r in requests].count(429) == 1 and [r.status for r in requests].count(201) == 3
    # Nobody dialed for Alice for the backoff (2 s) after the 429.
    refused = next(r for r in requests if r.status == 429)
    assert all(r.at - refused.at >= 1.9 for r in requests if r.at > refused.at)
    # The backoff is Alice's alone: another tenant is admitted at once.
    pacing.backoff(account_id=connected.pk)
    assert pacing.admit(account_id=connected.pk, calls_per_second=10, ticket="probe") > 0
    assert pacing.admit(account_id=charlie_account.pk, calls_per_second=10, ticket="probe") == 0


def test_a_failing_elevenlabs_pauses_the_campaign_before_anything_rings(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    from integrations.models import IntegrationStatus

    make_contacts(connected, 2)
    campaign = new_campaign(connected, live_agent, **ALL_DAY)
    services.campaign_start(campaign=campaign)
    IntegrationStatus.objects.update_or_create(
        account=connected, provider="elevenlabs", defaults={"failing": True, "last_error": "401"}
    )
    run_dialer(lambda: Campaign.objects.get(pk=campaign.pk).state == "paused")
    campaign.refresh_from_db()
    assert campaign.state_reason == "elevenlabs_failing" and "ElevenLabs" in campaign.state_message
    assert creates(provider_sandbox) == []
    assert set(CampaignContact.objects.filter(campaign=campaign).values_list("state", "attempts")) == {("queued", 0)}
