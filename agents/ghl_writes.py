"""What the in-call tools write about a contact: locally at once, to GoHighLevel through the
contacts app's outbox (`contacts.services.ghl_note_enqueue`, `contact_update` → contact push),
so a GoHighLevel outage or a slow answer never fails the conversation, and a revoked token
parks the write until GoHighLevel is connected again.
"""

from __future__ import annotations

import uuid
from typing import Any

from agents.models import ToolSession
from contacts import services as contacts

EDITABLE = ("first_name", "last_name", "email", "company")


def note_add(*, session: ToolSession, body: str, key: str | None) -> None:
    """Queue a GoHighLevel note on the session's contact. `key` makes a repeated note a no-op."""
    if session.contact is None or not body.strip():
        return
    contacts.ghl_note_enqueue(
        account=session.account, contact=session.contact, body=body, key=key or f"tool:{uuid.uuid4()}"
    )


def contact_update(*, session: ToolSession, changes: dict[str, Any]) -> None:
    """Change the session's contact here; the contacts app pushes the new state to GoHighLevel."""
    if session.contact is None:
        return
    data = {name: value for name, value in changes.items() if name in EDITABLE}
    if data:
        contacts.contact_update(contact=session.contact, data=data, actor="agent")
