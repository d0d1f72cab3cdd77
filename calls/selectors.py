"""Reads about calls, for the API, the dashboard, the contact and agent pages.

Every read starts from the caller's account; another account's call is simply not found
(404, exactly like a call that does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Account, User
from agents.models import Booking, ToolInvocation
from calls.models import Call, Outcome, Status, TenantWebhook, TenantWebhookDelivery


def calls_for_account(account: Account) -> QuerySet[Call]:
    return Call.objects.filter(account=account).select_related("agent", "contact")


def get_call_for_user(user: User, call_id: object) -> Call:
    """One call of the user's account; another account's (or a malformed id) answers 404."""
    if getattr(user, "account_id", None) is None:
        raise Http404
    try:
        return calls_for_account(user.account).get(pk=call_id)
    except (Call.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404 from None


@dataclass(frozen=True)
class CallFilters:
    """The calls list's filters (API query parameters and the dashboard's form share them)."""

    status: str = ""
    outcome: str = ""
    agent: str = ""
    direction: str = ""
    contact: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query: Any) -> CallFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(str(query.get(name) or ""))
            except ValueError:
                return None

        def choice(name: str, allowed: list[str]) -> str:
            value = str(query.get(name) or "")
            return value if value in allowed else ""

        return cls(
            status=choice("status", [*Status.values, "live", "ended"]),
            outcome=choice("outcome", Outcome.values),
            agent=str(query.get("agent") or "")[:40],
            direction=choice("direction", Call.Direction.values),
            contact=str(query.get("contact") or "")[:20],
            since=day("since"),
            until=day("until"),
        )


def _start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def calls_filtered(account: Account, filters: CallFilters) -> QuerySet[Call]:
    return calls_filter(calls_for_account(account), filters)


def calls_filter(calls: QuerySet[Call], filters: CallFilters) -> QuerySet[Call]:
    """Narrow an (already account-scoped) queryset of calls by the list's filters."""
    if filters.status == "live":
        calls = calls.filter(status__in=[s for s in Status.values if s not in _ended()])
    elif filters.status == "ended":
        calls = calls.filter(status__in=_ended())
    elif filters.status:
        calls = calls.filter(status=filters.status)
    if filters.outcome:
        calls = calls.filter(outcome=filters.outcome)
    if filters.direction:
        calls = calls.filter(direction=filters.direction)
    if filters.agent:
        try:
            calls = calls.filter(agent_id=filters.agent)
        except ValidationError:
            calls = calls.none()
    if filters.contact.isdigit():
        calls = calls.filter(contact_id=int(filters.contact))
    if filters.since:
        calls = calls.filter(created_at__gte=_start(filters.since))
    if filters.until:
        calls = calls.filter(created_at__lt=_start(filters.until) + timezone.timedelta(days=1))
    return calls.order_by("-created_at", "-id")


def _ended() -> list[str]:
    from calls.models import TERMINAL

    return sorted(TERMINAL)


def call_tool_invocations(call: Call) -> QuerySet[ToolInvocation]:
    return ToolInvocation.objects.filter(account_id=call.account_id, call_id=call.pk).order_by("created_at", "id")


def call_bookings(call: Call) -> QuerySet[Booking]:
    return Booking.objects.filter(account_id=call.account_id, call_id=call.pk).order_by("created_at")


def calls_for_contact(contact: Any, limit: int = 20) -> QuerySet[Call]:
    return Call.objects.filter(account_id=contact.account_id, contact=contact).select_related("agent")[:limit]


def tenant_webhooks_for_account(account: Account) -> QuerySet[TenantWebhook]:
    return TenantWebhook.objects.filter(account=account)


def get_tenant_webhook_for_user(user: User, endpoint_id: object) -> TenantWebhook:
    if getattr(user, "account_id", None) is None:
        raise Http404
    try:
        return TenantWebhook.objects.get(account_id=user.account_id, pk=endpoint_id)
    except (TenantWebhook.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404 from None


def deliveries_for(endpoint: TenantWebhook) -> QuerySet[TenantWebhookDelivery]:
    return (
        TenantWebhookDelivery.objects.filter(account_id=endpoint.account_id, endpoint=endpoint)
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")
    )
