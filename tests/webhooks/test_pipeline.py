"""The webhook pipeline with a small HMAC-signed endpoint: every delivery kept, bad signatures
and oversize bodies refused with nothing processed, one processing per event under concurrency,
failures kept for replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client
from django.urls import path

from accounts.models import Account
from webhooks.models import InboundWebhook
from webhooks.pipeline import Event, Verified, WebhookEndpoint, WebhookIgnored, WebhookInvalid, WebhookRejected
from webhooks.services import webhook_prune, webhook_replay

SECRETS = {"alice-co": "alice-secret", "charlie-ltd": "charlie-secret"}
PROCESSED: list[str] = []


class DemoEndpoint(WebhookEndpoint):
    name = "test-demo"
    provider = "demo"
    max_body_bytes = 4096
    handlers = {"thing.done": "on_done", "thing.broken": "on_broken", "thing.stale": "on_stale"}

    def resolve(self, url_kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> Verified:
        account = Account.objects.filter(slug=url_kwargs["slug"]).first()
        if account is None:
            raise WebhookRejected("unknown account")
        return Verified(account)

    def check_signature(self, request: HttpRequest, body: bytes, verified: Verified) -> None:
        expected = hmac.new(SECRETS[verified.account.slug].encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
            raise WebhookRejected("bad signature")

    def parse(self, body: bytes, headers: dict[str, str], verified: Verified) -> Event:
        try:
            data = json.loads(body)
            return Event(type=data["type"], id=data["id"], data=data)
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookInvalid(str(exc)) from None

    def on_done(self, event: Event, verified: Verified) -> HttpResponse:
        PROCESSED.append(event.id)
        return JsonResponse({"done": event.id})

    def on_broken(self, event: Event, verified: Verified) -> None:
        if not event.data.get("fixed"):
            raise RuntimeError("handler bug")
        PROCESSED.append(event.id)

    def on_stale(self, event: Event, verified: Verified) -> None:
        raise WebhookIgnored("nothing to do")


urlpatterns = [path("webhooks/demo/<slug:slug>/", DemoEndpoint.as_view())]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _processed() -> None:
    PROCESSED.clear()


def send(slug: str, payload: Any, *, secret: str | None = None, client: Client | None = None) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    key = (secret if secret is not None else SECRETS.get(slug, "x")).encode()
    signature = hmac.new(key, body, hashlib.sha256).hexdigest()
    return (client or Client()).post(
        f"/webhooks/demo/{slug}/", body, content_type="application/json", headers={"X-Signature": signature}
    )


def test_a_signed_event_is_kept_and_processed(alice_account):
    response = send("alice-co", {"type": "thing.done", "id": "evt_1"})
    assert response.status_code == 200
    assert response.json() == {"done": "evt_1"}
    record = InboundWebhook.objects.get()
    assert (record.status, record.signature_valid, record.account, record.event_id) == (
        "processed",
        True,
        alice_account,
        "evt_1",
    )
    assert json.loads(record.body)["id"] == "evt_1"
    assert PROCESSED == ["evt_1"]


@pytest.mark.parametrize("secret", ["wrong", "", "charlie-secret"])
def test_bad_missing_or_other_tenants_signature_is_refused_and_processes_nothing(
    alice_account, charlie_account, secret
):
    response = send("alice-co", {"type": "thing.done", "id": "evt_1"}, secret=secret)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    record = InboundWebhook.objects.get()
    assert (record.status, record.signature_valid, record.event_id) == ("rejected", False, "")
    assert PROCESSED == []


def test_an_unknown_target_is_refused(db):
    assert send("nobody", {"type": "thing.done", "id": "evt_1"}).status_code == 403
    assert PROCESSED == []


def test_an_oversize_body_gets_413_and_nothing_is_processed(alice_account):
    response = send("alice-co", {"type": "thing.done", "id": "evt_1", "pad": "x" * 5000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert PROCESSED == []


def test_a_signed_but_unreadable_body_is_a_400(alice_account):
    response = send("alice-co", b"not json")
    assert response.status_code == 400
    assert InboundWebhook.objects.get().status == "rejected"


def test_repeats_are_processed_once_and_counted(alice_account):
    assert send("alice-co", {"type": "thing.done", "id": "evt_1"}).json() == {"done": "evt_1"}
    for _ in range(4):
        assert send("alice-co", {"type": "thing.done", "id": "evt_1"}).json() == {"received": True}
    record = InboundWebhook.objects.get()
    assert record.deliveries == 5
    assert PROCESSED == ["evt_1"]


def test_an_endpoint_that_stores_its_answer_repeats_it(alice_account, monkeypatch):
    monkeypatch.setattr(DemoEndpoint, "store_response", True)
    for _ in range(3):
        response = send("alice-co", {"type": "thing.done", "id": "evt_9"})
        assert (response.status_code, response.json()) == (200, {"done": "evt_9"})
    assert PROCESSED == ["evt_9"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_are_processed_once(alice_account):
    statuses: list[int] = []

    def deliver() -> None:
        try:
            statuses.append(send("alice-co", {"type": "thing.done", "id": "evt_c"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert statuses == [200] * 8
    assert PROCESSED == ["evt_c"]  # the seven others waited on the row lock, then saw it done
    assert InboundWebhook.objects.get().deliveries == 8


def test_unknown_events_are_kept_and_ignored(alice_account):
    assert send("alice-co", {"type": "thing.other", "id": "evt_2"}).status_code == 200
    assert InboundWebhook.objects.get().status == "ignored"


def test_a_handler_can_ignore_an_event(alice_account):
    assert send("alice-co", {"type": "thing.stale", "id": "evt_3"}).status_code == 200
    record = InboundWebhook.objects.get()
    assert (record.status, record.error) == ("ignored", "nothing to do")


def test_a_failing_handler_answers_500_keeps_the_event_and_can_be_replayed(alice_account):
    response = send("alice-co", {"type": "thing.broken", "id": "evt_4"})
    assert response.status_code == 500
    assert "Traceback" not in response.content.decode()
    record = InboundWebhook.objects.get()
    assert record.status == "failed"
    assert "handler bug" in record.error
    # The provider retries: processed again, still failing until the bug is fixed.
    assert send("alice-co", {"type": "thing.broken", "id": "evt_4"}).status_code == 500
    record.body = json.dumps({"type": "thing.broken", "id": "evt_4", "fixed": True})
    record.save(update_fields=["body"])
    assert webhook_replay(webhook=record) == "processed"
    assert PROCESSED == ["evt_4"]


def test_rejected_deliveries_cannot_be_replayed(alice_account):
    send("alice-co", {"type": "thing.done", "id": "evt_5"}, secret="wrong")
    with pytest.raises(ValueError, match="signature held"):
        webhook_replay(webhook=InboundWebhook.objects.get())
    assert PROCESSED == []


def test_replay_command_reports_the_outcome(alice_account, capsys):
    from django.core.management import CommandError, call_command

    send("alice-co", {"type": "thing.done", "id": "evt_6"})
    record = InboundWebhook.objects.get()
    call_command("replay_webhook", str(record.pk))
    assert f"webhook {record.pk} (test-demo evt_6): processed" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no incoming webhook with id 999999"):
        call_command("replay_webhook", "999999")


def test_prune_keeps_recent_events_and_drops_old_ones(alice_account):
    from datetime import timedelta

    from django.utils import timezone

    send("alice-co", {"type": "thing.done", "id": "evt_7"})
    send("alice-co", {"type": "thing.done", "id": "evt_8"}, secret="wrong")
    assert webhook_prune() == 0
    assert webhook_prune(now=timezone.now() + timedelta(days=8)) == 1  # the rejected one
    assert webhook_prune(now=timezone.now() + timedelta(days=31)) == 1
    assert not InboundWebhook.objects.exists()
