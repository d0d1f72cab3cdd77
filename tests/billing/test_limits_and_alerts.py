"""Limits follow the plan at every door's check, minutes stop new calls unless the plan bills
overage, and the owners are emailed once at 80 % and once at 100 %."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail

from accounts.models import User
from billing import usage
from billing.services import billing_move_plan
from prixagent.errors import ApplicationError
from tests.billing.conftest import fresh

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("key", "allowed"), [("agents", 1), ("contacts", 100), ("campaigns", 1), ("concurrent_calls", 1)]
)
def test_each_limit_comes_from_the_plan(plans, alice, key, allowed):
    account = fresh(alice.account)
    usage.limit_check(account=account, key=key, current=allowed - 1)
    with pytest.raises(ApplicationError) as refused:
        usage.limit_check(account=account, key=key, current=allowed)
    assert (refused.value.code, refused.value.status_code) == ("plan_limit", 403)
    billing_move_plan(account=account, plan=plans["pro"])
    usage.limit_check(account=fresh(alice.account), key=key, current=allowed)  # the bigger plan allows it


def test_a_bulk_import_is_checked_for_all_it_adds(plans, alice):
    with pytest.raises(ApplicationError):
        usage.limit_check(account=fresh(alice.account), key="contacts", current=90, adding=11)
    usage.limit_check(account=fresh(alice.account), key="contacts", current=90, adding=10)


def test_minutes_stop_new_calls_at_the_plan_unless_it_bills_overage(plans, alice):
    account = fresh(alice.account)
    usage.usage_record_call(account=account, call_id=uuid.uuid4(), seconds=59 * 60, ended_at=datetime.now(UTC))
    usage.minutes_check(account=account)
    usage.usage_record_call(account=account, call_id=uuid.uuid4(), seconds=30, ended_at=datetime.now(UTC))
    with pytest.raises(ApplicationError) as refused:
        usage.minutes_check(account=account)
    assert refused.value.code == "plan_limit"
    billing_move_plan(account=account, plan=plans["pro"])  # overage allowed
    plans["pro"].included_minutes = 10
    plans["pro"].save()
    billing_move_plan(account=account, plan=plans["pro"])
    usage.minutes_check(account=fresh(alice.account))


def test_owners_are_emailed_once_at_80_and_once_at_100_percent(plans, alice, bob, django_capture_on_commit_callbacks):
    owner2 = User.objects.create_user("olga@example.com", "pw long enough 123", account=alice.account, role="owner")
    account = fresh(alice.account)  # 60 minutes a month

    def call(minutes: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            usage.usage_record_call(
                account=account, call_id=uuid.uuid4(), seconds=minutes * 60, ended_at=datetime.now(UTC)
            )

    call(47)
    assert mail.outbox == []
    call(1)  # 48 of 60: 80 %
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", owner2.email]
    assert "80%" in mail.outbox[0].subject
    call(5)
    assert len(mail.outbox) == 2  # not again this month
    call(7)  # 60 of 60
    assert len(mail.outbox) == 4
    assert "all of this month's minutes" in mail.outbox[-1].subject
    assert "New calls are stopped" in mail.outbox[-1].body
    call(3)
    assert len(mail.outbox) == 4
    assert bob.email not in {m.to[0] for m in mail.outbox}


def test_an_owner_reads_the_alert_in_their_language(plans, alice, django_capture_on_commit_callbacks):
    alice.language = "es"
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        usage.usage_record_call(
            account=fresh(alice.account), call_id=uuid.uuid4(), seconds=3600, ended_at=datetime.now(UTC)
        )
    assert "minutos" in mail.outbox[0].subject


def test_no_limit_no_email(db, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        usage.usage_record_call(account=alice.account, call_id=uuid.uuid4(), seconds=10**6, ended_at=datetime.now(UTC))
    assert mail.outbox == []


def test_last_months_overage_is_added_to_the_paypal_balance_once(synced, paypal, provider_sandbox, alice):
    from datetime import timedelta

    from billing.services import billing_reconcile
    from tests.billing.conftest import subscribe

    subscription = subscribe(provider_sandbox, alice, synced["pro"])  # 3000 minutes, 0.05 a minute past them
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=2)
    usage.usage_record_call(account=alice.account, call_id=uuid.uuid4(), seconds=3100 * 60, ended_at=last_month)
    assert billing_reconcile().overage_billed == 1
    remote = provider_sandbox.paypal.subscriptions[subscription.paypal_subscription_id]
    assert remote["billing_info"]["outstanding_balance"] == {"currency_code": "USD", "value": "5.00"}
    assert billing_reconcile().overage_billed == 0  # once per month
    assert remote["billing_info"]["outstanding_balance"]["value"] == "5.00"
    sale = provider_sandbox.paypal.charge(subscription.paypal_subscription_id)
    assert sale["amount"]["total"] == "104.00"  # the next cycle collects it
