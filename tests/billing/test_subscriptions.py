"""Subscribing, changing plans and cancelling from the dashboard, through PayPal's approval
page in the sandbox and the real SDK; limits follow the plan; PayPal down leaves nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account
from billing.models import BillingStatus, Payment, Subscription
from billing.services import billing_reconcile
from tests.billing.conftest import approve, approve_url, deliver, fresh, login, subscribe

pytestmark = pytest.mark.django_db


def test_a_new_account_starts_on_the_signup_plan_with_its_limits(plans, alice):
    account = fresh(alice.account)
    assert account.subscription_plan == "trial"
    assert account.subscription_status == BillingStatus.TRIAL
    assert account.limits == {
        "monthly_minutes": 60,
        "concurrent_calls": 1,
        "agents": 1,
        "contacts": 100,
        "campaigns": 1,
        "overage": False,
    }
    assert timedelta(days=13, hours=23) < account.billing.trial_ends_at - timezone.now() <= timedelta(days=14)


def test_without_a_signup_plan_a_new_account_has_no_limits(db, alice):
    assert (alice.account.limits, alice.account.subscription_plan) == ({}, "")


def test_subscribe_approve_activate(synced, paypal, provider_sandbox, alice):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    created = next(r for r in provider_sandbox.requests("paypal") if r.path == "/v1/billing/subscriptions")
    assert created.headers["paypal-request-id"] == str(subscription.request_id)
    assert created.body["custom_id"] == str(alice.account.pk)
    assert created.body["plan_id"] == synced["starter"].paypal_plan_id
    assert created.body["application_context"]["return_url"] == "http://testserver/app/billing/return/"
    account = fresh(alice.account)
    assert (subscription.status, account.subscription_plan, account.subscription_status) == (
        "ACTIVE",
        "starter",
        "active",
    )
    assert account.limits["monthly_minutes"] == 500 and account.limits["agents"] == 3
    assert account.billing.subscription == subscription and account.billing.trial_ends_at is None
    assert account.billing.paid_through == subscription.next_billing_at > timezone.now() + timedelta(days=29)
    # PayPal's events (created, activated, the first sale) arrive and are applied once.
    assert deliver(paypal) == [200, 200, 200]
    payment = Payment.objects.get(account=alice.account)
    assert (payment.amount, payment.currency, payment.kind) == (Decimal("29.00"), "USD", "sale")
    page = login(alice).get("/app/billing/")
    assert b"Starter" in page.content and payment.reference.encode()[:20] in page.content


def test_coming_back_without_approving_changes_nothing(synced, provider_sandbox, alice):
    client = login(alice)
    response = client.post("/app/billing/subscribe/", {"plan": "starter"})
    back = approve(provider_sandbox, approve_url(response), client, decision="cancel")
    assert back["Location"] == "/app/billing/"
    assert fresh(alice.account).subscription_plan == "trial"
    assert Subscription.objects.get().status == "APPROVAL_PENDING"


@pytest.mark.parametrize("fault", [503, "slow"])
def test_paypal_down_during_checkout_gives_a_clear_message_and_saves_nothing(synced, provider_sandbox, alice, fault):
    if fault == "slow":
        provider_sandbox.inject_fault("paypal", r"^/v1/billing/subscriptions$", latency=5)
    else:
        provider_sandbox.inject_fault("paypal", r"^/v1/billing/subscriptions$", status=503)
    client = login(alice)
    response = client.post("/app/billing/subscribe/", {"plan": "starter"}, follow=True)
    assert response.redirect_chain[-1][0] == "/app/billing/"
    assert "PayPal cannot be reached right now. Nothing was charged or changed" in response.content.decode()
    assert not Subscription.objects.exists()
    account = fresh(alice.account)
    assert (account.subscription_plan, account.subscription_status) == ("trial", "trial")


def test_a_plan_that_is_not_synced_or_free_cannot_be_bought(plans, paypal, alice):
    for code in ("starter", "trial"):
        response = login(alice).post("/app/billing/subscribe/", {"plan": code}, follow=True)
        assert "This plan cannot be bought yet." in response.content.decode()
    assert not Subscription.objects.exists()


def test_an_upgrade_applies_at_once(synced, paypal, provider_sandbox, alice):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    client = login(alice)
    response = client.post("/app/billing/subscribe/", {"plan": "pro"})
    revise = [r for r in provider_sandbox.requests("paypal") if r.path.endswith("/revise")]
    assert revise[0].body["plan_id"] == synced["pro"].paypal_plan_id
    approve(provider_sandbox, approve_url(response), client)
    subscription.refresh_from_db()
    account = fresh(alice.account)
    assert (subscription.plan.code, account.subscription_plan) == ("pro", "pro")
    assert account.limits["overage"] is True and account.limits["monthly_minutes"] == 3000


def test_a_downgrade_waits_for_the_next_period(synced, paypal, provider_sandbox, alice):
    subscribe(provider_sandbox, alice, synced["pro"])
    client = login(alice)
    approve(provider_sandbox, approve_url(client.post("/app/billing/subscribe/", {"plan": "starter"})), client)
    account = fresh(alice.account)
    assert account.subscription_plan == "pro"  # paid for until the period ends
    assert account.billing.scheduled_plan.code == "starter"
    billing_reconcile(now=timezone.now())
    assert fresh(alice.account).subscription_plan == "pro"
    billing_reconcile(now=account.billing.scheduled_at + timedelta(minutes=1))
    account = fresh(alice.account)
    assert (account.subscription_plan, account.limits["monthly_minutes"]) == ("starter", 500)
    assert account.billing.scheduled_plan is None


def test_cancel_keeps_the_plan_until_the_paid_period_ends(synced, paypal, provider_sandbox, alice):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    response = login(alice).post("/app/billing/cancel/", {"reason": "too expensive"}, follow=True)
    assert "Your subscription is cancelled" in response.content.decode()
    cancel = next(r for r in provider_sandbox.requests("paypal") if r.path.endswith("/cancel"))
    assert cancel.body == {"reason": "too expensive"}
    subscription.refresh_from_db()
    account = fresh(alice.account)
    assert (subscription.status, account.subscription_status, account.status) == ("CANCELLED", "cancelled", "active")
    assert account.subscription_plan == "starter"
    billing_reconcile(now=account.billing.paid_through + timedelta(minutes=1))
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == (Account.Status.SUSPENDED, BillingStatus.ENDED)
    assert "subscription has ended" in account.status_reason
    # Subscribing again brings the account back.
    subscribe(provider_sandbox, alice, synced["pro"])
    account = fresh(alice.account)
    assert (account.status, account.subscription_status, account.subscription_plan) == ("active", "active", "pro")


def test_cancel_with_paypal_down_changes_nothing(synced, paypal, provider_sandbox, alice):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    provider_sandbox.inject_fault("paypal", r"/cancel$", status=500)
    response = login(alice).post("/app/billing/cancel/", follow=True)
    assert "PayPal cannot be reached right now" in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.status, fresh(alice.account).subscription_status) == ("ACTIVE", "active")


def test_the_trial_ends_then_subscribing_reactivates(synced, paypal, provider_sandbox, alice):
    billing_reconcile(now=timezone.now() + timedelta(days=15))
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == ("suspended", "ended")
    assert "free trial has ended" in account.status_reason
    # The suspended owner can still reach the billing page and pay.
    page = login(alice).get("/app/billing/")
    assert page.status_code == 200
    assert login(alice).get("/app/integrations/")["Location"] == "/app/account/"
    subscribe(provider_sandbox, alice, synced["starter"])
    account = fresh(alice.account)
    assert (account.status, account.subscription_status, account.status_reason) == ("active", "active", "")


def test_return_url_answers_what_paypal_says_not_what_the_url_says(synced, paypal, provider_sandbox, alice):
    client = login(alice)
    response = client.post("/app/billing/subscribe/", {"plan": "starter"})
    sub_id = Subscription.objects.get().paypal_subscription_id
    # Not approved at PayPal: a hand-typed return URL does not activate anything.
    back = client.get(f"/app/billing/return/?subscription_id={sub_id}", follow=True)
    assert "PayPal has not confirmed the subscription yet" in back.content.decode()
    assert fresh(alice.account).subscription_plan == "trial"
    assert response.status_code == 200


def test_request_bodies_reach_paypal_as_json_objects(synced, provider_sandbox, alice):
    subscribe(provider_sandbox, alice, synced["starter"])
    posts = [r for r in provider_sandbox.requests("paypal") if r.method == "POST" and r.path.startswith("/v1/billing/")]
    assert posts  # the subscription was created through PayPal's billing API
    for record in posts:
        assert isinstance(json.loads(record.raw_body), dict)
