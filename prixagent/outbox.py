"""The outbox: writes to tenants' providers that must happen once, eventually.

Usage, inside the transaction that makes the local change::

    outbox_enqueue(account=account, kind="ghl.note", key=f"call:{call.pk}:outcome", payload={...})

and, once, the deliverer of that kind::

    @outbox_handler("ghl.note")
    def deliver_note(message: OutboxMessage) -> dict | None:
        ...  # raise ProviderError(permanent=...) on failure; the return value is stored

Delivery rules:
- A message is claimed (row lock, SKIP LOCKED) and pushed one lease ahead *before* the provider
  is called, in its own short transaction; no lock is held during the provider call.
- Success stores the result. A transient error retries with exponential backoff and jitter; a
  permanent one (revoked token, bad request) parks the message until `outbox_resume`.
- The final write is fenced on the attempt number: a worker that outlived its lease (frozen, then
  woken) cannot overwrite what the next attempt did.
- A worker killed mid-delivery leaves the outcome unknown; the message is due again after the
  lease. `message.attempts > 1` tells the handler a previous attempt may have reached the
  provider, so handlers of non-idempotent provider calls check before writing again.

With a broker, delivery starts right after commit (a Celery task per message); without one
(`make run`, the test suite) the periodic `outbox_deliver_due` picks messages up, so a slow
provider never slows the request that enqueued the write.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.providers.base import ProviderError
from prixagent import redaction
from prixagent.models import OutboxMessage

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxMessage], "dict[str, Any] | None"]
HANDLERS: dict[str, Handler] = {}

LEASE = timedelta(seconds=90)  # longer than any provider timeout plus the handler's own work
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
MAX_ATTEMPTS = 25  # about four days of retries before a message is parked for a human
MAX_ERROR = 1000


def outbox_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the deliverer of `kind`. One per kind; registering twice is a bug."""

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not handler:
            raise ValueError(f"outbox kind {kind!r} already has a handler")
        HANDLERS[kind] = handler
        return handler

    return register


def outbox_enqueue(*, account: Any, kind: str, key: str, payload: dict[str, Any]) -> OutboxMessage:
    """Record a provider write to deliver after the surrounding transaction commits.

    Idempotent: the same (account, kind, key) returns the existing message unchanged.
    """
    if kind not in HANDLERS:
        raise ValueError(f"no outbox handler for {kind!r}")
    message, created = OutboxMessage.objects.get_or_create(
        account=account, kind=kind, key=key[:200], defaults={"payload": payload}
    )
    if created and not settings.CELERY_TASK_ALWAYS_EAGER:
        from prixagent.tasks import outbox_deliver_task

        transaction.on_commit(lambda: outbox_deliver_task.delay(message.pk))
    return message


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 6 h, each ±20 % so retries of one outage spread out."""
    base = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret


def _claim(message_id: int | None) -> OutboxMessage | None:
    now = timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now
        )
        if message_id is not None:
            # By primary key, unordered: ORDER BY next_attempt_at LIMIT 1 would lead the planner
            # to walk the due index past every other pending message.
            message = due.filter(pk=message_id).first()
        else:
            message = due.order_by("next_attempt_at").first()
        if message is None:
            return None
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        message.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    return message


def _finish(message: OutboxMessage, **changes: Any) -> bool:
    """Write the outcome only if nobody re-claimed the message since (fenced on `attempts`)."""
    changes["updated_at"] = timezone.now()
    return bool(
        OutboxMessage.objects.filter(
            pk=message.pk, attempts=message.attempts, status=OutboxMessage.Status.PENDING
        ).update(**changes)
    )


def _deliver(message: OutboxMessage) -> str:
    handler = HANDLERS.get(message.kind)
    if handler is None:
        _finish(message, status=OutboxMessage.Status.PARKED, last_error=f"no handler for {message.kind}")
        return "parked"
    try:
        result = handler(message)
    except ProviderError as exc:
        error = redaction.redact(exc.message)[:MAX_ERROR]
        if exc.permanent or message.attempts >= MAX_ATTEMPTS:
            _finish(message, status=OutboxMessage.Status.PARKED, last_error=error)
            logger.warning("outbox %s parked after %s attempt(s): %s", message.pk, message.attempts, error)
            return "parked"
        _finish(message, next_attempt_at=timezone.now() + retry_delay(message.attempts), last_error=error)
        return "retry"
    except Exception:  # noqa: BLE001 - a bug in a handler must not kill the relay; retried like a transient error
        logger.exception("outbox %s: handler %s failed", message.pk, message.kind)
        _finish(
            message,
            next_attempt_at=timezone.now() + retry_delay(message.attempts),
            last_error="internal error (see the log)",
        )
        return "retry"
    _finish(
        message,
        status=OutboxMessage.Status.DELIVERED,
        result=result,
        delivered_at=timezone.now(),
        last_error="",
    )
    return "delivered"


def outbox_deliver(*, message_id: int) -> str:
    """Deliver one message if it is due: "delivered", "retry", "parked" or "skipped"."""
    message = _claim(message_id)
    return "skipped" if message is None else _deliver(message)


def outbox_deliver_due(*, limit: int = 100) -> dict[str, int]:
    """Deliver up to `limit` due messages, oldest due first (the periodic relay)."""
    counts: dict[str, int] = {}
    for _ in range(limit):
        message = _claim(None)
        if message is None:
            break
        outcome = _deliver(message)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def outbox_resume(*, account: Any, kind_prefix: str) -> int:
    """Make an account's parked messages of some provider due again (e.g. after reconnecting it)."""
    return OutboxMessage.objects.filter(
        account=account, status=OutboxMessage.Status.PARKED, kind__startswith=kind_prefix
    ).update(status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), updated_at=timezone.now())
