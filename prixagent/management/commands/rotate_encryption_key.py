"""Re-encrypt every stored secret under the current ENCRYPTION_KEY (resumable, in batches)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError
from prixagent.rotation import ColumnResult, encryption_key_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the current ENCRYPTION_KEY; safe to interrupt and rerun."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200, help="rows per transaction (default 200)")
        parser.add_argument("--limit", type=int, default=None, help="stop after this many secrets (rerun to go on)")

    def handle(self, *args: Any, batch_size: int, limit: int | None, verbosity: int, **options: Any) -> None:
        def progress(column: ColumnResult) -> None:
            if verbosity >= 2:
                self.stdout.write(f"  {column.label}: {column.rotated} so far")

        try:
            result = encryption_key_rotate(batch_size=batch_size, limit=limit, on_batch=progress)
        except (ApplicationError, DecryptionError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Current key: {result.primary_id}")
        for column in result.columns:
            self.stdout.write(f"  {column.label}: {column.rotated} re-encrypted")
        plural = "" if result.remaining == 1 else "s"
        summary = (
            f"re-encrypted {result.secrets} secrets in {result.rows} rows; "
            f"{result.remaining} remain{'s' if result.remaining == 1 else ''} on retired keys"
        )
        self.stdout.write(summary)
        if result.remaining:
            self.stdout.write(
                f"Run the command again to re-encrypt the remaining secret{plural} "
                "(rows locked by other work are retried on the next run)."
            )
