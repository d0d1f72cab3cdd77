"""The integrations audit trail: who did what to which integration, and how it went.

Append-only `IntegrationEvent` rows (shown in the dashboard, the API and the admin) plus one
log line each. A message never holds a secret: callers pass provider reasons already scrubbed.
"""

from __future__ import annotations

import logging
from typing import Any

from accounts.models import Account, User
from integrations.models import IntegrationEvent

logger = logging.getLogger("integrations.services")

Actor = User | str  # a user, or "operator" (admin, manage.py) / "system" (background work)
NON_USER_ACTORS = ("operator", "system")


def actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, User):
        # Platform staff act as "operator" in the tenant's trail; the FK still says who.
        return {"actor": actor, "actor_label": actor.email if actor.account_id else "operator"}
    if actor not in NON_USER_ACTORS:
        raise ValueError(f"actor must be a User or one of {NON_USER_ACTORS}")
    return {"actor": None, "actor_label": actor}


def integration_event_record(
    *, account: Account, provider: str, actor: Actor, action: str, outcome: str, message: str
) -> IntegrationEvent:
    who = actor_fields(actor)
    event = IntegrationEvent.objects.create(
        account=account, provider=provider, action=action, outcome=outcome, message=message, **who
    )
    logger.info(
        "integration %s %s %s: account=%s actor=%s %s",
        provider,
        action,
        outcome,
        account.slug,
        who["actor_label"],
        message,
    )
    return event
