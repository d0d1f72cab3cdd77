"""The operator's admin for calls: read-mostly pages without secrets, actions that call services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from calls.models import Call, TenantWebhook, TenantWebhookDelivery
from calls.tenant_webhooks import tenant_webhook_create, tenant_webhook_send_test
from tests.calls.conftest import Receiver


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@prixagent.test", "operator pass phrase 2024"))
    return client


def test_the_pages_render_without_secrets(operator: Client, call: Call, receiver: Receiver) -> None:
    endpoint, secret = tenant_webhook_create(account=call.account, url=receiver.url(), events=["call.ended"])
    delivery = tenant_webhook_send_test(endpoint=endpoint)
    token = call.account.twilio_auth_token
    pages = [
        "/admin/calls/call/",
        "/admin/calls/call/?status__exact=queued&q=alice",
        f"/admin/calls/call/{call.pk}/change/",
        "/admin/calls/callsettings/",
        "/admin/calls/tenantwebhook/",
        f"/admin/calls/tenantwebhook/{endpoint.pk}/change/",
        "/admin/calls/tenantwebhookdelivery/",
        f"/admin/calls/tenantwebhookdelivery/{delivery.pk}/change/",
    ]
    for page in pages:
        response = operator.get(page)
        assert response.status_code == 200, page
        assert secret not in response.content.decode() and token not in response.content.decode(), page
    assert operator.get("/admin/calls/call/add/").status_code == 403


def test_ask_twilio_now_settles_a_stuck_call(operator: Client, provider_sandbox: Any, call: Call) -> None:
    provider_sandbox.twilio.calls[call.twilio_call_sid].update(status="completed", duration="20")
    response = operator.post(
        "/admin/calls/call/", {"action": "check_at_twilio", "_selected_action": [str(call.pk)]}, follow=True
    )
    assert "settled" in response.content.decode()
    call.refresh_from_db()
    assert (call.status, call.duration_seconds) == ("completed", 20)


def test_retry_now_resends_a_delivery_that_gave_up(operator: Client, alice_account: Any, receiver: Receiver) -> None:
    endpoint, _secret = tenant_webhook_create(account=alice_account, url=receiver.url(), events=["call.ended"])
    receiver.codes = [500]
    delivery = tenant_webhook_send_test(endpoint=endpoint)
    TenantWebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed", attempts=10)
    operator.post(
        "/admin/calls/tenantwebhookdelivery/", {"action": "retry_now", "_selected_action": [str(delivery.pk)]}
    )
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and len(receiver.received) == 2
    assert TenantWebhook.objects.get().pk == endpoint.pk
    assert delivery.delivered_at > timezone.now() - timedelta(minutes=1)
