"""CSV imports: one service behind the three doors (API upload, dashboard upload, `manage.py
import_contacts`).

Life of a job: `import_job_create` stores the upload in a private directory, reads what the file
is (or refuses it, changing nothing) and proposes a mapping (status "mapping"); `import_job_start`
takes the confirmed mapping and queues it; `import_job_run` (a Celery task, or in-process without
a broker) streams the file in batches. Each batch commits its contacts, its error rows, the
counters and the byte offset of the next row together, under the runner's lease, so a runner
killed at any point leaves a job that `import_jobs_sweep` (periodic) or `import_job_resume`
continues from that offset: no row twice, no row lost. The uploaded file is deleted when the job
ends (done, failed or cancelled), and an abandoned upload after a day.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from billing.usage import limit_value
from contacts.csvfile import inspect_file as _inspect
from contacts.csvfile import iter_records
from contacts.import_rows import BatchWriter, Counts, Problem, Row, RowParser
from contacts.mapping import auto_map, mapping_validate
from contacts.models import Contact, ImportJob, ImportRowError
from contacts.services import Actor, actor_label, contacts_limit_check
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

Status = ImportJob.Status
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_ERRORS_STORED = 10_000
MAX_ATTEMPTS = 5
QUEUE_GRACE = timedelta(minutes=10)  # a queued job nobody picked up is queued again after this
ABANDONED_AFTER = timedelta(days=1)  # an upload never started is deleted after this
CHUNK = 1024 * 1024
SWITCH_INTERVAL = 0.0005  # seconds; see BatchCommitter
QUEUED_BATCHES = 3


class LeaseLost(Exception):
    """Another runner took the job over, or it was cancelled: stop without writing."""


def upload_dir() -> Path:
    return Path(settings.CONTACTS_UPLOAD_DIR)


def batch_size_default() -> int:
    # SQLite caps the variables of one statement; PostgreSQL's COPY likes big batches.
    return 5000 if connection.vendor == "postgresql" else 500


def _path(job: ImportJob) -> Path:
    return upload_dir() / job.file_path


def _store(source: BinaryIO | Any, account: Account, job_id: uuid.UUID) -> tuple[str, int]:
    """Copy the upload into the private directory (0700 / 0600), streaming; refuse huge files."""
    folder = upload_dir() / str(account.pk)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    relative = f"{account.pk}/{job_id}.csv"
    target = upload_dir() / relative
    size = 0
    chunks = source.chunks(CHUNK) if hasattr(source, "chunks") else iter(lambda: source.read(CHUNK), b"")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ApplicationError(
                        _("The file is larger than %(n)d MB.") % {"n": MAX_UPLOAD_BYTES // (1024 * 1024)},
                        code="invalid_file",
                        fields={"file": [_("Too large.")]},
                    )
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return relative, size


def import_job_create(
    *, account: Account, source: BinaryIO | Any, file_name: str, kind: str = ImportJob.Kind.CONTACTS, actor: Actor
) -> ImportJob:
    """Store an upload, read what it is and propose a mapping. A file we cannot import is refused
    with a clear message and leaves nothing behind."""
    if kind not in ImportJob.Kind.values:
        raise ApplicationError(_("Unknown import kind."), fields={"kind": [_("Use contacts or dnc.")]})
    job_id = uuid.uuid4()
    relative, size = _store(source, account, job_id)
    try:
        info = _inspect(upload_dir() / relative)
    except BaseException:
        (upload_dir() / relative).unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(
        id=job_id,
        account=account,
        created_by=actor if hasattr(actor, "pk") else None,
        created_by_label=actor_label(actor),
        kind=kind,
        file_name=os.path.basename(file_name or "upload.csv")[:255],
        file_path=relative,
        file_size=size,
        encoding=info.encoding,
        delimiter=info.delimiter,
        header=info.header,
        mapping=auto_map(info.header, kind),
        preview=info.preview,
        bytes_done=info.data_offset,
        next_row=info.data_row,
    )
    logger.info("contacts import uploaded: account=%s job=%s size=%d", account.slug, job.pk, size)
    return job


@transaction.atomic
def import_job_start(
    *, job: ImportJob, mapping: list[str] | None = None, policy: str | None = None, lease_seconds: int | None = None
) -> ImportJob:
    """Confirm the mapping (or keep the proposed one) and queue the job."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != Status.MAPPING:
        raise ApplicationError(_("This import has already started."), code="conflict", status_code=409)
    job.mapping = mapping_validate(job.header, job.mapping if mapping is None else mapping, job.kind)
    if policy is not None:
        if policy not in ImportJob.Policy.values:
            raise ApplicationError(_("Some fields are invalid."), fields={"policy": [_("Use update or skip.")]})
        job.policy = policy
    if lease_seconds:
        job.lease_seconds = lease_seconds
    if job.kind == ImportJob.Kind.CONTACTS:
        contacts_limit_check(account=job.account)  # already full: refuse before anything runs
    job.status = Status.QUEUED
    job.lease_until = timezone.now() + QUEUE_GRACE
    job.save()
    _dispatch_after_commit(job)
    return job


