"""Background work of the agents app: ElevenLabs deletes that could not be done at once, and
periodic sync upkeep. (GoHighLevel writes from in-call tools go through the contacts app's
outbox kinds: agents.ghl_writes.)

Deliverers load what they need by id and re-check the account (`message.account_id`); they
raise `ProviderError` (transient: retried with backoff; permanent: parked).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from agents import sync
from agents.models import ElevenLabsWorkspace
from prixagent import periodic
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_handler

logger = logging.getLogger(__name__)
REMOTE_DELETE_KIND = "agents.elevenlabs_delete"


# --- ElevenLabs deletes that could not be done at once ---------------------------------------


@outbox_handler(REMOTE_DELETE_KIND)
def deliver_remote_delete(message: OutboxMessage) -> dict[str, Any] | None:
    workspace = ElevenLabsWorkspace.objects.filter(pk=message.payload.get("workspace_id")).first()
    try:
        sync.agent_remote_delete(
            account=message.account, workspace=workspace, elevenlabs_agent_id=message.payload["elevenlabs_agent_id"]
        )
    except sync.NoKey:
        return {"skipped": "no ElevenLabs key"}
    return {"deleted": message.payload["elevenlabs_agent_id"]}


# --- periodic upkeep -------------------------------------------------------------------------


@shared_task(name="agents.tasks.agents_sync_due_task", ignore_result=True)
def agents_sync_due_task() -> dict[str, int]:
    """Retry failed pushes (transient errors only) and look for agents edited at ElevenLabs."""
    return {"retried": sync.agents_retry_due(), "checked": sync.agents_check_drift_due()}


periodic.register("agents-sync", "agents.tasks.agents_sync_due_task", seconds=300)
