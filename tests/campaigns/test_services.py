"""Campaign services: validation (every bad field named), what may change once started, state
transitions, the preview, caps and plan limits, and the automatic pauses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import Account
from agents.models import Agent
from billing.signals import account_reactivated, account_suspended
from campaigns import dialer, services
from campaigns.models import Campaign, CampaignContact
from campaigns.preview import campaign_preview
from contacts.models import Contact, DoNotCallEntry
from prixagent.errors import ApplicationError
from tests.campaigns.conftest import (
    ALL_DAY,
    CALLER_ID,
    creates,
    make_contacts,
    members_of,
    new_campaign,
    run_dialer,
    wait_for,
)


def errors_of(exc: pytest.ExceptionInfo[ApplicationError]) -> dict[str, list[str]]:
    return exc.value.fields


def test_bad_input_names_every_field(agent: Agent, connected: Account) -> None:
    with pytest.raises(ApplicationError) as exc:
        services.campaign_create(
            account=connected,
            data={
                "name": " ",
                "agent": "not-an-id",
                "from_numbers": ["+19999999999"],
                "weekdays": [7],
                "window_start": "25:00",
                "calls_per_second": "0",
                "max_concurrent": 0,
                "max_attempts": 11,
                "retry_delays": {"no_answer": -1},
                "target": "everyone",
            },
        )
    assert exc.value.status_code == 400
    assert set(errors_of(exc)) == {
        "name",
        "agent",
        "from_numbers",
        "weekdays",
        "window_start",
        "calls_per_second",
        "max_concurrent",
        "max_attempts",
        "retry_delays",
        "target",
    }
    assert Campaign.objects.count() == 0


def test_rules_across_fields(agent: Agent, connected: Account) -> None:
    with pytest.raises(ApplicationError) as exc:
        new_campaign(
            connected,
            agent,
            window_start="21:00",
            window_end="08:00",
            start_date="2026-12-10",
            end_date="2026-12-01",
            target="tags",
        )
    assert set(errors_of(exc)) == {"window_end", "end_date", "target_tags"}


def test_another_accounts_agent_and_tags_are_unknown(
    agent: Agent, connected: Account, charlie_account: Account
) -> None:
    from contacts.services import tags_resolve

    [theirs] = tags_resolve(account=charlie_account, names=["vip"])
    with pytest.raises(ApplicationError) as exc:
        services.campaign_create(
            account=charlie_account,
            data={"name": "x", "agent": str(agent.pk), "target": "tags", "target_tags": [theirs.pk]},
        )
    assert set(errors_of(exc)) == {"agent"}
    with pytest.raises(ApplicationError) as exc:
        new_campaign(connected, agent, target="tags", target_tags=[theirs.pk])
    assert set(errors_of(exc)) == {"target_tags"}


def test_defaults_follow_the_issue(agent: Agent, connected: Account) -> None:
    campaign = new_campaign(connected, agent)
    assert (campaign.window_start.isoformat(), campaign.window_end.isoformat()) == ("08:00:00", "21:00:00")
    assert campaign.calls_per_second == 1 and campaign.state == "draft"
    assert set(campaign.retry_delays) == {"no_answer", "busy", "voicemail", "failed"}


def test_the_plan_limits_how_many_campaigns(agent: Agent, connected: Account) -> None:
    connected.limits = {"campaigns": 1}
    connected.save(update_fields=["limits"])
    first = new_campaign(connected, agent)
    with pytest.raises(ApplicationError) as exc:
        new_campaign(connected, agent)
    assert (exc.value.status_code, exc.value.code) == (403, "plan_limit")
    Campaign.objects.filter(pk=first.pk).update(state="completed")
    new_campaign(connected, agent)  # a finished campaign does not count


def test_targeting_only_changes_while_draft_and_caps_change_at_once(
    provider_sandbox: Any, agent: Agent, connected: Account
) -> None:
    make_contacts(connected, 2)
    campaign = new_campaign(connected, agent, **ALL_DAY)
    campaign = services.campaign_update(campaign=campaign, data={"target": "filter", "target_filter": {"q": "C1"}})
    assert campaign.target_filter == {"q": "C1"}
    services.campaign_start(campaign=campaign)
    with pytest.raises(ApplicationError) as exc:
        services.campaign_update(campaign=campaign, data={"target": "all", "agent": str(agent.pk)})
    assert set(errors_of(exc)) == {"target", "agent"}
    updated = services.campaign_update(campaign=campaign, data={"max_concurrent": 7, "retry_delays": {"busy": None}})
    assert updated.max_concurrent == 7 and updated.retry_delays["busy"] is None
    assert updated.retry_delays["no_answer"] == 240  # the others keep their values
    assert [m.contact.first_name for m in members_of(campaign)] == ["C1"]


def test_transitions_refuse_the_wrong_state(agent: Agent, connected: Account) -> None:
    campaign = new_campaign(connected, agent, **ALL_DAY)
    for action in (services.campaign_pause, services.campaign_resume, services.campaign_cancel):
        with pytest.raises(ApplicationError) as exc:
            action(campaign=campaign)
        assert (exc.value.status_code, exc.value.code) == (409, "invalid_state")
    services.campaign_start(campaign=campaign)
    with pytest.raises(ApplicationError):
        services.campaign_start(campaign=campaign)
    with pytest.raises(ApplicationError):
        services.campaign_delete(campaign=campaign)
    services.campaign_cancel(campaign=campaign)
    services.campaign_delete(campaign=campaign)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_start_needs_a_live_agent_and_twilio(provider_sandbox: Any, connected: Account, agent: Agent) -> None:
    Agent.objects.filter(pk=agent.pk).update(elevenlabs_agent_id="")
    agent.refresh_from_db()
    campaign = new_campaign(connected, agent)
    with pytest.raises(ApplicationError) as exc:
        services.campaign_start(campaign=campaign)
    assert exc.value.code == "agent_not_ready" and Campaign.objects.get(pk=campaign.pk).state == "draft"


def test_a_future_first_day_is_scheduled_then_runs(provider_sandbox: Any, agent: Agent, connected: Account) -> None:
    from campaigns import clock

    make_contacts(connected, 1)
    campaign = new_campaign(connected, agent, start_date="2026-12-10", **{"weekdays": [0, 1, 2, 3, 4, 5, 6]})
    with clock.frozen(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):
        services.campaign_start(campaign=campaign)
        dialer.campaigns_tick()
    assert Campaign.objects.get(pk=campaign.pk).state == "scheduled"
    with clock.frozen(datetime(2026, 12, 9, 10, 1, tzinfo=UTC)):  # the 10th has begun at UTC+14
        dialer.campaigns_tick()
    assert Campaign.objects.get(pk=campaign.pk).state == "running"


def test_the_preview_counts_who_can_be_called_and_why_not(agent: Agent, connected: Account) -> None:
    make_contacts(connected, 3, zone="America/New_York")  # 12:00 there: callable now
    make_contacts(connected, 2, zone="Asia/Tokyo", prefix="+8135555")  # 02:00 there: later
    flagged = make_contacts(connected, 1, start=90)[0]
    Contact.objects.filter(pk=flagged.pk).update(do_not_call=True)
    listed = make_contacts(connected, 1, start=91)[0]
    DoNotCallEntry.objects.create(account=connected, phone=listed.phone)
    Contact.objects.create(account=connected, phone="+12", time_zone="America/New_York")
    campaign = new_campaign(connected, agent, calls_per_second=1, weekdays=[0, 1, 2, 3, 4, 5, 6])

    preview = campaign_preview(campaign=campaign, now=datetime(2026, 12, 2, 17, 0, tzinfo=UTC))

    assert preview["total"] == 8
    assert preview["callable_now"] == 3 and preview["callable_later"] == 2
    assert preview["not_callable"] == {"do_not_call": 2, "outside_window": 2, "invalid_number": 1, "already_reached": 0}
    assert preview["estimated_seconds"] and preview["estimated_seconds"] > 0


def test_the_concurrent_cap_holds_while_calls_are_live(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    # "manual": the sandbox's Twilio creates the calls and plays nothing, so they stay live.
    make_contacts(connected, 6)
    campaign = new_campaign(connected, live_agent, calls_per_second=10, max_concurrent=2, **ALL_DAY)
    services.campaign_start(campaign=campaign)
    for _ in range(10):
        dialer.campaigns_tick()
    assert CampaignContact.objects.filter(campaign=campaign, state="dialing").count() == 2
    assert len(creates(provider_sandbox)) == 2


def test_the_plans_concurrent_calls_wait_and_used_up_minutes_pause(
    provider_sandbox: Any, live_agent: Agent, connected: Account
) -> None:
    make_contacts(connected, 4)
    connected.limits = {"concurrent_calls": 1}
    connected.save(update_fields=["limits"])
    campaign = new_campaign(connected, live_agent, calls_per_second=10, max_concurrent=4, **ALL_DAY)
    services.campaign_start(campaign=campaign)
    for _ in range(5):
        dialer.campaigns_tick()
    assert len(creates(provider_sandbox)) == 1  # the plan allows one call at a time; the rest wait
    assert CampaignContact.objects.filter(campaign=campaign, state="queued").count() == 3

    connected.limits = {"monthly_minutes": 0}
    connected.save(update_fields=["limits"])
    CampaignContact.objects.filter(campaign=campaign, state="queued").update(due_at=datetime(2026, 1, 1, tzinfo=UTC))
    run_dialer(lambda: Campaign.objects.get(pk=campaign.pk).state == "paused")
    campaign.refresh_from_db()
    assert campaign.state_reason == "plan_limit" and "minutes" in campaign.state_message
    assert len(creates(provider_sandbox)) == 1


def test_a_suspended_account_pauses_its_campaigns_and_reactivation_resumes_them(
    provider_sandbox: Any, agent: Agent, connected: Account
) -> None:
    campaign = new_campaign(connected, agent, **ALL_DAY)
    services.campaign_start(campaign=campaign)
    account_suspended.send(sender=Account, account=connected, reason="payment failed")
    campaign.refresh_from_db()
    assert (campaign.state, campaign.state_reason) == ("paused", "account_suspended")
    assert "payment failed" in campaign.state_message
    account_reactivated.send(sender=Account, account=connected)
    assert Campaign.objects.get(pk=campaign.pk).state in ("running", "completed")


def test_caller_numbers_rotate_over_the_pool(provider_sandbox: Any, live_agent: Agent, connected: Account) -> None:
    provider_sandbox.twilio.script_calls(default=True, outcome="busy", delay=0)
    make_contacts(connected, 6)
    campaign = new_campaign(
        connected,
        live_agent,
        from_numbers=[CALLER_ID, "+15005550007"],
        calls_per_second=10,
        max_concurrent=6,
        retry_delays={"busy": None},
        **ALL_DAY,
    )
    services.campaign_start(campaign=campaign)
    run_dialer(lambda: len(creates(provider_sandbox)) == 6)
    wait_for(lambda: True)
    assert {r.body["From"] for r in creates(provider_sandbox)} == {CALLER_ID, "+15005550007"}
