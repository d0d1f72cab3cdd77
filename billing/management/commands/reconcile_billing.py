"""manage.py reconcile_billing: what the nightly task does, on demand."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand

from billing.services import billing_reconcile


class Command(BaseCommand):
    help = "Fetch every live PayPal subscription, record missing payments and apply what is due by date."

    def handle(self, *args: Any, **options: Any) -> None:
        result = billing_reconcile()
        self.stdout.write(", ".join(f"{key} {value}" for key, value in asdict(result).items()))
