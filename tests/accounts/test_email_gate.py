"""An account connects providers only after its email is confirmed (API and dashboard)."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, User
from tests.integrations.integration_helpers import RequestsSince, connect_payload

URL = "/api/v1/integrations/"


def unverified(account: Account) -> Account:
    Account.objects.filter(pk=account.pk).update(email_verified_at=None)
    account.refresh_from_db()
    return account


def test_the_api_refuses_to_connect_before_the_email_is_confirmed(
    alice_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    unverified(alice_account)
    since = RequestsSince(provider_sandbox)
    response = alice_api.put(f"{URL}calcom/", connect_payload(provider_sandbox, "calcom"), format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "email_unverified"
    assert "Confirm your account email" in error["message"] and "alice@example.com" in error["message"]
    assert since() == []  # the provider was never asked
    alice_account.refresh_from_db()
    assert not alice_account.calcom_configured

    Account.objects.filter(pk=alice_account.pk).update(email_verified_at=timezone.now())
    assert alice_api.put(f"{URL}calcom/", connect_payload(provider_sandbox, "calcom"), format="json").status_code == 200


def test_the_dashboard_refuses_to_connect_before_the_email_is_confirmed(
    alice: User, alice_account: Account, provider_sandbox: Any
) -> None:
    unverified(alice_account)
    client = Client()
    client.force_login(alice)
    since = RequestsSince(provider_sandbox)
    response = client.post("/app/integrations/calcom/connect/", connect_payload(provider_sandbox, "calcom"))
    assert response.status_code == 403
    assert "Confirm your account email" in response.content.decode()
    assert since() == []
    assert "Confirm your email alice@example.com" in client.get("/app/").content.decode()


def test_the_account_page_sends_the_confirmation_link_again(
    alice: User, bob: User, alice_account: Account, django_capture_on_commit_callbacks
) -> None:
    from django.core import mail

    unverified(alice_account)
    owner, member = Client(), Client()
    owner.force_login(alice)
    member.force_login(bob)
    assert "Send the confirmation link again" in owner.get("/app/account/").content.decode()
    assert "Send the confirmation link again" not in member.get("/app/account/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post("/app/account/email/resend/").status_code == 403
        assert owner.post("/app/account/email/resend/").status_code == 302
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "/app/email/confirm/" in mail.outbox[0].body
