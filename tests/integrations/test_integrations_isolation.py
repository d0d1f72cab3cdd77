"""Tenant isolation and secrecy: each tenant's credentials are used only for its own work,
no tenant sees another's integrations, and a canary secret never leaves the database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Account, User
from integrations import services
from integrations.models import IntegrationEvent, IntegrationStatus
from integrations.registry import PROVIDERS as REGISTRY
from tests.integrations.integration_helpers import RequestsSince, connect_payload, raw_columns

CONFIGURED_FLAGS = [spec.flag for spec in REGISTRY.values()]

URL = "/api/v1/integrations/"
PROVIDERS = ["twilio", "ghl", "elevenlabs", "calcom"]


def test_it_uses_only_the_callers_credentials(
    alice_api: APIClient, charlie_api: APIClient, provider_sandbox: Any
) -> None:
    alice_twilio = provider_sandbox.twilio.create_account(numbers=["+15005550006"])
    charlie_twilio = provider_sandbox.twilio.create_account(numbers=["+15005550007"])
    alice_cal = connect_payload(provider_sandbox, "calcom")
    charlie_cal = connect_payload(provider_sandbox, "calcom")
    assert alice_api.put(f"{URL}twilio/", alice_twilio, format="json").status_code == 200
    assert alice_api.put(f"{URL}calcom/", alice_cal, format="json").status_code == 200
    assert charlie_api.put(f"{URL}twilio/", charlie_twilio, format="json").status_code == 200
    assert charlie_api.put(f"{URL}calcom/", charlie_cal, format="json").status_code == 200

    since = RequestsSince(provider_sandbox)
    assert charlie_api.post(f"{URL}twilio/test/").status_code == 200
    assert charlie_api.post(f"{URL}twilio/sync-numbers/").status_code == 200
    assert charlie_api.post(f"{URL}calcom/test/").status_code == 200
    charlie_work = since()
    assert {(r.provider, r.identity) for r in charlie_work} == {
        ("twilio", charlie_twilio["account_sid"]),
        ("calcom", charlie_cal["api_key"]),
    }
    assert charlie_api.get(f"{URL}twilio/").json()["details"]["numbers"][0]["number"] == "+15005550007"

    since = RequestsSince(provider_sandbox)
    assert alice_api.post(f"{URL}twilio/test/").status_code == 200
    assert {r.identity for r in since()} == {alice_twilio["account_sid"]}


def test_it_shows_charlie_only_his_own(
    alice_api: APIClient, charlie_api: APIClient, alice_account: Account, provider_sandbox: Any
) -> None:
    assert alice_api.put(f"{URL}ghl/", connect_payload(provider_sandbox, "ghl"), format="json").status_code == 200
    alice_event = IntegrationEvent.objects.get(account=alice_account)
    body = charlie_api.get(f"{URL}ghl/").json()
    assert body["configured"] is False and body["details"] == {}
    assert charlie_api.get(f"{URL}events/").json()["count"] == 0
    assert charlie_api.get(f"{URL}events/{alice_event.pk}/").status_code == 404
    assert alice_api.get(f"{URL}events/{alice_event.pk}/").status_code == 200


def _state(account: Account) -> tuple[object, ...]:
    """Everything about an account's integrations, as stored (ciphertexts included)."""
    return (
        raw_columns(account),
        list(Account.objects.filter(pk=account.pk).values_list(*CONFIGURED_FLAGS, "twilio_phone_numbers")),
        list(IntegrationStatus.objects.filter(account=account).values()),
        list(IntegrationEvent.objects.filter(account=account).values_list("pk", flat=True)),
    )


def test_it_never_lets_charlie_change_alice(
    alice_api: APIClient,
    charlie_api: APIClient,
    alice_account: Account,
    charlie_account: Account,
    provider_sandbox: Any,
) -> None:
    for provider in PROVIDERS:
        assert (
            alice_api.put(f"{URL}{provider}/", connect_payload(provider_sandbox, provider), format="json").status_code
            == 200
        )
        assert (
            charlie_api.put(f"{URL}{provider}/", connect_payload(provider_sandbox, provider), format="json").status_code
            == 200
        )
    alice_before, charlie_before = _state(alice_account), _state(charlie_account)

    # Every write charlie can make, on the same provider paths alice uses.
    for provider in PROVIDERS:
        assert charlie_api.post(f"{URL}{provider}/test/").status_code == 200
        assert (
            charlie_api.put(f"{URL}{provider}/", connect_payload(provider_sandbox, provider), format="json").status_code
            == 200
        )
    assert charlie_api.post(f"{URL}twilio/sync-numbers/").status_code == 200
    assert charlie_api.post(f"{URL}calcom/default-event-type/", {"default_event_type_id": None}).status_code == 200
    for provider in PROVIDERS:
        assert charlie_api.delete(f"{URL}{provider}/").status_code == 204

    assert _state(charlie_account) != charlie_before  # his writes happened...
    assert not any(getattr(Account.objects.get(pk=charlie_account.pk), f) for f in CONFIGURED_FLAGS)
    assert _state(alice_account) == alice_before  # ...and nothing of alice's moved, not one byte
    assert all(alice_api.get(f"{URL}{provider}/").json()["configured"] for provider in PROVIDERS)


