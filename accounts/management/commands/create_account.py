"""Create a tenant account and its owner. The owner's password is never a command-line argument."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import account_create
from prixagent.errors import ApplicationError


def read_password(stdin: Any) -> str:
    """From a hidden prompt on a terminal, else the first line of standard input."""
    if stdin.isatty():
        password = getpass.getpass("Owner password: ")
        if getpass.getpass("Owner password (again): ") != password:
            raise CommandError("the two passwords differ")
        return password
    return stdin.readline().rstrip("\r\n")


class Command(BaseCommand):
    help = "Create a tenant account and its owner (password from a prompt or standard input); prints the slug."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the business name")
        parser.add_argument("--email", required=True, help="the owner's email (also the account's)")

    def handle(self, *args: Any, name: str, email: str, **options: Any) -> None:
        password = read_password(options.get("stdin") or sys.stdin)
        if not password:
            raise CommandError("no password given; type it at the prompt or pipe it on standard input")
        try:
            account, owner = account_create(account_name=name, email=email, password=password)
        except ApplicationError as exc:
            raise CommandError(_one_line(exc)) from None
        self.stdout.write(account.slug)
        self.stderr.write(f"Created account {account.name} ({account.slug}) with owner {owner.email}.")


def _one_line(exc: ApplicationError) -> str:
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
    return f"{exc.message} {details}".strip()
