"""Celery tasks of the dialer (see `campaigns.dialer`). Each takes ids, loads what it needs and is
safe to deliver twice or run concurrently: the claims are in PostgreSQL."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from campaigns import dialer
from prixagent import periodic


@shared_task(name="campaigns.tasks.campaigns_tick_task", ignore_result=True)
def campaigns_tick_task() -> dict[str, int]:
    return dialer.campaigns_tick()


@shared_task(name="campaigns.tasks.campaign_dispatch_task", ignore_result=True)
def campaign_dispatch_task(campaign_id: str) -> int:
    return len(dialer.campaign_dispatch(campaign_id))


@shared_task(name="campaigns.tasks.campaign_dial_task", ignore_result=True)
def campaign_dial_task(member_id: int, dial: int) -> str:
    # Run in-process (no broker, or tests), a dial waits for its turn instead of re-queuing itself:
    # an eager task's countdown would be ignored.
    return dialer.campaign_dial(member_id, dial, eager_wait=bool(settings.CELERY_TASK_ALWAYS_EAGER))


@shared_task(name="campaigns.tasks.campaigns_recover_task", ignore_result=True)
def campaigns_recover_task() -> dict[str, Any]:
    return dialer.campaigns_recover()


periodic.register("campaigns-tick", "campaigns.tasks.campaigns_tick_task", seconds=1)
periodic.register("campaigns-recover", "campaigns.tasks.campaigns_recover_task", seconds=30)
