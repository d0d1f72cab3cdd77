"""Suspend a tenant: its API calls and campaigns stop, its users see the reason."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import account_get_by_slug, account_set_status
from prixagent.errors import ApplicationError


class Command(BaseCommand):
    help = "Suspend a tenant account by slug, with a reason its users will see."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--reason", required=True, help="shown to the account's users")

    def handle(self, *args: Any, slug: str, reason: str, **options: Any) -> None:
        if not reason.strip():
            raise CommandError("--reason must not be empty")
        try:
            account = account_get_by_slug(slug=slug)
            account_set_status(account=account, change="suspend", reason=reason, actor="manage.py suspend_account")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Account {account.slug}: suspended ({account.status_reason})")
