"""Plans in the database, mirrored to PayPal by `sync_paypal_plans` (safe to run again), and
account limits that follow the plan."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.catalog import plans_sync_paypal
from billing.services import plan_refresh_accounts
from tests.billing.conftest import fresh

pytestmark = pytest.mark.django_db


def writes(sandbox):
    return [(r.method, r.path) for r in sandbox.requests("paypal") if r.method != "GET" and "oauth2" not in r.path]


def test_sync_creates_the_product_and_one_plan_per_paid_plan(plans, paypal, provider_sandbox):
    out = StringIO()
    call_command("sync_paypal_plans", stdout=out)
    assert "PayPal plans: 2 created, 0 updated, 0 unchanged, 1 free" in out.getvalue()
    assert [path for _m, path in writes(provider_sandbox)] == ["/v1/catalogs/products"] + ["/v1/billing/plans"] * 2
    for code, price in (("starter", "29.00"), ("pro", "99.00")):
        plans[code].refresh_from_db()
        remote = provider_sandbox.paypal.plans[plans[code].paypal_plan_id]
        assert remote["billing_cycles"][0]["pricing_scheme"]["fixed_price"] == {"value": price, "currency_code": "USD"}
        assert remote["product_id"] == plans[code].paypal_product_id
    assert remote["payment_preferences"]["payment_failure_threshold"] == 3
    assert all(
        r.headers.get("paypal-request-id")
        for r in provider_sandbox.requests("paypal")
        if r.method == "POST" and "oauth2" not in r.path
    )


def test_running_it_again_sends_nothing(plans, paypal, provider_sandbox):
    plans_sync_paypal()
    before = writes(provider_sandbox)
    assert plans_sync_paypal() == {"created": 0, "updated": 0, "unchanged": 2, "free": 1}
    assert writes(provider_sandbox) == before


def test_a_new_price_updates_the_plan_in_place_and_a_new_currency_makes_a_new_plan(plans, paypal, provider_sandbox):
    plans_sync_paypal()
    starter = plans["starter"]
    starter.refresh_from_db()
    first_id = starter.paypal_plan_id
    starter.monthly_price = Decimal("39.00")
    starter.save()
    assert plans_sync_paypal()["updated"] == 1
    starter.refresh_from_db()
    assert starter.paypal_plan_id == first_id
    regular = provider_sandbox.paypal.plans[first_id]["billing_cycles"][0]
    assert regular["pricing_scheme"]["fixed_price"]["value"] == "39.00"
    starter.currency = "EUR"
    starter.save()
    assert plans_sync_paypal()["created"] == 1
    starter.refresh_from_db()
    assert starter.paypal_plan_id != first_id


def test_a_trial_on_a_paid_plan_is_a_paypal_trial_cycle(plans, paypal, provider_sandbox):
    plans["pro"].trial_days = 7
    plans["pro"].save()
    plans_sync_paypal()
    plans["pro"].refresh_from_db()
    cycles = provider_sandbox.paypal.plans[plans["pro"].paypal_plan_id]["billing_cycles"]
    assert [(c["tenure_type"], c["sequence"]) for c in cycles] == [("TRIAL", 1), ("REGULAR", 2)]
    assert cycles[0]["frequency"] == {"interval_unit": "DAY", "interval_count": 7}


def test_paypal_down_fails_the_command_with_one_line(plans, paypal, provider_sandbox):
    provider_sandbox.inject_fault("paypal", r"^/v1/catalogs/products$", status=503)
    with pytest.raises(CommandError) as failed:
        call_command("sync_paypal_plans", stdout=StringIO())
    assert str(failed.value).startswith("PayPal: PayPal is failing (503)")
    assert "\n" not in str(failed.value)


def test_editing_a_plan_changes_the_limits_of_its_accounts(plans, alice, charlie):
    trial = plans["trial"]
    trial.agents, trial.contacts = 2, None
    trial.save()
    assert plan_refresh_accounts(plan=trial) == 2
    limits = fresh(alice.account).limits
    assert limits["agents"] == 2 and "contacts" not in limits
