"""Operator services for kept webhooks: replay and pruning."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from webhooks.models import InboundWebhook
from webhooks.pipeline import webhook_replay

__all__ = ["webhook_prune", "webhook_replay"]

KEEP_DAYS = 30  # processed, ignored and failed events: long enough to investigate a dispute
KEEP_REJECTED_DAYS = 7  # unsigned junk: anyone on the internet can send it


def webhook_prune(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    old = InboundWebhook.objects.filter(received_at__lt=now - timedelta(days=KEEP_DAYS)).exclude(
        status=InboundWebhook.Status.RECEIVED
    )
    junk = InboundWebhook.objects.filter(
        status=InboundWebhook.Status.REJECTED, received_at__lt=now - timedelta(days=KEEP_REJECTED_DAYS)
    )
    return old.delete()[0] + junk.delete()[0]
