"""Usage against the plan: metering calls and checking limits.

The account's `limits` (the seed's column) holds what its plan allows, e.g.
``{"monthly_minutes": 500, "overage": false, "concurrent_calls": 2, "agents": 3, "contacts": 5000,
"campaigns": 5}``; a missing key means no limit. The billing issue keeps `limits` in step with
the plan (`billing.services.plan_apply`). `usage_stats` (the seed's column) holds per-month totals for display
(``{"2026-11": {"calls": 12, "seconds": 1800, "minutes": 34}}``); `UsageRecord` rows are the truth.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from billing.models import UsageRecord
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)
LIMIT_KEYS = ("monthly_minutes", "concurrent_calls", "agents", "contacts", "campaigns")


def month_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def billable_minutes(seconds: int) -> int:
    return math.ceil(max(seconds, 0) / 60)


def usage_record_call(*, account: Account, call_id: uuid.UUID, seconds: int, ended_at: datetime) -> bool:
    """Meter one finished call; False (and nothing counted) when it was metered already."""
    minutes = billable_minutes(seconds)
    day = ended_at.astimezone(UTC).date()
    try:
        with transaction.atomic():
            UsageRecord.objects.create(account=account, call_id=call_id, seconds=seconds, minutes=minutes, day=day)
            locked = Account.objects.select_for_update().only("id", "usage_stats").get(pk=account.pk)
            month = locked.usage_stats.setdefault(month_key(ended_at), {"calls": 0, "seconds": 0, "minutes": 0})
            month["calls"] += 1
            month["seconds"] += seconds
            month["minutes"] += minutes
            locked.save(update_fields=["usage_stats"])
            transaction.on_commit(lambda: _alerts(account.pk))
    except IntegrityError:
        return False
    return True


def _alerts(account_id: object) -> None:
    from billing.alerts import usage_alerts_check  # alerts import this module

    try:
        usage_alerts_check(account_id=account_id)
    except Exception:  # noqa: BLE001 - an email problem must never fail the metering of a call
        logger.exception("usage alerts for account %s failed", account_id)


def usage_minutes(*, account: Account, month: str | None = None) -> int:
    """Billable minutes of a calendar month (UTC), this one by default."""
    year, number = map(int, (month or month_key(timezone.now())).split("-"))
    total = UsageRecord.objects.filter(account=account, day__year=year, day__month=number).aggregate(
        total=Sum("minutes")
    )["total"]
    return int(total or 0)


def limit_value(account: Account, key: str) -> int | None:
    """What the plan allows for `key`; None means unlimited."""
    if key not in LIMIT_KEYS:
        raise ValueError(f"unknown limit {key!r}")
    value = (account.limits or {}).get(key)
    return None if value is None else int(value)


def limit_check(*, account: Account, key: str, current: int, adding: int = 1) -> None:
    """Refuse (403, code `plan_limit`) when `current + adding` would pass the plan's `key` limit."""
    allowed = limit_value(account, key)
    if allowed is not None and current + adding > allowed:
        raise ApplicationError(
            _("Your plan allows %(allowed)s %(what)s; upgrade the plan to add more.")
            % {"allowed": allowed, "what": _limit_label(key)},
            code="plan_limit",
            status_code=403,
        )


def minutes_check(*, account: Account) -> None:
    """Before a new call: refuse when this month's minutes are used up and the plan has no overage."""
    allowed = limit_value(account, "monthly_minutes")
    if allowed is None or (account.limits or {}).get("overage"):
        return
    if usage_minutes(account=account) >= allowed:
        raise ApplicationError(
            _("This month's %(allowed)s minutes are used up; upgrade the plan to keep calling.") % {"allowed": allowed},
            code="plan_limit",
            status_code=403,
        )


def _limit_label(key: str) -> str:
    return {
        "monthly_minutes": _("minutes a month"),
        "concurrent_calls": _("calls at the same time"),
        "agents": _("agents"),
        "contacts": _("contacts"),
        "campaigns": _("campaigns"),
    }[key]
