"""Sync an account's contacts with its GoHighLevel location now (pull, then push), in the foreground."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from accounts.models import Account
from contacts import ghl_sync
from contacts.models import GhlSyncState


class Command(BaseCommand):
    help = "Pull the account's GoHighLevel contacts and push its local changes, now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="the account's slug")

    @no_translations  # operator output in English, whatever language a previous request left active
    def handle(self, *args: Any, account: str, **options: Any) -> None:
        found = Account.objects.filter(slug=account).first()
        if found is None:
            raise CommandError(f"No account with the slug {account!r}.")
        if not found.ghl_configured:
            raise CommandError(f"{account} has not connected GoHighLevel.")
        state = ghl_sync.ghl_sync_run(account_id=found.pk)
        if state is None:
            raise CommandError("A sync of this account is running already; try again when it ends.")
        self.stdout.write(
            f"{state.get_status_display()}: pulled {state.pulled} ({state.created} new, {state.updated} updated, "
            f"{state.skipped} skipped), pushed {state.pushed}, {state.requests} requests"
        )
        if state.status != GhlSyncState.Status.OK:
            raise CommandError(state.message or state.get_status_display())
