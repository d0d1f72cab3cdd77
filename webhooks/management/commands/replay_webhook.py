"""Run a kept webhook through its handler again: `manage.py replay_webhook 1234`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks.models import InboundWebhook
from webhooks.services import webhook_replay


class Command(BaseCommand):
    help = "Replay a kept incoming webhook (by id) through its handler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("webhook_id", type=int)

    def handle(self, *args: Any, webhook_id: int, **options: Any) -> None:
        webhook = InboundWebhook.objects.filter(pk=webhook_id).first()
        if webhook is None:
            raise CommandError(f"no incoming webhook with id {webhook_id}")
        try:
            status = webhook_replay(webhook=webhook)
        except ValueError as exc:
            raise CommandError(f"webhook {webhook_id}: {exc}") from None
        self.stdout.write(f"webhook {webhook_id} ({webhook.endpoint} {webhook.event_id}): {status}")
        if status == InboundWebhook.Status.FAILED:
            raise CommandError(f"webhook {webhook_id} failed again: {webhook.error or 'see the log'}")
