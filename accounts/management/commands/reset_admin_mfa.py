"""Remove the two-factor devices of a platform staff member who lost their phone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.mfa import mfa_reset
from prixagent.errors import ApplicationError


class Command(BaseCommand):
    help = "Remove a staff member's authenticator and recovery codes; they enrol again at their next admin login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the staff member's login email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        try:
            removed = mfa_reset(email=email)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Removed {removed} two-factor device{'s' if removed != 1 else ''} of {email.strip().lower()}; "
            "they set up a new one at their next admin login."
        )
