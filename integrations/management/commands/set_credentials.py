"""Connect a tenant's provider credentials from the operator's terminal.

Secrets are read from a prompt (no echo) or, when standard input is not a terminal, one per
line from standard input, in the order the prompt would ask. Never from argv: a command line
ends up in shell history and in `ps`.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from integrations import selectors, services
from integrations.registry import PROVIDERS, ProviderSpec
from prixagent.errors import ApplicationError


class Command(BaseCommand):
    help = "Validate and store a tenant's credentials for one provider (secrets from a prompt or stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="the account's slug")
        parser.add_argument("--provider", required=True, choices=list(PROVIDERS))

    @sensitive_variables()
    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"No account with slug {options['account']!r}")
        spec = PROVIDERS[options["provider"]]
        credentials = self._read(spec)
        try:
            services.integration_connect(
                account=account, provider=spec.provider, credentials=credentials, actor="operator"
            )
        except ApplicationError as exc:
            fields = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in exc.fields.items())
            raise CommandError(f"{spec.name} not saved for {account.slug}: {exc.message} {fields}".strip()) from None
        item = selectors.integration_get(account, spec.provider)
        hints = ", ".join(f"{name} {hint}" for name, hint in item["hints"].items())
        self.stdout.write(f"{spec.name} connected for {account.slug} ({hints})")

    @sensitive_variables()
    def _read(self, spec: ProviderSpec) -> dict[str, str]:
        interactive = sys.stdin.isatty()
        values = {}
        for f in spec.fields:
            if interactive:
                prompt = f"{spec.name} {f.label}: "
                values[f.name] = getpass.getpass(prompt) if f.secret else input(prompt)
            else:
                line = sys.stdin.readline()
                if not line:
                    raise CommandError(f"Standard input ended before {f.label}; give one value per line")
                values[f.name] = line.strip()
        return values
