"""The platform's security self-check: .env out of git, no placeholder or short secrets,
DEBUG off and a strong admin password in production. Exits non-zero on any finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prixagent.config import BASE_DIR
from prixagent.security_checks import FAIL, security_checks_run


class Command(BaseCommand):
    help = "Check .env hygiene, placeholder secrets, key sizes, DEBUG and ADMIN_PASSWORD; non-zero exit on findings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repo-dir", type=Path, default=BASE_DIR, help="the checkout holding .env and .gitignore (default: here)"
        )

    def handle(self, *args: Any, repo_dir: Path, **options: Any) -> None:
        results = security_checks_run(repo_dir=Path(repo_dir).resolve())
        for result in results:
            self.stdout.write(result.line())
        failed = [r for r in results if r.status == FAIL]
        if failed:
            raise CommandError(
                f"security check: {len(failed)} finding{'s' if len(failed) != 1 else ''} "
                f"({', '.join(r.name for r in failed)})"
            )
        self.stdout.write(f"security check: {len(results)} checks, no findings")
