"""Background work of the calls app: recovery, reconciliation, tenant webhook deliveries, and the
outbox deliverers (the outcome to GoHighLevel, inbound numbers pointed at us).

Tasks take ids and load what they need; every one is safe to run twice at once (the work is
claimed in the database with SKIP LOCKED and every change is idempotent).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.views.decorators.debug import sensitive_variables

from calls import (
    crm,  # noqa: F401 - registers the GoHighLevel outcome deliverer
    links,
    recovery,
    tenant_webhooks,
)
from calls.models import CallSettings
from integrations.providers import twilio
from integrations.providers.base import ProviderError
from prixagent import periodic
from prixagent.crypto import DecryptionError
from prixagent.models import OutboxMessage
from prixagent.outbox import outbox_handler

logger = logging.getLogger(__name__)
NUMBER_KIND = "calls.twilio_inbound_number"


@shared_task(name="calls.tasks.calls_recover_task", ignore_result=True)
def calls_recover_task() -> dict[str, Any]:
    return {"unknown": recovery.call_recover_unknown(), "stale": recovery.calls_refresh_stale()}


@shared_task(name="calls.tasks.calls_reconcile_analysis_task", ignore_result=True)
def calls_reconcile_analysis_task() -> dict[str, int]:
    return recovery.calls_reconcile_analysis()


@shared_task(name="calls.tasks.tenant_webhooks_deliver_due_task", ignore_result=True)
def tenant_webhooks_deliver_due_task() -> dict[str, int]:
    return tenant_webhooks.tenant_webhooks_deliver_due()


@shared_task(name="calls.tasks.tenant_webhook_deliver_task", ignore_result=True)
def tenant_webhook_deliver_task(delivery_id: int) -> str:
    return tenant_webhooks.tenant_webhook_deliver(delivery_id=delivery_id)


periodic.register("calls-recover", "calls.tasks.calls_recover_task", seconds=30)
periodic.register("calls-reconcile-analysis", "calls.tasks.calls_reconcile_analysis_task", seconds=60)
periodic.register("tenant-webhooks-deliver", "calls.tasks.tenant_webhooks_deliver_due_task", seconds=10)


@outbox_handler(NUMBER_KIND)
@sensitive_variables()
def deliver_inbound_number(message: OutboxMessage) -> dict[str, Any] | None:
    """Point a Twilio number of the account at our inbound webhooks (its agent was chosen)."""
    account = message.account
    number = message.payload.get("number")
    entry = next((n for n in account.twilio_phone_numbers or [] if n.get("number") == number), None)
    if not account.twilio_configured or entry is None or not str(entry.get("sid") or "").startswith("PN"):
        return {"skipped": "not one of the account's Twilio numbers any more"}
    settings = CallSettings.objects.filter(account=account).first()
    if settings is None:
        return {"skipped": "no call settings"}
    try:
        sid, token = account.twilio_account_sid or "", account.twilio_auth_token or ""
    except DecryptionError as exc:
        raise ProviderError("the Twilio credentials cannot be decrypted", permanent=True, code="unreadable") from exc
    twilio.number_configure(
        sid,
        token,
        entry["sid"],
        voice_url=links.inbound_voice_url(settings),
        status_callback=links.inbound_status_url(settings),
    )
    return {"number": number, "voice_url": links.inbound_voice_url(settings)}
