"""Platform Celery tasks: the outbox relay."""

from __future__ import annotations

from celery import shared_task

from prixagent import outbox, periodic


@shared_task(name="prixagent.tasks.outbox_deliver_task", ignore_result=True)
def outbox_deliver_task(message_id: int) -> str:
    return outbox.outbox_deliver(message_id=message_id)


@shared_task(name="prixagent.tasks.outbox_deliver_due_task", ignore_result=True)
def outbox_deliver_due_task() -> dict[str, int]:
    return outbox.outbox_deliver_due()


periodic.register("outbox-relay", "prixagent.tasks.outbox_deliver_due_task", seconds=15)