def test_it_refuses_a_ciphertext_copied_from_another_tenant(
    alice_api: APIClient,
    charlie_api: APIClient,
    alice_account: Account,
    charlie_account: Account,
    provider_sandbox: Any,
) -> None:
    alice_api.put(f"{URL}elevenlabs/", connect_payload(provider_sandbox, "elevenlabs"), format="json")
    charlie_api.put(f"{URL}elevenlabs/", connect_payload(provider_sandbox, "elevenlabs"), format="json")
    # Someone with database access copies Alice's key into Charlie's row.
    Account.objects.filter(pk=charlie_account.pk).update(
        elevenlabs_api_key=Account.objects.get(pk=alice_account.pk).__dict__["elevenlabs_api_key"]
    )
    since = RequestsSince(provider_sandbox)
    r = charlie_api.post(f"{URL}elevenlabs/test/")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "credentials_unreadable"
    assert since() == []  # Alice's key was never sent


# --- the canary ------------------------------------------------------------------------------

CANARY = "CANARYc4n4ry5ecret"
# Twilio auth tokens are 32 hexadecimal characters (the format is checked before any request).
TWILIO_CANARY = "cafe0ca9a7ca11ed5ec7e7"


def canary_in(text: str) -> bool:
    return CANARY in text or TWILIO_CANARY in text


def _canary_credentials(sb: Any) -> dict[str, dict[str, str]]:
    return {
        "twilio": sb.twilio.create_account(auth_token=f"{TWILIO_CANARY}0123456789"),
        "ghl": {
            "api_key": sb.ghl.create_location(token=f"pit-{CANARY}ghl")["token"],
            "location_id": "",
        },
        "elevenlabs": {"api_key": sb.elevenlabs.create_key(api_key=f"sk_{CANARY}11labs")},
        "calcom": {"api_key": sb.calcom.create_user(api_key=f"cal_{CANARY}calcom")["api_key"]},
    }


@pytest.fixture
def log_file() -> Path:
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None))
    return Path(handler.baseFilename)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("operator@example.com", "operator password 123")


def test_it_never_shows_a_canary_secret(
    alice: User,
    alice_api: APIClient,
    alice_account: Account,
    superuser: User,
    provider_sandbox: Any,
    caplog: pytest.LogCaptureFixture,
    log_file: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    log_start = log_file.stat().st_size if log_file.exists() else 0
    creds = _canary_credentials(provider_sandbox)
    creds["ghl"]["location_id"] = provider_sandbox.ghl.tokens[creds["ghl"]["api_key"]]
    bodies: list[str] = []

    # A provider that echoes the credential back in its error must not make us echo it.
    provider_sandbox.inject_fault(
        "calcom",
        r"/v2/me",
        status=401,
        count=1,
        body={"status": "error", "error": {"message": f"bad key cal_{CANARY}calcom"}},
    )
    for provider, payload in creds.items():
        if provider == "calcom":
            bad = alice_api.put(f"{URL}calcom/", payload, format="json")
            assert bad.status_code == 400
            bodies.append(bad.content.decode())
        r = alice_api.put(f"{URL}{provider}/", payload, format="json")
        assert r.status_code == 200, r.content
        bodies.append(r.content.decode())
        bodies.append(alice_api.post(f"{URL}{provider}/test/").content.decode())
    bodies.append(alice_api.post(f"{URL}twilio/sync-numbers/").content.decode())
    bodies.append(alice_api.get(URL).content.decode())
    bodies.append(alice_api.get(f"{URL}events/").content.decode())
    bodies.append(alice_api.get("/api/v1/account/").content.decode())
    bodies.append(alice_api.get("/api/v1/me/").content.decode())
    # a permanent failure found during real work, carrying the secret in its reason
    services.integration_mark_failing(account=alice_account, provider="ghl", error=f"401 for token pit-{CANARY}ghl")

    dashboard = Client()
    dashboard.force_login(alice)
    page = dashboard.get("/app/integrations/")
    assert page.status_code == 200
    bodies.append(page.content.decode())

    admin = Client()
    admin.force_login(superuser)
    status_ids = IntegrationStatus.objects.filter(account=alice_account).values_list("pk", flat=True)
    admin_urls = [
        "/admin/integrations/integrationstatus/",
        "/admin/integrations/integrationevent/",
        *[f"/admin/integrations/integrationstatus/{pk}/change/" for pk in status_ids],
        *[f"/admin/integrations/integrationevent/{e.pk}/change/" for e in IntegrationEvent.objects.all()],
        "/admin/accounts/account/",
        f"/admin/accounts/account/{alice_account.pk}/change/",
    ]
    for url in admin_urls:
        r = admin.get(url)
        assert r.status_code == 200, url  # a 404 page would scan nothing
        assert not canary_in(r.content.decode()), url
    r = admin.post(
        "/admin/integrations/integrationstatus/",
        {"action": "test_credentials", "_selected_action": list(status_ids)},
        follow=True,
    )
    assert r.status_code == 200
    bodies.append(r.content.decode())

    everything = "\n".join(bodies)
    assert "••••" in everything  # the masked hints are there
    assert not canary_in(everything)
    assert not canary_in("\n".join(e.message for e in IntegrationEvent.objects.all()))
    assert not canary_in("\n".join(s.last_error for s in IntegrationStatus.objects.all()))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("integrations", "prixagent", "django"))]
    assert ours and not canary_in("\n".join(ours))
    for handler in logging.getLogger().handlers:
        handler.flush()
    with log_file.open(encoding="utf-8", errors="replace") as f:
        f.seek(log_start)
        assert not canary_in(f.read())


def test_it_keeps_secrets_out_of_repr(alice_account: Account, provider_sandbox: Any) -> None:
    creds = _canary_credentials(provider_sandbox)
    services.integration_connect(
        account=alice_account, provider="twilio", credentials=creds["twilio"], actor="operator"
    )
    status = IntegrationStatus.objects.get(account=alice_account)
    for obj in (alice_account, status, IntegrationEvent.objects.get(account=alice_account)):
        assert not canary_in(repr(obj)) and not canary_in(str(obj))
    assert not canary_in(repr(alice_account.__dict__))
