"""A call's outcome in the tenant's GoHighLevel: the contact upserted, a note, outcome tags.

Written through the outbox (`prixagent.outbox`), enqueued in the transaction that settled the
outcome, with one key per call, so it is delivered once, retried with backoff through a
GoHighLevel outage, and parked (the integration marked failing) when the token is revoked.
GoHighLevel notes take no idempotency key: a retry (the previous attempt may have written the
note before its answer was lost) first reads the contact's notes and looks for this call's
marker, so the note is never written twice.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from calls.models import Call, Outcome
from contacts.models import Contact
from integrations.providers.base import ProviderError, segment
from integrations.providers.ghl import GhlClient
from integrations.services import integration_mark_failing
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_enqueue, outbox_handler

logger = logging.getLogger(__name__)

OUTCOME_KIND = "calls.ghl_outcome"
CREDENTIAL_ERRORS = ("invalid_credentials", "permission_denied")
NOT_WORTH_A_NOTE = (Outcome.NOT_PLACED, Outcome.CANCELED, "")


def crm_outcome_enqueue(*, call: Call) -> None:
    """Queue the outcome for GoHighLevel (no-op without a contact, GHL or an outcome worth noting)."""
    if call.contact_id is None or not call.account.ghl_configured or call.outcome in NOT_WORTH_A_NOTE:
        return
    outbox_enqueue(
        account=call.account, kind=OUTCOME_KIND, key=f"call:{call.pk}:outcome", payload={"call": str(call.pk)}
    )


def marker(call: Call) -> str:
    return f"[PrixAgent call {call.pk}]"


def note_body(call: Call) -> str:
    """The note (in the agent's language, English or Spanish): marker, outcome, summary, a link."""
    lines = [
        marker(call),
        _("Outcome: %(outcome)s") % {"outcome": call.get_outcome_display()},
        _("When: %(when)s")
        % {"when": timezone.localtime(call.ended_at or call.created_at).strftime("%Y-%m-%d %H:%M %Z")},
    ]
    if call.duration_seconds:
        lines.append(_("Duration: %(seconds)s s") % {"seconds": call.duration_seconds})
    if call.agent_id:
        lines.append(_("Agent: %(name)s") % {"name": call.agent.name if call.agent else ""})
    if call.summary:
        lines += ["", call.summary]
    for key, result in call.outcomes.items():
        lines.append(f"- {key}: {result.get('value')}")
    lines += ["", settings.APP_URL.rstrip("/") + reverse("dashboard:call_detail", args=[call.pk])]
    return "\n".join(lines)[:5000]


def tags_for(call: Call) -> list[str]:
    tags = ["prix:called", f"prix:{call.outcome.replace('_', '-')}"]
    for key, result in call.outcomes.items():
        if result.get("value") is True:
            tags.append(f"prix:{key.replace('_', '-')}")
    return tags


@sensitive_variables()
def _client(message: OutboxMessage) -> GhlClient:
    account = message.account
    if not account.ghl_configured:
        raise ProviderError("GoHighLevel is not connected", permanent=True, code="not_connected")
    return GhlClient(account.ghl_api_key or "", account.ghl_location_id)


def _upsert(ghl: GhlClient, contact: Contact) -> str:
    fields = {
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "companyName": contact.company,
        "source": "PrixAgent",
    }
    found = ghl.upsert_contact(phone=contact.phone, **{k: v for k, v in fields.items() if v})
    ghl_id = str((found.get("contact") or {}).get("id") or "")
    if not ghl_id:
        raise ProviderError("GoHighLevel upserted no contact id", permanent=False, code="unexpected_response")
    if contact.ghl_contact_id != ghl_id:
        Contact.objects.filter(pk=contact.pk).update(ghl_contact_id=ghl_id)
    return ghl_id


def _note_written(ghl: GhlClient, ghl_id: str, call: Call) -> bool:
    body = ghl.call("GET", f"/contacts/{segment(ghl_id)}/notes")
    notes = body.get("notes") if isinstance(body, dict) else None
    return any(marker(call) in str(note.get("body") or "") for note in notes or [] if isinstance(note, dict))


@outbox_handler(OUTCOME_KIND)
def deliver_outcome(message: OutboxMessage) -> dict[str, Any] | None:
    call = (
        Call.objects.select_related("contact", "agent", "account")
        .filter(pk=message.payload.get("call"), account_id=message.account_id)
        .first()
    )
    if call is None or call.contact is None:
        return {"skipped": "the call or its contact was deleted"}
    ghl = _client(message)
    try:
        with translation.override("es" if call.agent and call.agent.language == "es" else "en"):
            ghl_id = _upsert(ghl, call.contact)
            again = message.attempts > 1 and _note_written(ghl, ghl_id, call)
            if not again:
                ghl.add_note(ghl_id, note_body(call))
            tags = ghl.add_tags(ghl_id, tags_for(call))
    except ProviderError as exc:
        if exc.permanent and exc.code in CREDENTIAL_ERRORS:
            integration_mark_failing(account=message.account, provider="ghl", error=exc)
        raise
    finally:
        ghl.close()
    return {"ghl_contact_id": ghl_id, "note": "already written" if again else "written", "tags": tags}
