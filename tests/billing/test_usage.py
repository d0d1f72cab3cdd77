"""Metering is once per call, totals follow, and limits refuse at the plan's number."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from billing import usage
from prixagent.errors import ApplicationError

pytestmark = pytest.mark.django_db
NOV = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_a_call_is_metered_once_rounded_up_per_call(alice_account):
    call = uuid.uuid4()
    assert usage.usage_record_call(account=alice_account, call_id=call, seconds=61, ended_at=NOV) is True
    assert usage.usage_record_call(account=alice_account, call_id=call, seconds=61, ended_at=NOV) is False
    usage.usage_record_call(account=alice_account, call_id=uuid.uuid4(), seconds=30, ended_at=NOV)
    alice_account.refresh_from_db()
    assert alice_account.usage_stats["2026-11"] == {"calls": 2, "seconds": 91, "minutes": 3}
    assert usage.usage_minutes(account=alice_account, month="2026-11") == 3
    assert usage.usage_minutes(account=alice_account, month="2026-10") == 0


def test_other_accounts_usage_does_not_count(alice_account, charlie_account):
    usage.usage_record_call(account=charlie_account, call_id=uuid.uuid4(), seconds=600, ended_at=NOV)
    assert usage.usage_minutes(account=alice_account, month="2026-11") == 0


def test_limit_check_refuses_past_the_plan(alice_account):
    alice_account.limits = {"agents": 2}
    usage.limit_check(account=alice_account, key="agents", current=1)
    with pytest.raises(ApplicationError) as refused:
        usage.limit_check(account=alice_account, key="agents", current=2)
    assert (refused.value.code, refused.value.status_code) == ("plan_limit", 403)
    usage.limit_check(account=alice_account, key="contacts", current=10**6)  # no limit set


def test_minutes_check_stops_new_calls_unless_overage(alice_account):
    alice_account.limits = {"monthly_minutes": 1}
    usage.minutes_check(account=alice_account)
    usage.usage_record_call(account=alice_account, call_id=uuid.uuid4(), seconds=5, ended_at=datetime.now(UTC))
    with pytest.raises(ApplicationError):
        usage.minutes_check(account=alice_account)
    alice_account.limits = {"monthly_minutes": 1, "overage": True}
    usage.minutes_check(account=alice_account)
