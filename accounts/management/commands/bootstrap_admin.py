"""Create or update the platform super admin from ADMIN_EMAIL / ADMIN_PASSWORD in .env."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import admin_bootstrap
from prixagent.errors import ApplicationError


class Command(BaseCommand):
    help = "Create or update the platform super admin from ADMIN_EMAIL and ADMIN_PASSWORD (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = admin_bootstrap(email=settings.ADMIN_EMAIL, password=settings.ADMIN_PASSWORD)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Platform admin {settings.ADMIN_EMAIL}: {result}")
