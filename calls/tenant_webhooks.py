"""Tenant webhooks: the account's own HTTPS endpoints for `call.started`, `call.ended`, `call.analyzed`.

Delivery (the scheme is in the README, with a verification snippet):

    POST <endpoint URL>
    Content-Type: application/json
    Prix-Event: call.ended
    Prix-Event-Id: 6f1c…            (the same on every retry: dedupe on it)
    Prix-Signature: t=1767225600,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

    {"id": "6f1c…", "type": "call.ended", "created_at": "…", "data": {"call": {…}}}

- Events are recorded in the transaction that changed the call (one delivery per endpoint, call
  and event type: a replayed webhook emits nothing twice) and sent afterwards.
- A 2xx is delivered. Anything else (or no answer) is retried with backoff for about a day
  (`RETRY_DELAYS`), then the delivery is given up. Every attempt is in the delivery log with its
  response code. A destination that is not a public address is refused (`safe_http`) and never
  retried: it will not become allowed.
- The secret is random, stored encrypted, and shown once, when the endpoint is created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from calls import safe_http
from calls.lifecycle import summary
from calls.models import Call, TenantEvent, TenantWebhook, TenantWebhookAttempt, TenantWebhookDelivery
from prixagent import redaction
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

State = TenantWebhookDelivery.State
TEST_EVENT = "ping"
# Seconds to wait after attempt n (1-based): about 24 hours in all, then give up.
RETRY_DELAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800)
LEASE = timedelta(minutes=2)  # longer than a delivery's connect + read timeouts
MAX_ENDPOINTS = 10
USER_AGENT = "PrixAgent-Webhooks/1.0"


# --- endpoints ----------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(_("Some fields are invalid."), fields={field: [message]})


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise _invalid("events", _("Choose at least one event."))
    unknown = [e for e in events if e not in TenantEvent.values]
    if unknown:
        raise _invalid("events", _("Unknown event: %(event)s.") % {"event": ", ".join(map(str, unknown))})
    return sorted(set(events))


def _clean_url(url: Any) -> str:
    text = str(url or "").strip()
    if len(text) > 500:
        raise _invalid("url", _("Use a URL of at most 500 characters."))
    try:
        safe_http.check_url(text)
    except safe_http.Refused as exc:
        raise _invalid("url", _("This URL cannot receive webhooks: %(reason)s.") % {"reason": exc}) from None
    return text


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


@sensitive_variables()
def tenant_webhook_create(
    *, account: Account, url: str, events: list[str], description: str = ""
) -> tuple[TenantWebhook, str]:
    """Register an endpoint; returns it and its signing secret, in plaintext this once."""
    url, events = _clean_url(url), _clean_events(events)
    if TenantWebhook.objects.filter(account=account).count() >= MAX_ENDPOINTS:
        raise ApplicationError(
            _("An account can have at most %(n)s webhook endpoints.") % {"n": MAX_ENDPOINTS}, code="too_many"
        )
    secret = new_secret()
    endpoint = TenantWebhook(account=account, url=url, events=events, description=str(description or "")[:200])
    endpoint.secret = secret
    endpoint.save()
    return endpoint, secret


def tenant_webhook_update(
    *, endpoint: TenantWebhook, url: Any = None, events: Any = None, description: Any = None, is_active: Any = None
) -> TenantWebhook:
    if url is not None:
        endpoint.url = _clean_url(url)
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = str(description)[:200]
    if is_active is not None:
        endpoint.is_active = bool(is_active)
    endpoint.save()
    return endpoint


@sensitive_variables()
def tenant_webhook_roll_secret(*, endpoint: TenantWebhook) -> str:
    """A new signing secret (the old one stops signing at once); shown this once."""
    secret = new_secret()
    endpoint.secret = secret
    endpoint.save()
    return secret


def tenant_webhook_delete(*, endpoint: TenantWebhook) -> None:
    endpoint.delete()


# --- events -----------------------------------------------------------------------------------


def _payload(call: Call, event: str, event_id: str) -> dict[str, Any]:
    data: dict[str, Any] = summary(call)
    data["contact"] = (
        {"id": call.contact_id, "name": call.contact.full_name, "phone": call.contact.phone} if call.contact else None
    )
    data["agent"] = {"id": str(call.agent_id), "name": call.agent.name} if call.agent else None
    if event == TenantEvent.CALL_ANALYZED:
        data.update(
            summary=call.summary,
            call_successful=call.call_successful,
            outcomes=call.outcomes,
            evaluation=call.evaluation,
            transcript=[{"role": t["role"], "message": t["message"], "at": t["at"]} for t in call.transcript],
        )
    return {"id": event_id, "type": event, "created_at": timezone.now().isoformat(), "data": {"call": data}}


def tenant_event_emit(*, call: Call, event: str) -> int:
    """Record `event` for every active endpoint of the call's account that wants it (in the
    caller's transaction); they are sent after commit. Returns how many were recorded."""
    endpoints = [
        e for e in TenantWebhook.objects.filter(account_id=call.account_id, is_active=True) if event in e.events
    ]
    created = 0
    for endpoint in endpoints:
        if TenantWebhookDelivery.objects.filter(endpoint=endpoint, call=call, event_type=event).exists():
            continue  # replayed or repeated: each event once per endpoint
        delivery = TenantWebhookDelivery(account_id=call.account_id, endpoint=endpoint, call=call, event_type=event)
        delivery.payload = _payload(call, event, str(delivery.event_id))
        delivery.save()
        created += 1
        _send_soon(delivery.pk)
    return created


