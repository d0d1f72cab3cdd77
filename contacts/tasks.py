"""Background work of the contacts app: CSV imports and the GoHighLevel sync.

Tasks only load ids and call services (which re-check the account). With a broker (REDIS_URL)
they go to Celery workers; without one they run in-process: in a thread under `manage.py serve`
(so a page can show the progress of an import while it runs), synchronously in the test suite.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection

from contacts import ghl_sync as sync  # also registers the GoHighLevel outbox handlers
from contacts import imports
from prixagent import periodic


@shared_task(name="contacts.import_run", acks_late=True)
def import_run(job_id: str) -> None:
    imports.import_job_run(job_id=job_id)


@shared_task(name="contacts.import_sweep")
def import_sweep() -> dict[str, int]:
    return imports.import_jobs_sweep()


def _in_threads() -> bool:
    # The suite wants tasks to have finished when the request returns; a person at `make run`
    # wants the request to return at once and the job to go on behind it.
    return bool(getattr(settings, "CONTACTS_BACKGROUND_THREADS", settings.NODE_ENV != "test"))


def run_in_background(task: Any, *args: Any) -> None:
    """Send `task` to the workers; without a broker run it in-process (see the module docstring)."""
    if not task.app.conf.task_always_eager:
        task.delay(*args)
    elif _in_threads():
        threading.Thread(target=_run_and_close, args=(task, args), name=f"task-{task.name}", daemon=True).start()
    else:
        task.apply(args=args)


def _run_and_close(task: Any, args: tuple[Any, ...]) -> None:
    try:
        task.apply(args=args)
    finally:
        connection.close()  # the thread's own connection


@shared_task(name="contacts.ghl_sync", acks_late=True)
def ghl_sync(account_id: str) -> None:
    sync.ghl_sync_run(account_id=account_id)


@shared_task(name="contacts.ghl_sync_all")
def ghl_sync_all() -> int:
    """Periodic: queue a sync for every account with a working GoHighLevel connection."""
    due = sync.ghl_sync_due_accounts()
    for account_id in due:
        run_in_background(ghl_sync, account_id)
    return len(due)


# Resume imports whose worker died, drop abandoned uploads; sync every GoHighLevel account.
periodic.register("contacts-import-sweep", "contacts.import_sweep", seconds=60)
periodic.register("contacts-ghl-sync", "contacts.ghl_sync_all", seconds=15 * 60)
