"""The outbox delivers a provider write once, retries transient failures, parks permanent ones,
and cannot be double-written by a worker that outlived its lease. Deliveries go to the GoHighLevel
sandbox through the real client, so "delivered once" is counted on the provider's side."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from integrations.providers.ghl import GhlClient
from prixagent import outbox
from prixagent.models import OutboxMessage
from prixagent.periodic import InProcessScheduler, beat_schedule

pytestmark = pytest.mark.django_db


@outbox.outbox_handler("test.ghl_note")
def _deliver_note(message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload
    note = GhlClient(payload["token"], payload["location_id"]).add_note(payload["contact_id"], payload["body"])
    return {"note_id": note["id"]}


@pytest.fixture
def ghl(provider_sandbox: Any) -> dict[str, str]:
    location = provider_sandbox.ghl.create_location()
    client = GhlClient(location["token"], location["location_id"])
    contact = client.upsert_contact(firstName="Ana", phone="+14155550100")["contact"]
    return {**location, "contact_id": contact["id"]}


def _notes(provider_sandbox: Any) -> list[Any]:
    return [r for r in provider_sandbox.requests("ghl") if r.path.endswith("/notes") and r.status == 201]


def _enqueue(account: Account, ghl: dict[str, str], key: str = "call:1:outcome") -> OutboxMessage:
    payload = {"token": ghl["token"], "location_id": ghl["location_id"], "contact_id": ghl["contact_id"], "body": "hi"}
    with transaction.atomic():
        return outbox.outbox_enqueue(account=account, kind="test.ghl_note", key=key, payload=payload)


def test_it_delivers_once_and_enqueue_is_idempotent(alice_account, ghl, provider_sandbox):
    first = _enqueue(alice_account, ghl)
    again = _enqueue(alice_account, ghl)
    assert again.pk == first.pk
    assert outbox.outbox_deliver_due() == {"delivered": 1}
    assert outbox.outbox_deliver_due() == {}
    first.refresh_from_db()
    assert first.status == OutboxMessage.Status.DELIVERED
    assert first.result["note_id"]
    assert len(_notes(provider_sandbox)) == 1


def test_it_retries_a_transient_failure_later(alice_account, ghl, provider_sandbox):
    provider_sandbox.inject_fault("ghl", r"/notes$", status=503, count=1)
    message = _enqueue(alice_account, ghl)
    assert outbox.outbox_deliver_due() == {"retry": 1}
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert "503" in message.last_error
    assert outbox.outbox_deliver_due() == {}  # not due yet
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox.outbox_deliver_due() == {"delivered": 1}
    assert len(_notes(provider_sandbox)) == 1


def test_it_parks_a_permanent_failure_until_resumed(alice_account, ghl, provider_sandbox):
    message = _enqueue(alice_account, {**ghl, "token": "pit-revoked"})
    assert outbox.outbox_deliver_due() == {"parked": 1}
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PARKED
    assert "pit-revoked" not in message.last_error
    OutboxMessage.objects.filter(pk=message.pk).update(payload={**message.payload, "token": ghl["token"]})
    assert outbox.outbox_resume(account=alice_account, kind_prefix="test.") == 1
    assert outbox.outbox_deliver_due() == {"delivered": 1}


def test_a_worker_past_its_lease_cannot_overwrite_the_next_attempt(alice_account, ghl):
    message = _enqueue(alice_account, ghl)
    stale = outbox._claim(message.pk)  # worker 1 claims, then freezes past the lease
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox.outbox_deliver(message_id=message.pk) == "delivered"  # worker 2
    assert outbox._finish(stale, status=OutboxMessage.Status.PARKED, last_error="late") is False
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.DELIVERED, 2)


def test_a_claimed_message_is_not_delivered_twice_concurrently(alice_account, ghl):
    message = _enqueue(alice_account, ghl)
    assert outbox._claim(message.pk) is not None
    assert outbox.outbox_deliver(message_id=message.pk) == "skipped"  # leased to the first


def test_unknown_kinds_are_refused_at_enqueue(alice_account):
    with pytest.raises(ValueError, match="no outbox handler"):
        outbox.outbox_enqueue(account=alice_account, kind="nope", key="k", payload={})


def test_retry_delays_grow_and_are_capped():
    delays = [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 30)]
    assert 24 <= delays[0] <= 36
    assert 48 <= delays[1] <= 72
    assert delays[1] < delays[2]
    assert delays[3] <= outbox.MAX_RETRY_SECONDS * 1.2


def test_the_relay_is_a_registered_periodic_task_run_in_process(alice_account, ghl, provider_sandbox):
    assert beat_schedule()["outbox-relay"]["task"] == "prixagent.tasks.outbox_deliver_due_task"
    _enqueue(alice_account, ghl)
    scheduler = InProcessScheduler()
    assert "outbox-relay" in scheduler.run_due(now=0.0)
    assert len(_notes(provider_sandbox)) == 1
    assert "outbox-relay" not in scheduler.run_due(now=1.0)  # not due again for 15 s
