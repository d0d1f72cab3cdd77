"""Before starting (or resuming): who can be called now, who cannot and why, and how long it
will take at the chosen pace.

Counted in a handful of grouped queries, whatever the size of the list: the window is decided
once per time zone (contacts are grouped by zone), the do-not-call list is a join, and an
invalid number is one the database already knows is not E.164.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from calls.models import Call
from campaigns import clock, windows
from campaigns.members import targeted_contacts
from campaigns.models import MEMBER_TERMINAL, Campaign, CampaignContact
from contacts.models import DoNotCallEntry
from contacts.phones import E164

# With no history, a call is assumed to last this long (ring + conversation).
DEFAULT_CALL_SECONDS = 90


def _average_call_seconds(campaign: Campaign) -> float:
    recent = Call.objects.filter(account_id=campaign.account_id, duration_seconds__isnull=False).order_by("-created_at")
    durations = list(recent.values_list("duration_seconds", flat=True)[:200])
    return (sum(durations) / len(durations) + 20) if durations else DEFAULT_CALL_SECONDS


def campaign_preview(*, campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    now = now or clock.now()
    contacts = targeted_contacts(campaign)
    on_list = DoNotCallEntry.objects.filter(account_id=campaign.account_id, phone=OuterRef("phone"))
    reached = CampaignContact.objects.filter(campaign=campaign, contact=OuterRef("pk"), state__in=MEMBER_TERMINAL)
    rows = (
        contacts.annotate(
            dnc=Q(do_not_call=True) | Exists(on_list),
            invalid=~Q(phone__regex=E164.pattern),
            reached=Exists(reached),
        )
        .values("time_zone", "dnc", "invalid", "reached")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    not_callable = {"do_not_call": 0, "outside_window": 0, "invalid_number": 0, "already_reached": 0}
    total = callable_now = callable_later = 0
    open_by_zone: dict[str, datetime | None] = {}
    for row in rows:
        total += row["n"]
        if row["reached"]:
            not_callable["already_reached"] += row["n"]
        elif row["dnc"]:
            not_callable["do_not_call"] += row["n"]
        elif row["invalid"]:
            not_callable["invalid_number"] += row["n"]
        else:
            zone = row["time_zone"]
            if zone not in open_by_zone:
                open_by_zone[zone] = windows.next_opening(campaign, zone, now)
            if open_by_zone[zone] == now:
                callable_now += row["n"]
            else:
                not_callable["outside_window"] += row["n"]
                callable_later += row["n"] if open_by_zone[zone] is not None else 0
    seconds = _estimate_seconds(campaign, callable_now + callable_later)
    return {
        "total": total,
        "callable_now": callable_now,
        "callable_later": callable_later,
        "not_callable": not_callable,
        "calls_per_second": str(campaign.calls_per_second),
        "estimated_seconds": seconds,
        "estimated_finish": (now + timedelta(seconds=seconds)).isoformat() if seconds is not None else None,
    }


def _estimate_seconds(campaign: Campaign, contacts: int) -> int | None:
    """Dialing time at the pace (the lower of calls per second and what the concurrent calls
    allow at the usual call length), spread over the daily window and the weekdays."""
    if not contacts:
        return 0
    per_second = min(float(campaign.calls_per_second), campaign.max_concurrent / _average_call_seconds(campaign))
    dialing = contacts / per_second
    per_day = windows.window_seconds_per_day(campaign)
    if per_day <= 0 or not campaign.weekdays:
        return None
    days = dialing / per_day
    if days <= 1:
        return math.ceil(dialing)
    calendar_days = days * 7 / len(campaign.weekdays)
    return math.ceil(calendar_days * 86400)
