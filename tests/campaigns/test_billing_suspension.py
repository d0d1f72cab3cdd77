"""Billing and campaigns together, through PayPal's part of the sandbox: two failed payments
suspend the account and pause its running campaign (saying why); paying reactivates the account
and resumes the campaign."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from agents.models import Agent
from campaigns import services
from campaigns.models import Campaign
from tests.billing.conftest import deliver, fresh, login, paypal, plans, subscribe, synced  # noqa: F401 - fixtures
from tests.campaigns.conftest import ALL_DAY, make_contacts, new_campaign


def test_a_failed_payment_pauses_running_campaigns_and_paying_resumes_them(
    synced: Any,  # noqa: F811
    paypal: Any,  # noqa: F811
    provider_sandbox: Any,
    alice: User,
    agent: Agent,
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    assert deliver(paypal) == [200, 200, 200]
    make_contacts(alice.account, 2)
    # Far in the future: the campaign waits (scheduled) and places no call during the test.
    campaign = new_campaign(alice.account, agent, start_date="2030-01-07", **ALL_DAY)
    services.campaign_start(campaign=campaign)
    assert Campaign.objects.get(pk=campaign.pk).state == "scheduled"

    for _ in range(2):  # the plan's threshold: PayPal suspends the subscription, so do we
        provider_sandbox.paypal.fail_payment(subscription.paypal_subscription_id)
        with django_capture_on_commit_callbacks(execute=True):
            deliver(paypal)
    assert fresh(alice.account).status == "suspended"
    paused = Campaign.objects.get(pk=campaign.pk)
    assert (paused.state, paused.state_reason) == ("paused", "account_suspended")
    assert "suspended" in paused.state_message

    with django_capture_on_commit_callbacks(execute=True):
        login(alice).post("/app/billing/pay/", follow=True)
    assert fresh(alice.account).status == "active"
    resumed = Campaign.objects.get(pk=campaign.pk)
    assert (resumed.state, resumed.state_reason) == ("scheduled", "")