def _send_soon(delivery_id: int) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # in-process: the periodic relay sends it (a request never waits on a tenant's server)
    from calls.tasks import tenant_webhook_deliver_task

    transaction.on_commit(lambda: tenant_webhook_deliver_task.delay(delivery_id))


# --- delivery ---------------------------------------------------------------------------------


@sensitive_variables()
def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _claim(delivery_id: int | None) -> TenantWebhookDelivery | None:
    now = timezone.now()
    with transaction.atomic():
        due = TenantWebhookDelivery.objects.select_for_update(skip_locked=True).filter(
            state=State.PENDING, next_attempt_at__lte=now
        )
        if delivery_id is not None:
            # By primary key, unordered: ORDER BY next_attempt_at LIMIT 1 would lead the planner to
            # walk the due index past every other pending delivery (as in prixagent.outbox).
            delivery = due.filter(pk=delivery_id).first()
        else:
            delivery = due.order_by("next_attempt_at").first()
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


@sensitive_variables()
def _send(delivery: TenantWebhookDelivery, resolver: safe_http.Resolver | None) -> tuple[int | None, str, str]:
    """(status code, error, excerpt) of one attempt."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Prix-Event": delivery.event_type,
        "Prix-Event-Id": str(delivery.event_id),
        "Prix-Delivery-Attempt": str(delivery.attempts),
        "Prix-Signature": signature(endpoint.secret or "", int(time.time()), body),
    }
    try:
        answer = safe_http.post(endpoint.url, body=body, headers=headers, resolver=resolver)
    except safe_http.Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt, retried
        return None, f"{type(exc).__name__}: {exc}"[:500], ""
    return answer.status, "", answer.excerpt


def _record(delivery: TenantWebhookDelivery, changes: dict[str, Any], attempt: dict[str, Any]) -> bool:
    """Write the outcome unless a newer attempt claimed the delivery meanwhile (fenced)."""
    with transaction.atomic():
        updated = TenantWebhookDelivery.objects.filter(
            pk=delivery.pk, attempts=delivery.attempts, state=State.PENDING
        ).update(**changes)
        if updated:
            TenantWebhookAttempt.objects.create(delivery=delivery, account_id=delivery.account_id, **attempt)
    return bool(updated)


def deliver(delivery: TenantWebhookDelivery, resolver: safe_http.Resolver | None = None) -> str:
    """One attempt of a claimed delivery: "delivered", "retry", "failed" or "refused"."""
    started = time.perf_counter()
    try:
        status, error, excerpt = _send(delivery, resolver)
    except safe_http.Refused as exc:
        reason = str(exc)[:500]
        _record(
            delivery,
            {"state": State.REFUSED, "last_error": reason, "last_status_code": None},
            {"error": reason, "duration_ms": 0},
        )
        logger.warning("tenant webhook %s refused: %s", delivery.endpoint_id, reason)
        return "refused"
    attempt = {
        "status_code": status,
        "error": redaction.redact(error)[:500],
        "duration_ms": int((time.perf_counter() - started) * 1000),
        "response_excerpt": redaction.redact(excerpt)[:300],
    }
    if status is not None and 200 <= status < 300:
        changes = {
            "state": State.DELIVERED,
            "delivered_at": timezone.now(),
            "last_status_code": status,
            "last_error": "",
        }
        _record(delivery, changes, attempt)
        return "delivered"
    reason = attempt["error"] or f"HTTP {status}"
    if delivery.attempts > len(RETRY_DELAYS):
        _record(delivery, {"state": State.FAILED, "last_status_code": status, "last_error": reason}, attempt)
        return "failed"
    later = timezone.now() + timedelta(seconds=RETRY_DELAYS[delivery.attempts - 1])
    _record(delivery, {"next_attempt_at": later, "last_status_code": status, "last_error": reason}, attempt)
    return "retry"


def tenant_webhook_deliver(*, delivery_id: int, resolver: safe_http.Resolver | None = None) -> str:
    delivery = _claim(delivery_id)
    return "skipped" if delivery is None else deliver(delivery, resolver)


def tenant_webhooks_deliver_due(*, limit: int = 50, resolver: safe_http.Resolver | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _attempt in range(limit):
        delivery = _claim(None)
        if delivery is None:
            break
        outcome = deliver(delivery, resolver)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def tenant_webhook_send_test(
    *, endpoint: TenantWebhook, resolver: safe_http.Resolver | None = None
) -> TenantWebhookDelivery:
    """ "Send test event": a `ping` delivered now (retried like any other if it fails)."""
    delivery = TenantWebhookDelivery(account_id=endpoint.account_id, endpoint=endpoint, event_type=TEST_EVENT)
    delivery.payload = {
        "id": str(delivery.event_id),
        "type": TEST_EVENT,
        "created_at": timezone.now().isoformat(),
        "data": {"message": "A test event from PrixAgent.", "endpoint": str(endpoint.pk)},
    }
    delivery.save()
    tenant_webhook_deliver(delivery_id=delivery.pk, resolver=resolver)
    delivery.refresh_from_db()
    return delivery
