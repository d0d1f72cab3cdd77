"""The operator's billing admin: revenue per month, status counts, each account's PayPal
subscription, comp a month, move a plan, plans edited and pushed to PayPal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from billing.models import BillingProfile, Payment, Plan
from billing.services import billing_reconcile
from tests.billing.conftest import deliver, fresh, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@example.com", "operator password 123"))
    return client


def test_the_billing_list_shows_revenue_counts_and_paypal_ids(
    synced, paypal, provider_sandbox, alice, charlie, operator_client
):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    deliver(paypal)
    page = operator_client.get("/admin/billing/billingprofile/").content.decode()
    month = timezone.now().strftime("%Y-%m")
    assert "Revenue per month" in page and month in page and "29.00" in page
    assert subscription.paypal_subscription_id in page
    assert '<th scope="row">Active</th><td>1</td>' in page and '<th scope="row">Trial</th><td>1</td>' in page


def test_comp_a_month_lifts_a_billing_suspension(plans, alice, operator_client):
    billing_reconcile(now=timezone.now() + timedelta(days=15))  # the trial ends
    assert fresh(alice.account).status == "suspended"
    response = operator_client.post(
        "/admin/billing/billingprofile/",
        {"action": "comp_month", "_selected_action": [str(alice.account.pk)]},
        follow=True,
    )
    assert "comped until" in response.content.decode()
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == ("active", "active")
    comp = Payment.objects.get(account=alice.account)
    assert (comp.kind, comp.amount) == ("comp", Decimal("0"))
    billing_reconcile(now=timezone.now() + timedelta(days=20))  # still inside the comped month
    assert fresh(alice.account).status == "active"


def test_comp_a_month_pauses_the_paypal_subscription_then_resumes_it(
    synced, paypal, provider_sandbox, alice, operator_client
):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    operator_client.post(
        "/admin/billing/billingprofile/", {"action": "comp_month", "_selected_action": [str(alice.account.pk)]}
    )
    assert provider_sandbox.paypal.subscriptions[subscription.paypal_subscription_id]["status"] == "SUSPENDED"
    assert deliver(paypal)[-1] == 200
    account = fresh(alice.account)
    assert (account.status, account.subscription_status) == ("active", "active")  # paused for us, not for them
    billing_reconcile(now=account.billing.comped_until + timedelta(minutes=1))
    assert provider_sandbox.paypal.subscriptions[subscription.paypal_subscription_id]["status"] == "ACTIVE"


def test_move_to_plan(plans, alice, operator_client):
    operator_client.post(
        "/admin/billing/billingprofile/",
        {"action": "move_plan", "plan": str(plans["pro"].pk), "_selected_action": [str(alice.account.pk)]},
    )
    account = fresh(alice.account)
    assert (account.subscription_plan, account.limits["monthly_minutes"]) == ("pro", 3000)


def test_editing_a_plan_in_the_admin_updates_its_accounts(plans, alice, operator_client):
    plan = plans["trial"]
    data = {
        "code": plan.code,
        "name": plan.name,
        "description": "",
        "monthly_price": "0",
        "currency": "USD",
        "included_minutes": "90",
        "concurrent_calls": "1",
        "agents": "1",
        "contacts": "100",
        "campaigns": "1",
        "overage_price_per_minute": "",
        "trial_days": "14",
        "payment_failure_threshold": "3",
        "is_signup_plan": "on",
        "is_public": "on",
        "sort_order": "0",
    }
    response = operator_client.post(f"/admin/billing/plan/{plan.pk}/change/", data)
    assert response.status_code == 302
    assert fresh(alice.account).limits["monthly_minutes"] == 90


def test_the_sync_action_pushes_plans_to_paypal(plans, paypal, operator_client):
    response = operator_client.post(
        "/admin/billing/plan/", {"action": "sync_with_paypal", "_selected_action": [str(plans["pro"].pk)]}, follow=True
    )
    assert "2 created" in response.content.decode()
    assert Plan.objects.exclude(paypal_plan_id="").count() == 2


def test_subscriptions_and_payments_are_read_only(synced, paypal, provider_sandbox, alice, operator_client):
    subscription = subscribe(provider_sandbox, alice, synced["starter"])
    deliver(paypal)
    assert operator_client.get("/admin/billing/subscription/").status_code == 200
    assert operator_client.get("/admin/billing/payment/").status_code == 200
    assert operator_client.get("/admin/billing/subscription/add/").status_code == 403
    page = operator_client.get(f"/admin/billing/subscription/{subscription.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert BillingProfile.objects.count() == 1
