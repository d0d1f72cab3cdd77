"""Background work of the agents app: outbox deliverers and periodic sync upkeep.

Deliverers load what they need by id and re-check the account (`message.account_id`); they
raise `ProviderError` (transient: retried with backoff; permanent: parked).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.views.decorators.debug import sensitive_variables

from agents import sync
from agents.ghl_writes import CONTACT_KIND, NOTE_KIND
from agents.models import ElevenLabsWorkspace
from contacts.models import Contact
from integrations.providers.base import ProviderError
from integrations.providers.ghl import GhlClient
from integrations.services import integration_mark_failing
from prixagent import periodic
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_handler

logger = logging.getLogger(__name__)
REMOTE_DELETE_KIND = "agents.elevenlabs_delete"


# --- GoHighLevel writes from in-call tools ---------------------------------------------------


@sensitive_variables()
def _ghl(message: OutboxMessage) -> GhlClient:
    account = message.account
    if not account.ghl_configured:
        raise ProviderError("GoHighLevel is not connected", permanent=True, code="not_connected")
    return GhlClient(account.ghl_api_key or "", account.ghl_location_id)


def _contact(message: OutboxMessage) -> Contact | None:
    return Contact.objects.filter(pk=message.payload.get("contact_id"), account_id=message.account_id).first()


def _ghl_contact_id(ghl: GhlClient, contact: Contact) -> str:
    """The contact's GoHighLevel id, upserting it by phone when it has none yet."""
    if contact.ghl_contact_id:
        return contact.ghl_contact_id
    fields = {"firstName": contact.first_name, "lastName": contact.last_name, "email": contact.email or None}
    found = ghl.upsert_contact(phone=contact.phone, **{k: v for k, v in fields.items() if v})
    ghl_id = str((found.get("contact") or {}).get("id") or "")
    if ghl_id:
        Contact.objects.filter(pk=contact.pk, ghl_contact_id="").update(ghl_contact_id=ghl_id)
    return ghl_id


def _deliver_to_ghl(message: OutboxMessage, write: Any) -> dict[str, Any] | None:
    contact = _contact(message)
    if contact is None:
        return {"skipped": "the contact was deleted"}
    ghl = _ghl(message)
    try:
        return write(ghl, contact)
    except ProviderError as exc:
        if exc.permanent and exc.code in ("invalid_credentials", "permission_denied"):
            integration_mark_failing(account=message.account, provider="ghl", error=exc)
        raise
    finally:
        ghl.close()


@outbox_handler(NOTE_KIND)
def deliver_ghl_note(message: OutboxMessage) -> dict[str, Any] | None:
    # GoHighLevel notes take no idempotency key: an attempt whose answer was lost (rare) may
    # leave the note twice. Notes are additive, so that is the lesser harm than losing one.
    def write(ghl: GhlClient, contact: Contact) -> dict[str, Any]:
        return {"note_id": ghl.add_note(_ghl_contact_id(ghl, contact), message.payload["body"]).get("id")}

    return _deliver_to_ghl(message, write)


@outbox_handler(CONTACT_KIND)
def deliver_ghl_contact(message: OutboxMessage) -> dict[str, Any] | None:
    # An upsert by phone sets the same fields again on a retry: idempotent.
    def write(ghl: GhlClient, contact: Contact) -> dict[str, Any]:
        found = ghl.upsert_contact(phone=contact.phone, **message.payload["fields"])
        ghl_id = str((found.get("contact") or {}).get("id") or "")
        if ghl_id:
            Contact.objects.filter(pk=contact.pk, ghl_contact_id="").update(ghl_contact_id=ghl_id)
        return {"ghl_contact_id": ghl_id}

    return _deliver_to_ghl(message, write)


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
