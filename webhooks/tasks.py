"""Webhook housekeeping."""

from __future__ import annotations

from celery import shared_task

from prixagent import periodic
from webhooks.services import webhook_prune


@shared_task(name="webhooks.tasks.webhook_prune_task", ignore_result=True)
def webhook_prune_task() -> int:
    return webhook_prune()


periodic.register("webhook-prune", "webhooks.tasks.webhook_prune_task", seconds=24 * 3600)
