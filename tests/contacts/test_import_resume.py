"""An import whose worker is killed (SIGKILL, a real process) resumes and ends with no duplicate and no
lost row. Bounded in time: every wait has a deadline of seconds."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from contacts import imports
from contacts.models import Contact, ImportJob, ImportRowError
from prixagent.celery import app as celery_app
from tests.contacts.conftest import csv_bytes

ROOT = Path(__file__).resolve().parents[2]
ROWS = 60_000
INVALID_EVERY = 1000  # every 1000th row has a bad number
DEADLINE = 90.0


def big_file() -> tuple[bytes, int, int]:
    """ROWS data rows: unique numbers, a bad number every INVALID_EVERY rows, every 500th row a repeat
    of the row before. Returns (content, unique valid numbers, invalid rows)."""
    areas = ("212", "646", "718", "917", "347", "929")
    rows: list[list[str]] = [["First name", "Phone", "Tags"]]
    for n in range(ROWS):
        phone = f"+1{areas[n // 10_000]}555{n % 10_000:04d}"
        if n % INVALID_EVERY == 7:
            phone = "not a number"
        elif n % 500 == 499:
            phone = rows[-1][1] if "not" not in rows[-1][1] else phone
        rows.append([f"P{n}", phone, "t"])
    valid = {r[1] for r in rows[1:] if "not" not in r[1]}
    return csv_bytes(rows), len(valid), sum(1 for r in rows[1:] if "not" in r[1])


def child_env(uploads: Path) -> dict[str, str]:
    db = connection.settings_dict
    key = settings.ENCRYPTION_KEY
    return {
        **os.environ,
        "NODE_ENV": "test",
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PRIXAGENT_CELERY_EAGER": "0",
        "CONTACTS_UPLOAD_DIR": str(uploads),
        "SESSION_SECRET": settings.SECRET_KEY,
        "JWT_SECRET": settings.SIMPLE_JWT["SIGNING_KEY"],
        "JWT_REFRESH_SECRET": settings.JWT_REFRESH_SECRET,
        "ENCRYPTION_KEY": key.hex() if isinstance(key, bytes) else str(key),
        "LOG_LEVEL": "warning",
    }


def wait_for(condition: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def job_of(job: ImportJob) -> ImportJob:
    return ImportJob.objects.get(pk=job.pk)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture
def real_workers() -> Iterator[None]:
    """This process sends tasks to the broker instead of running them (as with REDIS_URL in production)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


def start_worker(env: dict[str, str], processes: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "prixagent.worker", "worker", "--pool", "solo"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(process)
    return process


def assert_complete(account: Account, job: ImportJob, valid: int, invalid: int) -> None:
    job = job_of(job)
    assert job.status == "done", job.message
    assert (job.rows_read, job.invalid) == (ROWS, invalid)
    assert job.created == valid  # each number created exactly once...
    assert job.created + job.updated + job.skipped + job.invalid == ROWS  # ...and every row counted once
    assert Contact.objects.filter(account=account).count() == valid  # no duplicate, no lost row
    assert ImportRowError.objects.filter(job=job).count() == invalid  # errors not reported twice
    assert Contact.tags.through.objects.filter(contact__account=account).count() == valid
    assert job.attempts == 2 and job.file_path == ""


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_killed_mid_import_is_resumed_by_another(
    alice_account: Account, uploads_dir: Path, processes: list[Any], real_workers: None
) -> None:
    content, valid, invalid = big_file()
    job = imports.import_job_create(
        account=alice_account, source=io.BytesIO(content), file_name="big.csv", actor="system"
    )
    env = child_env(uploads_dir)
    first = start_worker(env, processes)
    imports.import_job_start(job=job, lease_seconds=2)  # on commit (autocommit here): sent to the broker
    wait_for(lambda: job_of(job).rows_read >= 10_000, "the first worker to commit a few batches")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    interrupted = job_of(job)
    assert interrupted.status == "running" and 10_000 <= interrupted.rows_read < ROWS
    assert Contact.objects.filter(account=alice_account).count() <= interrupted.created  # nothing half-written

    start_worker(env, processes)
    wait_for(lambda: job_of(job).lease_until <= timezone.now(), "the dead worker's lease to run out")
    resumed = wait_for(lambda: imports.import_jobs_sweep()["resumed"], "the sweep to queue the job again")
    assert resumed == 1
    wait_for(lambda: job_of(job).is_finished, "the second worker to finish the job")
    assert_complete(alice_account, job, valid, invalid)
    assert not any(p.is_file() for p in uploads_dir.rglob("*"))


@pytest.mark.django_db(transaction=True)
def test_the_import_command_killed_mid_import_resumes_with_resume(
    alice_account: Account, uploads_dir: Path, tmp_path: Path, processes: list[Any]
) -> None:
    content, valid, invalid = big_file()
    path = tmp_path / "big.csv"
    path.write_bytes(content)
    command = [sys.executable, "manage.py", "import_contacts", "--account", alice_account.slug, str(path)]
    command += ["--batch-size", "500", "--lease-seconds", "1"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=child_env(uploads_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    processes.append(process)
    job = wait_for(lambda: ImportJob.objects.filter(account=alice_account).first(), "the job")
    wait_for(lambda: job_of(job).rows_read >= 5_000, "a few batches")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert job_of(job).status == "running" and job_of(job).rows_read < ROWS
    time.sleep(1.1)  # the lease of the dead run
    out = io.StringIO()
    call_command("import_contacts", "--account", alice_account.slug, "--resume", str(job.pk), stdout=out)
    assert "Resuming big.csv from row" in out.getvalue() and "Done:" in out.getvalue()
    assert_complete(alice_account, job, valid, invalid)


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_committing_thread_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread that commits batches while the next is parsed hands its error back and stops."""
    committed_batches: list[int] = []

    def failing_commit(job: Any, token: Any, writer: Any, batch: Any, progress: Any) -> None:
        committed_batches.append(batch.records)
        if len(committed_batches) == 2:
            raise imports.LeaseLost

    monkeypatch.setattr(imports, "_commit", failing_commit)
    committer = imports.BatchCommitter(ImportJob(), None, None, None)
    assert committer.threaded  # outside a transaction, on PostgreSQL
    with pytest.raises(imports.LeaseLost), committer:
        for n in range(10):
            committer.submit(imports.Batch([], [], records=n))
    assert committed_batches == [0, 1] and not committer.thread.is_alive()