def _dispatch_after_commit(job: ImportJob) -> None:
    from contacts import tasks  # tasks imports this module

    job_id = str(job.pk)
    transaction.on_commit(lambda: tasks.run_in_background(tasks.import_run, job_id))


@transaction.atomic
def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Stop a job: rows already imported stay; the file is deleted."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.is_finished:
        return job
    job.status, job.finished_at, job.lease_token, job.lease_until = Status.CANCELLED, timezone.now(), None, None
    job.message = _("Cancelled.")
    path = _path(job) if job.file_path else None
    job.file_path = ""
    job.save()
    if path:
        transaction.on_commit(lambda: path.unlink(missing_ok=True))
    return job


@transaction.atomic
def import_job_resume(*, job: ImportJob) -> ImportJob:
    """Queue an interrupted job again (its runner died or gave up); it continues where it stopped."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (Status.QUEUED, Status.RUNNING):
        raise ApplicationError(_("Only a queued or running import can be resumed."), code="conflict", status_code=409)
    if job.status == Status.RUNNING and job.lease_until and job.lease_until > timezone.now():
        raise ApplicationError(_("This import is running right now."), code="conflict", status_code=409)
    job.status, job.lease_until = Status.QUEUED, timezone.now() + QUEUE_GRACE
    job.save(update_fields=["status", "lease_until", "updated_at"])
    _dispatch_after_commit(job)
    return job


# --- running a job -------------------------------------------------------------------------------


@dataclass
class Batch:
    rows: list[Row]
    problems: list[Problem]
    records: int = 0  # non-blank rows read
    invalid: int = 0
    end_offset: int = 0
    next_row: int = 0


def import_job_run(
    *, job_id: str | uuid.UUID, batch_size: int | None = None, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob | None:
    """Run (or continue) a job. Returns None when another runner holds it or it is not runnable."""
    token = uuid.uuid4()
    job = _claim(job_id, token)
    if job is None:
        return None
    try:
        _run(job, token, batch_size or batch_size_default(), progress)
    except LeaseLost:
        logger.info("contacts import %s: lease lost or cancelled, stopping", job.pk)
    except ContactLimitReached as exc:
        _stopped_by_plan(job, token, exc.limit)
    except Exception as exc:
        logger.exception("contacts import %s interrupted", job.pk)
        _interrupted(job, token, exc)
    job.refresh_from_db()
    return job


def _claim(job_id: str | uuid.UUID, token: uuid.UUID) -> ImportJob | None:
    now = timezone.now()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("account").filter(pk=job_id).first()
        if job is None or job.status not in (Status.QUEUED, Status.RUNNING):
            return None
        if job.status == Status.RUNNING and job.lease_until and job.lease_until > now:
            return None  # another runner is alive
        if not job.file_path or not _path(job).exists():
            # Every row was committed and only the end was not recorded: the job is done.
            done = job.bytes_done >= job.file_size
            _end(job, Status.DONE if done else Status.FAILED, "" if done else _("The uploaded file is gone."))
            return None
        if job.attempts >= MAX_ATTEMPTS:
            _end(job, Status.FAILED, _("The import failed %(n)d times; upload the file again.") % {"n": job.attempts})
            return None
        job.status, job.lease_token = Status.RUNNING, token
        job.lease_until = now + timedelta(seconds=job.lease_seconds)
        job.attempts += 1
        job.started_at = job.started_at or now
        job.message = ""
        job.save()
    return job


def _run(job: ImportJob, token: uuid.UUID, batch_size: int, progress: Callable[[ImportJob], None] | None) -> None:
    account = job.account
    writer = BatchWriter(job, account)
    # On PostgreSQL new contacts are written as COPY text, formatted while parsing (see CopyLine).
    parser = RowParser(job, account, line=writer.line if writer.postgres else None)
    records = iter_records(
        _path(job), encoding=job.encoding, delimiter=job.delimiter, offset=job.bytes_done, first_row=job.next_row
    )
    with BatchCommitter(job, token, writer, progress) as committer:
        batch = Batch([], [], end_offset=job.bytes_done, next_row=job.next_row)
        for record in records:
            row, problems = parser.parse(record)
            batch.end_offset, batch.next_row = record.end_offset, record.number + 1
            if row is None and not problems:
                continue  # a blank line
            batch.records += 1
            batch.problems.extend(problems)
            if row is None:
                batch.invalid += 1
            else:
                batch.rows.append(row)
            if batch.records >= batch_size:
                committer.submit(batch)
                batch = Batch([], [], end_offset=batch.end_offset, next_row=batch.next_row)
        committer.submit(batch)
    _finish(job, token)


class BatchCommitter:
    """Commits batches in order; on PostgreSQL in a thread of its own, so the next batch is parsed
    (Python, one core) while the database writes this one (PostgreSQL, the other core), as a
    single COPY streaming while its rows are parsed would.

    At most QUEUED_BATCHES wait while another is written (enough to absorb a slow batch, e.g. one
    that flushes the search index's pending list), so memory stays at a few batches. The
    thread has its own database connection, so it is used only outside a transaction (a Celery
    worker, a command); inside one (the test suite's) batches are committed in line. An error in
    the thread stops the run at the next batch.
    """

    def __init__(
        self, job: ImportJob, token: uuid.UUID, writer: BatchWriter, progress: Callable[[ImportJob], None] | None
    ) -> None:
        self.commit = lambda batch: _commit(job, token, writer, batch, progress)
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name=f"import-{job.pk}", daemon=True)

    def __enter__(self) -> BatchCommitter:
        if self.threaded:
            # The committing thread mostly waits on PostgreSQL, but psycopg steps each wait in
            # Python: every step needs the GIL back from the busy parsing thread, which by default
            # keeps it up to 5 ms. A short switch interval lets the database calls go on promptly.
            self.switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
            self.thread.start()
        return self

    def submit(self, batch: Batch) -> None:
        if not self.threaded:
            self.commit(batch)
            return
        self._raise()
        self.queue.put(batch)

    def _work(self) -> None:
        try:
            while (batch := self.queue.get()) is not None:
                if self.error is None:
                    self.commit(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the parsing thread, which raises it
            self.error = exc
            while self.queue.get() is not None:  # let the parser finish its puts and leave
                pass
        finally:
            connection.close()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()
            sys.setswitchinterval(self.switch_interval)
        if exc is None:
            self._raise()


def _lock(job: ImportJob, token: uuid.UUID) -> int:
    """Lock the job row as its current runner; returns the error rows stored so far."""
    stored = list(
        ImportJob.objects.select_for_update()
        .filter(pk=job.pk, lease_token=token, status=Status.RUNNING)
        .values_list("errors_total", flat=True)
    )
    if not stored:
        raise LeaseLost
    return stored[0]


def _commit(
    job: ImportJob, token: uuid.UUID, writer: BatchWriter, batch: Batch, progress: Callable[[ImportJob], None] | None
) -> None:
    """The batch's contacts, error rows, counters and checkpoint: all or nothing."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The batch and its checkpoint commit together, so a batch lost to a database crash
            # right after COMMIT is simply read again on resume: no need to wait for the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        stored = _lock(job, token)
        counts = writer.write(batch.rows) if batch.rows else Counts()
        if counts.created and job.kind == ImportJob.Kind.CONTACTS:
            _check_plan(job)  # over the plan: this batch rolls back, the import stops before it
        room = max(MAX_ERRORS_STORED - stored, 0)
        ImportRowError.objects.bulk_create(
            [
                ImportRowError(
                    account_id=job.account_id, job=job, row=p.row, column=p.column[:200], value=p.value, reason=p.reason
                )
                for p in batch.problems[:room]
            ]
        )
        ImportJob.objects.filter(pk=job.pk).update(
            bytes_done=batch.end_offset,
            next_row=batch.next_row,
            rows_read=F("rows_read") + batch.records,
            created=F("created") + counts.created,
            updated=F("updated") + counts.updated,
            skipped=F("skipped") + counts.skipped,
            invalid=F("invalid") + batch.invalid,
            errors_total=F("errors_total") + len(batch.problems),
            lease_until=timezone.now() + timedelta(seconds=job.lease_seconds),
            updated_at=timezone.now(),
        )
    if progress:
        job.refresh_from_db()
        progress(job)


def _finish(job: ImportJob, token: uuid.UUID) -> None:
    with transaction.atomic():
        _lock(job, token)
        fresh = ImportJob.objects.get(pk=job.pk)
        _end(fresh, Status.DONE, "")
        if fresh.account.ghl_configured and (fresh.created or fresh.updated):
            from contacts import ghl_sync  # the sync pushes the rows marked pending

            transaction.on_commit(lambda: ghl_sync.ghl_sync_enqueue(account=fresh.account, reason="import"))
    logger.info(
        "contacts import done: account=%s job=%s read=%d created=%d updated=%d skipped=%d invalid=%d",
        job.account.slug,
        job.pk,
        fresh.rows_read,
        fresh.created,
        fresh.updated,
        fresh.skipped,
        fresh.invalid,
    )


def _end(job: ImportJob, status: str, message: str) -> None:
    """Mark the job finished and delete its file once that is committed."""
    path = _path(job) if job.file_path else None
    job.status, job.message, job.finished_at = status, message[:500], timezone.now()
    job.lease_token, job.lease_until, job.file_path = None, None, ""
    job.save()
    if path:
        transaction.on_commit(lambda: path.unlink(missing_ok=True))


class ContactLimitReached(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the plan allows {limit} contacts")
        self.limit = limit


def _check_plan(job: ImportJob) -> None:
    limit = limit_value(job.account, "contacts")
    if limit is not None and Contact.objects.filter(account_id=job.account_id).count() > limit:
        raise ContactLimitReached(limit)


def _stopped_by_plan(job: ImportJob, token: uuid.UUID, limit: int) -> None:
    """The plan's contact limit was reached: what fitted is kept; the rest needs a bigger plan."""
    try:
        with transaction.atomic():
            _lock(job, token)
            fresh = ImportJob.objects.get(pk=job.pk)
            message = _(
                "Your plan allows %(limit)d contacts: the import stopped before row %(row)d. "
                "Upgrade the plan, then upload the file again (rows already imported are recognised)."
            ) % {"limit": limit, "row": fresh.next_row}
            _end(fresh, Status.FAILED, message)
    except LeaseLost:
        pass


def _interrupted(job: ImportJob, token: uuid.UUID, exc: Exception) -> None:
    """An unexpected error: release the lease so the sweep retries, up to MAX_ATTEMPTS."""
    try:
        with transaction.atomic():
            _lock(job, token)
            fresh = ImportJob.objects.get(pk=job.pk)
            reason = _("Interrupted (%(error)s); it will continue from row %(row)d.") % {
                "error": type(exc).__name__,
                "row": fresh.next_row,
            }
            if fresh.attempts >= MAX_ATTEMPTS:
                _end(fresh, Status.FAILED, _("The import stopped: %(error)s.") % {"error": type(exc).__name__})
                return
            fresh.message, fresh.lease_token, fresh.lease_until = reason, None, timezone.now()
            fresh.save(update_fields=["message", "lease_token", "lease_until", "updated_at"])
    except LeaseLost:
        pass


# --- housekeeping (periodic) -----------------------------------------------------------------


def import_jobs_sweep() -> dict[str, int]:
    """Resume jobs whose runner died (lease expired), drop abandoned uploads and orphan files."""
    now = timezone.now()
    stale = ImportJob.objects.filter(status__in=(Status.QUEUED, Status.RUNNING), lease_until__lt=now)
    resumed = 0
    for job in stale.only("pk", "status", "lease_until"):
        try:
            import_job_resume(job=job)
            resumed += 1
        except ApplicationError:
            continue
    abandoned = ImportJob.objects.filter(status=Status.MAPPING, created_at__lt=now - ABANDONED_AFTER)
    expired = 0
    for job in abandoned:
        import_job_cancel(job=job)
        expired += 1
    return {"resumed": resumed, "expired": expired, "orphans": _delete_orphan_files(now)}


def _delete_orphan_files(now: Any) -> int:
    """Files no job points at (a crash between the end of a job and the deletion of its file)."""
    root = upload_dir()
    if not root.exists():
        return 0
    live = set(ImportJob.objects.exclude(file_path="").values_list("file_path", flat=True))
    cutoff = (now - timedelta(hours=1)).timestamp()
    deleted = 0
    for path in root.glob("*/*.csv"):
        relative = f"{path.parent.name}/{path.name}"
        if relative not in live and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


# --- the error report --------------------------------------------------------------------------

REPORT_HEADER = ("row", "column", "value", "reason")


def import_error_rows(*, job: ImportJob) -> Iterator[tuple[Any, ...]]:
    yield REPORT_HEADER
    rows = ImportRowError.objects.filter(job=job, account_id=job.account_id).order_by("row", "id")
    yield from rows.values_list("row", "column", "value", "reason").iterator(chunk_size=2000)
