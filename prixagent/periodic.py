"""Periodic tasks, declared once, run by Celery beat with a broker and in-process without one.

Apps declare them in their `tasks.py` (imported at start-up by `PrixagentConfig.ready`)::

    periodic.register("outbox-relay", "prixagent.tasks.outbox_deliver_due_task", seconds=15)

- With `REDIS_URL`, `celery beat` reads `beat_schedule()` (wired in `prixagent.celery`) and any
  number of workers run the tasks.
- Without it (`make run`), `manage.py serve` starts `InProcessScheduler`, a daemon thread that
  runs each due task in the web process, so the product works with nothing installed.

Tasks must be safe to run twice at once (two beats by mistake, a slow tick overlapping the next):
correctness comes from the database (claims, constraints), never from the schedule.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str  # dotted name of a Celery task
    seconds: float


_REGISTRY: dict[str, Periodic] = {}


def register(name: str, task: str, seconds: float) -> None:
    existing = _REGISTRY.get(name)
    if existing is not None and existing != Periodic(name, task, seconds):
        raise ValueError(f"periodic task {name!r} is already registered differently")
    _REGISTRY[name] = Periodic(name, task, float(seconds))


def registered() -> list[Periodic]:
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {p.name: {"task": p.task, "schedule": p.seconds} for p in registered()}


class InProcessScheduler(threading.Thread):
    """Runs registered tasks in this process at their intervals (no broker configured)."""

    def __init__(self, tick: float = 1.0) -> None:
        super().__init__(name="prixagent-periodic", daemon=True)
        self.tick = tick
        self.stopped = threading.Event()
        self._next_run: dict[str, float] = {}

    def run(self) -> None:
        while not self.stopped.wait(self.tick):
            self.run_due(time.monotonic())

    def run_due(self, now: float) -> list[str]:
        from prixagent.celery import app

        ran = []
        for job in registered():
            if self._next_run.get(job.name, 0.0) > now:
                continue
            self._next_run[job.name] = now + job.seconds
            try:
                app.tasks[job.task].apply()
            except Exception:  # noqa: BLE001 - one failing job must not stop the others
                logger.exception("periodic task %s failed", job.name)
            ran.append(job.name)
        return ran

    def stop(self) -> None:
        self.stopped.set()
