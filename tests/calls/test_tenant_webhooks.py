"""Tenant webhooks: signed deliveries, retries for a day with a log, SSRF refusals (also through
DNS answers that change), the events of a real call once each, and "send test event"."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from calls import tenant_webhooks as tw
from calls.models import Call, TenantWebhook, TenantWebhookDelivery
from calls.safe_http import Refused, check_url, resolve
from prixagent.errors import ApplicationError
from tests.calls.conftest import Receiver, callback


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The README's verification snippet, as a receiver would write it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, parts["v1"])


def make(account: Account, url: str, events: list[str] | None = None) -> tuple[TenantWebhook, str]:
    return tw.tenant_webhook_create(
        account=account, url=url, events=events or ["call.started", "call.ended", "call.analyzed"]
    )


def due_now() -> None:
    TenantWebhookDelivery.objects.update(next_attempt_at=timezone.now())


# --- registering ----------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_stored_encrypted(alice_account: Account) -> None:
    endpoint, secret = make(alice_account, "https://hooks.example.com/prix")
    assert secret.startswith("whsec_") and len(secret) > 40
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM calls_tenantwebhook WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("pa1:") and secret not in stored
    assert secret not in repr(endpoint) and secret not in str(endpoint)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/prix",  # not https
        "https://localhost/prix",
        "https://hooks.internal/prix",
        "https://127.0.0.1/prix",
        "https://10.1.2.3/prix",
        "https://192.168.0.10/prix",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/prix",  # CGNAT
        "https://[::1]/prix",
        "https://[::ffff:10.0.0.5]/prix",
        "https://224.0.0.1/prix",  # multicast
        "https://240.0.0.1/prix",  # reserved
        "https://0.0.0.0/prix",
        "https://user:pw@hooks.example.com/prix",
        "ftp://hooks.example.com/prix",
    ],
)
def test_private_loopback_link_local_multicast_and_reserved_urls_are_refused(alice_account: Account, url: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        make(alice_account, url)
    assert "url" in refused.value.fields
    assert not TenantWebhook.objects.exists()


@pytest.mark.parametrize(
    "addresses", [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["93.184.215.14", "192.168.1.1"], ["::1"], []]
)
def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(addresses: list[str]) -> None:
    with pytest.raises(Refused):
        resolve("hooks.example.com", 443, resolver=lambda host, port: addresses)


def test_a_public_address_is_allowed() -> None:
    assert resolve("hooks.example.com", 443, resolver=lambda host, port: ["93.184.215.14"]) == "93.184.215.14"
    assert check_url("https://hooks.example.com:8443/a?b=c").port == 8443


def test_dns_rebinding_cannot_reach_the_inside(alice_account: Account, receiver: Receiver, settings: Any) -> None:
    """The name passed registration; at delivery it resolves to loopback: refused, nothing sent."""
    endpoint, _secret = make(alice_account, "https://hooks.example.com/prix")
    settings.TENANT_WEBHOOKS_ALLOW_PRIVATE = False
    delivery = tw.tenant_webhook_send_test(endpoint=endpoint, resolver=lambda host, port: ["127.0.0.1"])
    assert (delivery.state, delivery.attempts) == ("refused", 1)
    assert "127.0.0.1" in delivery.last_error
    assert receiver.received == []
    assert tw.tenant_webhooks_deliver_due(resolver=lambda host, port: ["127.0.0.1"]) == {}  # never retried


# --- delivering -------------------------------------------------------------------------------------


def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    alice_account: Account, receiver: Receiver
) -> None:
    endpoint, secret = make(alice_account, receiver.url("hooks.example.test"))
    pinned = lambda host, port: ["127.0.0.1"]  # noqa: E731 - the one answer DNS gives
    delivery = tw.tenant_webhook_send_test(endpoint=endpoint, resolver=pinned)
    assert delivery.state == "delivered" and delivery.last_status_code == 200
    [got] = receiver.received
    assert got["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    assert got["headers"]["Prix-Event"] == "ping" and got["headers"]["Prix-Event-Id"] == str(delivery.event_id)
    assert verify(secret, got["headers"]["Prix-Signature"], got["body"])
    assert not verify("whsec_wrong", got["headers"]["Prix-Signature"], got["body"])
    assert json.loads(got["body"])["type"] == "ping"


def test_failures_are_retried_with_backoff_and_logged(alice_account: Account, receiver: Receiver) -> None:
    endpoint, _secret = make(alice_account, receiver.url())
    receiver.codes = [500, 503]
    first = tw.tenant_webhook_send_test(endpoint=endpoint)
    assert (first.state, first.last_status_code) == ("pending", 500)
    assert timedelta(seconds=50) < first.next_attempt_at - timezone.now() <= timedelta(seconds=60)
    assert tw.tenant_webhooks_deliver_due() == {}  # not due yet
    due_now()
    assert tw.tenant_webhooks_deliver_due() == {"retry": 1}
    second = TenantWebhookDelivery.objects.get()
    assert timedelta(seconds=290) < second.next_attempt_at - timezone.now() <= timedelta(seconds=300)
    due_now()
    assert tw.tenant_webhooks_deliver_due() == {"delivered": 1}
    log = list(TenantWebhookDelivery.objects.get().attempt_log.order_by("at").values_list("status_code", flat=True))
    assert log == [500, 503, 200]
    ids = {r["headers"]["Prix-Event-Id"] for r in receiver.received}
    assert len(ids) == 1  # one event id across the retries: the receiver dedupes on it


def test_it_gives_up_after_about_a_day(alice_account: Account, receiver: Receiver) -> None:
    assert timedelta(hours=23) < timedelta(seconds=sum(tw.RETRY_DELAYS)) < timedelta(hours=25)
    endpoint, _secret = make(alice_account, receiver.url())
    receiver.codes = [500] * 20
    tw.tenant_webhook_send_test(endpoint=endpoint)
    for _retry in tw.RETRY_DELAYS:
        due_now()
        tw.tenant_webhooks_deliver_due()
    delivery = TenantWebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("failed", len(tw.RETRY_DELAYS) + 1)
    due_now()
    assert tw.tenant_webhooks_deliver_due() == {}


def test_a_calls_events_go_out_once_each(
    provider_sandbox: Any, call: Call, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, secret = make(call.account, receiver.url())
    unsubscribed, _ = make(call.account, receiver.url(), events=["call.analyzed"])
    for status in ("initiated", "ringing", "in-progress", "in-progress", "completed", "completed"):
        callback(provider_sandbox, call, status, CallDuration="12")
    assert tw.tenant_webhooks_deliver_due() == {"delivered": 2}
    types = [json.loads(r["body"])["type"] for r in receiver.received]
    assert types == ["call.started", "call.ended"]
    ended = json.loads(receiver.received[1]["body"])["data"]["call"]
    assert (ended["id"], ended["status"], ended["duration_seconds"]) == (str(call.pk), "completed", 12)
    assert ended["contact"]["phone"] == call.to_number
    assert all(verify(secret, r["headers"]["Prix-Signature"], r["body"]) for r in receiver.received)
    assert not TenantWebhookDelivery.objects.filter(endpoint=unsubscribed).exists()
