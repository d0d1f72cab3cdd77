"""What the in-call tools write about a contact: locally at once, to GoHighLevel through the outbox.

The GoHighLevel write is an outbox message committed with the local change and delivered
afterwards (`agents.tasks`), so a GoHighLevel outage or a slow answer never fails the
conversation; a revoked token parks the message until GoHighLevel is connected again.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from agents.models import ToolSession
from prixagent.outbox import outbox_enqueue

NOTE_KIND = "agents.ghl_note"
CONTACT_KIND = "agents.ghl_contact"
# Our contact fields → GoHighLevel's upsert fields.
GHL_FIELDS = {"first_name": "firstName", "last_name": "lastName", "email": "email", "company": "companyName"}


def note_add(*, session: ToolSession, body: str, key: str | None) -> None:
    """Queue a GoHighLevel note on the session's contact. `key` makes a repeated note a no-op."""
    if session.contact is None or not session.account.ghl_configured:
        return
    outbox_enqueue(
        account=session.account,
        kind=NOTE_KIND,
        key=key or f"note:{uuid.uuid4()}",
        payload={"contact_id": session.contact.pk, "body": body[:5000], "session_id": str(session.pk)},
    )


def contact_update(*, session: ToolSession, changes: dict[str, Any]) -> None:
    """Change the session's contact here and queue the same change for GoHighLevel."""
    contact = session.contact
    if contact is None:
        return
    changes = {name: value for name, value in changes.items() if name in GHL_FIELDS}
    with transaction.atomic():
        for name, value in changes.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*changes, "updated_at"])
        if session.account.ghl_configured:
            outbox_enqueue(
                account=session.account,
                kind=CONTACT_KIND,
                key=f"contact:{contact.pk}:{uuid.uuid4()}",
                payload={"contact_id": contact.pk, "fields": {GHL_FIELDS[k]: v for k, v in changes.items()}},
            )
