"""Reactivate a suspended tenant (a cancelled one stays cancelled)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import account_get_by_slug, account_set_status
from prixagent.errors import ApplicationError


class Command(BaseCommand):
    help = "Reactivate a suspended tenant account by slug."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        try:
            account = account_get_by_slug(slug=slug)
            account_set_status(account=account, change="reactivate", actor="manage.py reactivate_account")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Account {account.slug}: active")
