"""Import a CSV file of contacts (or do-not-call numbers) into an account, with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from accounts.models import Account
from contacts import imports
from contacts.mapping import CUSTOM, IGNORE
from contacts.models import ImportJob
from prixagent.errors import ApplicationError

BAR = 30


class Command(BaseCommand):
    help = "Import a CSV file into an account's contacts (or do-not-call list); resumable with --resume."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the CSV file")
        parser.add_argument("--account", required=True, help="the account's slug")
        parser.add_argument("--dnc", action="store_true", help="import into the do-not-call list")
        parser.add_argument("--policy", choices=ImportJob.Policy.values, default=ImportJob.Policy.UPDATE)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help='correct the guessed mapping, e.g. --map "Mobile=phone" --map "Notes=custom:Notes" --map "Fax="',
        )
        parser.add_argument("--resume", metavar="JOB_ID", help="continue an interrupted import instead")
        parser.add_argument("--batch-size", type=int, default=None, help="rows per transaction")
        parser.add_argument(
            "--lease-seconds", type=int, default=None, help="how long a silent run keeps the job (default 120)"
        )
        parser.add_argument("--errors", metavar="PATH", help="write the per-row error report (CSV) here")

    @no_translations  # operator output in English, whatever language a previous request left active
    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"No account with the slug {options['account']!r}.")
        try:
            job = self._resume(account, options) if options["resume"] else self._create(account, options)
            self.started = time.monotonic()
            done = imports.import_job_run(job_id=job.pk, batch_size=options["batch_size"], progress=self._progress)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if done is None:
            raise CommandError(f"Import {job.pk} is being run by another process; try --resume later.")
        self._summary(done, options["errors"])

    def _create(self, account: Account, options: dict[str, Any]) -> ImportJob:
        path = Path(options["file"] or "")
        if not options["file"] or not path.is_file():
            raise CommandError(f"No such file: {options['file'] or '(none given)'}")
        kind = ImportJob.Kind.DNC if options["dnc"] else ImportJob.Kind.CONTACTS
        with open(path, "rb") as source:
            job = imports.import_job_create(
                account=account, source=source, file_name=path.name, kind=kind, actor="operator"
            )
        mapping = self._mapping(job, options["map"])
        self.stdout.write(f"{job.file_name}: {job.encoding}, delimiter {job.delimiter!r}, job {job.pk}")
        for name, target in zip(job.header, mapping, strict=True):
            shown = "(ignored)" if target == IGNORE else target
            self.stdout.write(f"  {name:<30} -> {shown}")
        try:
            return imports.import_job_start(
                job=job, mapping=mapping, policy=options["policy"], lease_seconds=options["lease_seconds"]
            )
        except ApplicationError:
            imports.import_job_cancel(job=job)
            raise

    def _mapping(self, job: ImportJob, overrides: list[str]) -> list[str]:
        mapping = list(job.mapping)
        lowered = [h.lower() for h in job.header]
        for item in overrides:
            column, sep, target = item.partition("=")
            if not sep or column.strip().lower() not in lowered:
                imports.import_job_cancel(job=job)
                raise CommandError(f"--map {item!r}: no column {column.strip()!r} (columns: {', '.join(job.header)})")
            target = target.strip()
            mapping[lowered.index(column.strip().lower())] = target if target != "custom" else CUSTOM + column.strip()
        return mapping

    def _resume(self, account: Account, options: dict[str, Any]) -> ImportJob:
        job = ImportJob.objects.filter(account=account, pk=options["resume"]).first()
        if job is None:
            raise CommandError(f"No import {options['resume']} in {account.slug}.")
        if job.is_finished:
            raise CommandError(f"Import {job.pk} has already ended ({job.status}).")
        self.stdout.write(f"Resuming {job.file_name} from row {job.next_row} ({job.rows_read} rows already read)")
        return job

    def _progress(self, job: ImportJob) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        filled = int(BAR * job.percent / 100)
        line = (
            f"[{'#' * filled}{'.' * (BAR - filled)}] {job.percent:3d}%  {job.rows_read:,} rows  "
            f"created {job.created:,}  updated {job.updated:,}  skipped {job.skipped:,}  invalid {job.invalid:,}"
            f"  ({job.rows_read / elapsed:,.0f} rows/s)"
        )
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="")
            self.stdout.flush()
        else:
            self.stdout.write(line)

    def _summary(self, job: ImportJob, errors_path: str | None) -> None:
        if job.status == ImportJob.Status.DONE:
            self._progress(job)  # the bar at 100 %
        self.stdout.write("")
        if errors_path and job.errors_total:
            with open(errors_path, "w", newline="", encoding="utf-8") as out:
                from contacts.export import csv_lines

                out.writelines(csv_lines(imports.import_error_rows(job=job)))
        self.stdout.write(
            f"{job.get_status_display()}: {job.rows_read:,} rows read, {job.created:,} created, "
            f"{job.updated:,} updated, {job.skipped:,} skipped, {job.invalid:,} invalid"
            + (
                f"; {job.errors_total:,} problem{'s' if job.errors_total != 1 else ''} reported"
                if job.errors_total
                else ""
            )
            + (f" (report: {errors_path})" if errors_path and job.errors_total else "")
        )
        if job.status != ImportJob.Status.DONE:
            raise CommandError(
                job.message or f"The import did not finish ({job.status}); rerun with --resume {job.pk}."
            )
