"""Signal receivers of the calls app (connected in `CallsConfig.ready`).

When an agent is given a number for inbound calls (on the agent page or the API), that number's
voice URL and status callback at Twilio are pointed at our inbound webhooks, through the outbox
(committed with the change; a Twilio outage only delays it). A number taken away from an agent
keeps pointing at us: calls to it hear a short apology instead of reaching a stale agent.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from agents.models import AgentInboundNumber


@receiver(post_save, sender=AgentInboundNumber, dispatch_uid="calls.inbound_number_assigned")
def inbound_number_assigned(sender: type, instance: AgentInboundNumber, created: bool, **kwargs: Any) -> None:
    from calls.services import call_settings_for
    from calls.tasks import NUMBER_KIND
    from prixagent.outbox import outbox_enqueue

    if not created or kwargs.get("raw"):
        return
    call_settings_for(instance.account)  # the inbound URLs name it
    outbox_enqueue(
        account=instance.account,
        kind=NUMBER_KIND,
        key=f"number:{instance.phone_number}:{uuid.uuid4()}",
        payload={"number": instance.phone_number},
    )
