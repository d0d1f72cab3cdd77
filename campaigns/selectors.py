"""Reads about campaigns: lists, one campaign, its figures, its contacts and calls, and the
account's overview (today, this month, calls per day).

Every function starts from the caller's account (or a campaign already loaded from it), so
nothing here can return another tenant's rows. Figures come from grouped queries: a campaign's
stats cost four queries whatever its size, the overview's chart one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from accounts.models import Account
from billing.usage import limit_value, usage_minutes
from calls.models import Call, Outcome
from campaigns.models import Campaign, CampaignContact, MemberState

# Outcomes where a person talked to the agent (the numerator of every answer rate).
HUMAN_OUTCOMES = (Outcome.BOOKED, Outcome.OPTED_OUT, Outcome.ANSWERED)
# Calls that never rang anyone are not in an answer rate's denominator (we never reached the network).
UNPLACED_OUTCOMES = (Outcome.NOT_PLACED, Outcome.CANCELED)
# The chart's stacks, bottom to top: every call outcome falls in exactly one (an empty outcome, a
# call still live, counts as "other").
CHART_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("booked", (Outcome.BOOKED,)),
    ("answered", (Outcome.ANSWERED, Outcome.OPTED_OUT)),
    ("voicemail", (Outcome.VOICEMAIL, Outcome.MACHINE)),
    ("no_answer", (Outcome.NO_ANSWER, Outcome.BUSY)),
    ("failed", (Outcome.FAILED, Outcome.NOT_PLACED, Outcome.CANCELED)),
)


# --- campaigns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignFilters:
    """The list's filters (API query parameters and the dashboard share them); bad values are ignored."""

    state: str = ""
    agent: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, query: Any) -> CampaignFilters:
        state = str(query.get("state") or "")
        return cls(
            state=state if state in [*Campaign.State.values, "active"] else "",
            agent=str(query.get("agent") or "")[:40],
            q=str(query.get("q") or "").strip()[:100],
        )


def campaigns_for(account: Account, filters: CampaignFilters | None = None) -> QuerySet[Campaign]:
    """The account's campaigns, newest first, with what their rows show (no N+1)."""
    campaigns = Campaign.objects.filter(account=account).select_related("agent").prefetch_related("target_tags")
    return campaigns_filter(campaigns, filters or CampaignFilters())


def campaigns_filter(campaigns: QuerySet[Campaign], filters: CampaignFilters) -> QuerySet[Campaign]:
    """Narrow an already account-scoped queryset by the list's filters."""
    if filters.state == "active":
        campaigns = campaigns.filter(state__in=ACTIVE_STATES)
    elif filters.state:
        campaigns = campaigns.filter(state=filters.state)
    if filters.agent:
        try:
            campaigns = campaigns.filter(agent_id=filters.agent)
        except ValidationError:
            campaigns = campaigns.none()
    if filters.q:
        campaigns = campaigns.filter(name__icontains=filters.q)
    return campaigns.order_by("-created_at", "-id")


ACTIVE_STATES = (Campaign.State.SCHEDULED, Campaign.State.RUNNING, Campaign.State.PAUSED)


