"""List tenant accounts as a table (no secrets: only which integrations are configured)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from accounts.services import account_configured_integrations, account_list
from prixagent.errors import ApplicationError

COLUMNS = ("slug", "name", "email", "status", "plan", "integrations")


class Command(BaseCommand):
    help = "List tenant accounts: slug, name, email, status, plan and configured integrations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", choices=Account.Status.values, help="only accounts with this status")

    def handle(self, *args: Any, status: str | None, **options: Any) -> None:
        try:
            accounts = account_list(status=status)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        rows = [
            (
                a.slug,
                a.name,
                a.email,
                a.status,
                a.subscription_plan or "-",
                ",".join(account_configured_integrations(account=a)) or "-",
            )
            for a in accounts
        ]
        widths = [max(len(str(v)) for v in column) for column in zip(COLUMNS, *rows, strict=False)]
        for row in (COLUMNS, *rows):
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write(f"{len(rows)} account{'s' if len(rows) != 1 else ''}" + (f" ({status})" if status else ""))
