"""manage.py sync_paypal_plans: create or update the PayPal product and billing plans."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.catalog import plans_sync_paypal
from integrations.providers.base import ProviderError


class Command(BaseCommand):
    help = "Create or update the PayPal product and one billing plan per paid plan (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = plans_sync_paypal(report=self.stdout.write)
        except ProviderError as exc:
            raise CommandError(f"PayPal: {exc.message}") from None
        summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"PayPal plans: {summary}"))