def campaign_get(account: Account, campaign_id: object) -> Campaign:
    """One campaign of the account; another account's (or a malformed id) answers 404."""
    try:
        return campaigns_for(account).get(pk=campaign_id)
    except (Campaign.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404 from None


def campaign_calls(campaign: Campaign) -> QuerySet[Call]:
    """The campaign's calls, newest first (the indexed `account, campaign_ref` pair)."""
    return (
        Call.objects.filter(account_id=campaign.account_id, campaign_ref=str(campaign.pk))
        .select_related("contact", "agent")
        .order_by("-created_at", "-id")
    )


def campaign_members(campaign: Campaign, state: str = "") -> QuerySet[CampaignContact]:
    """The campaign's contacts with their state, in the order they joined; `state` narrows them
    (an unknown state is ignored). The caller paginates."""
    members = CampaignContact.objects.filter(campaign=campaign, account_id=campaign.account_id)
    if state in MemberState.values:
        members = members.filter(state=state)
    return members.select_related("contact", "last_call").order_by("id")


# --- figures ---------------------------------------------------------------------------------


def _billable_minutes_expression() -> Any:
    # billing.usage.billable_minutes in SQL: whole minutes rounded up (integer division in both
    # PostgreSQL and SQLite), so a 61-second call is 2 minutes here as on the invoice.
    return (F("duration_seconds") + 59) / 60


def _call_figures(calls: QuerySet[Call]) -> dict[str, int]:
    """Counts, answers, bookings and billable minutes of a set of calls, in one query."""
    figures = calls.aggregate(
        calls=Count("id"),
        rang=Count("id", filter=~Q(outcome="") & ~Q(outcome__in=UNPLACED_OUTCOMES)),
        answered=Count("id", filter=Q(outcome__in=HUMAN_OUTCOMES)),
        bookings=Count("id", filter=Q(outcome=Outcome.BOOKED)),
        minutes=Sum(_billable_minutes_expression(), filter=Q(duration_seconds__gt=0)),
    )
    return {key: int(value or 0) for key, value in figures.items()}


def answer_rate(answered: int, rang: int) -> float | None:
    """Share of the calls that rang which a person answered (None: nothing rang yet)."""
    return round(answered / rang, 4) if rang else None


def _costs(calls: QuerySet[Call]) -> dict[str, str]:
    """Twilio's price per currency. Twilio reports prices as negative strings ("-0.01300"): the
    sum of their absolute values is what the calls cost. A malformed price is left out."""
    totals: dict[str, Decimal] = {}
    for price, unit in calls.exclude(price="").values_list("price", "price_unit"):
        try:
            amount = abs(Decimal(price))
        except InvalidOperation:
            continue
        key = (unit or "USD").upper()
        totals[key] = totals.get(key, Decimal(0)) + amount
    return {unit: str(amount) for unit, amount in sorted(totals.items())}


def campaign_stats(campaign: Campaign) -> dict[str, Any]:
    """What the campaign has done: its contacts by state and by outcome, attempts, and its calls'
    answer rate, bookings, billable minutes and cost."""
    by_state: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    attempts = 0
    rows = (
        CampaignContact.objects.filter(campaign=campaign, account_id=campaign.account_id)
        .values("state", "outcome")
        .annotate(n=Count("id"), tries=Sum("attempts"))
        .order_by()
    )
    for row in rows:
        by_state[row["state"]] += row["n"]
        if row["outcome"]:
            by_outcome[row["outcome"]] += row["n"]
        attempts += int(row["tries"] or 0)
    calls = Call.objects.filter(account_id=campaign.account_id, campaign_ref=str(campaign.pk))
    figures = _call_figures(calls)
    total = sum(by_state.values())
    done = sum(n for state, n in by_state.items() if state not in (MemberState.QUEUED, MemberState.DIALING))
    return {
        "contacts": total,
        "done": done,
        "progress": round(done / total, 4) if total else None,
        "by_state": {state: by_state.get(state, 0) for state in MemberState.values},
        "by_outcome": dict(sorted(by_outcome.items())),
        "attempts": attempts,
        "calls": figures["calls"],
        "answered": figures["answered"],
        "answer_rate": answer_rate(figures["answered"], figures["rang"]),
        "bookings": figures["bookings"],
        "minutes": figures["minutes"],
        "cost": _costs(calls),
    }


# --- the account's overview --------------------------------------------------------------------


def account_zone(account: Account) -> ZoneInfo:
    try:
        return ZoneInfo(account.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def calls_per_day(account: Account, *, first: date, last: date) -> list[dict[str, Any]]:
    """One row a day from `first` to `last` (the account's local days, none missing): its calls,
    counted by chart group. One grouped query."""
    zone = account_zone(account)
    rows = (
        Call.objects.filter(
            account=account,
            created_at__gte=_day_start(first, zone),
            created_at__lt=_day_start(last + timedelta(days=1), zone),
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    group_of = {outcome: name for name, outcomes in CHART_GROUPS for outcome in outcomes}
    days: dict[date, dict[str, Any]] = {}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        days[day] = {"day": day, "calls": 0, **{name: 0 for name, _o in CHART_GROUPS}, "other": 0}
    for row in rows:
        entry = days.get(row["day"])
        if entry is None:
            continue
        entry["calls"] += row["n"]
        entry[group_of.get(row["outcome"], "other")] += row["n"]
    return list(days.values())


def account_overview(account: Account, today: date | None = None, days: int = 14) -> dict[str, Any]:
    """Today's calls, answer rate and bookings (the account's local day), this month's minutes
    against the plan, and calls per day for the last `days` days."""
    zone = account_zone(account)
    today = today or timezone.now().astimezone(zone).date()
    start = _day_start(today, zone)
    todays = _call_figures(
        Call.objects.filter(account=account, created_at__gte=start, created_at__lt=start + timedelta(days=1))
    )
    used = usage_minutes(account=account)
    allowed = limit_value(account, "monthly_minutes")
    return {
        "today": today,
        "calls_today": todays["calls"],
        "answered_today": todays["answered"],
        "answer_rate_today": answer_rate(todays["answered"], todays["rang"]),
        "bookings_today": todays["bookings"],
        "minutes_used": used,
        "minutes_allowed": allowed,
        "minutes_share": round(used / allowed, 4) if allowed else None,
        "active_campaigns": Campaign.objects.filter(account=account, state__in=ACTIVE_STATES).count(),
        "per_day": calls_per_day(account, first=today - timedelta(days=days - 1), last=today),
    }
