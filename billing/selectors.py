"""Reads for the usage page, the API and the operator's admin."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import Account
from billing.models import BillingProfile, BillingStatus, Payment, Plan, UsageRecord
from billing.usage import limit_value, month_key, usage_minutes

CHART_WIDTH, CHART_HEIGHT = 620, 160


@dataclass
class Bar:
    day: int
    minutes: int
    x: float
    y: float
    width: float
    height: float


def usage_by_day(*, account: Account, year: int, month: int) -> list[tuple[date, int]]:
    """Minutes per day of the month (UTC), every day present (zero when no call)."""
    rows = (
        UsageRecord.objects.filter(account=account, day__year=year, day__month=month)
        .values("day")
        .annotate(minutes=Sum("minutes"))
    )
    found = {row["day"]: int(row["minutes"]) for row in rows}
    days = calendar.monthrange(year, month)[1]
    return [(date(year, month, d), found.get(date(year, month, d), 0)) for d in range(1, days + 1)]


def chart_bars(days: list[tuple[date, int]], limit_per_day: float | None = None) -> dict[str, Any]:
    """Bar geometry for the server-drawn SVG chart (no script, no CDN)."""
    top = max([minutes for _day, minutes in days] + [1])
    slot = CHART_WIDTH / max(len(days), 1)
    bars = []
    for day, minutes in days:
        height = round(minutes / top * (CHART_HEIGHT - 20), 1)
        bars.append(Bar(day.day, minutes, round((day.day - 1) * slot + 1, 1), CHART_HEIGHT - height, slot - 2, height))
    return {"bars": bars, "top": top, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def billing_overview(*, account: Account, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    profile, _created = BillingProfile.objects.select_related("plan", "scheduled_plan", "subscription").get_or_create(
        account=account
    )
    used = usage_minutes(account=account)
    allowed = limit_value(account, "monthly_minutes")
    days = usage_by_day(account=account, year=now.year, month=now.month)
    subscription = profile.subscription
    return {
        "profile": profile,
        "plan": profile.plan,
        "status": account.subscription_status,
        "status_label": BillingStatus(account.subscription_status).label if account.subscription_status else "",
        "subscription": subscription,
        "renews_at": subscription.next_billing_at if subscription and subscription.status == "ACTIVE" else None,
        "paid_through": profile.paid_through,
        "trial_ends_at": profile.trial_ends_at,
        "month": month_key(now),
        "minutes_used": used,
        "minutes_allowed": allowed,
        "percent": min(100, round(used * 100 / allowed)) if allowed else None,
        "overage": bool((account.limits or {}).get("overage")),
        "overage_minutes": max(0, used - allowed) if allowed else 0,
        "chart": chart_bars(days),
        "plans": list(Plan.objects.filter(is_public=True)),
    }


def payments_for(*, account: Account, limit: int = 24) -> list[Payment]:
    return list(Payment.objects.filter(account=account)[:limit])


def revenue_by_month(*, months: int = 12) -> list[dict[str, Any]]:
    """Money received per calendar month and currency (comped months count zero)."""
    rows = (
        Payment.objects.filter(kind=Payment.Kind.SALE)
        .annotate(month=TruncMonth("paid_at"))
        .values("month", "currency")
        .annotate(total=Sum("amount"), payments=Count("id"))
        .order_by("-month", "currency")
    )
    return [
        {
            "month": row["month"].strftime("%Y-%m"),
            "currency": row["currency"],
            "total": row["total"] or Decimal(0),
            "payments": row["payments"],
        }
        for row in rows[: months * 3]
    ]


def status_counts() -> dict[str, int]:
    counts = dict(
        Account.objects.exclude(subscription_status="")
        .values_list("subscription_status")
        .annotate(n=Count("id"))
        .values_list("subscription_status", "n")
    )
    return {status.value: counts.get(status.value, 0) for status in BillingStatus}
