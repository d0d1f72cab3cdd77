"""The admin's second factor (TOTP via django-otp), recovery codes, the reset command, and
account saves from the admin that cannot write back stale credentials."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models.signals import pre_save
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, AuditEvent, User

ADMIN_EMAIL = "ops@prixagent.test"
ADMIN_PASSWORD = "operator pass phrase 2024"


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def production_mfa(settings: Any) -> None:
    settings.ADMIN_MFA_REQUIRED = True


def password_login(client: Client) -> Any:
    return client.post("/admin/login/", {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "next": "/admin/"})


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits) + offset:06d}"[-6:]


def enrol(client: Client) -> tuple[TOTPDevice, list[str]]:
    client.get("/admin/mfa/setup/")
    device = TOTPDevice.objects.get(user__email=ADMIN_EMAIL, confirmed=False)
    page = client.post("/admin/mfa/setup/", {"code": code_for(device), "next": "/admin/"})
    assert page.status_code == 200, page.content.decode()[:500]
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    return TOTPDevice.objects.get(pk=device.pk), codes


def test_production_sends_a_staff_member_without_a_device_to_enrol(operator: User, production_mfa: None) -> None:
    client = Client()
    assert password_login(client).status_code == 302
    index = client.get("/admin/", follow=True)
    assert index.redirect_chain[-1][0].startswith("/admin/mfa/setup/")
    assert client.get("/admin/accounts/account/").status_code == 302  # no admin page before the second factor
    page = index.content.decode()
    assert "<svg" in page and "Key:" in page


def test_enrolment_needs_a_right_code_then_shows_recovery_codes(operator: User, production_mfa: None) -> None:
    client = Client()
    password_login(client)
    client.get("/admin/mfa/setup/")
    device = TOTPDevice.objects.get(user=operator)
    wrong = client.post("/admin/mfa/setup/", {"code": code_for(device, offset=1)})
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    device, codes = enrol(client)
    assert device.confirmed and len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/accounts/account/").status_code == 200


def test_a_new_session_asks_for_the_code(
    operator: User, production_mfa: None, caplog: pytest.LogCaptureFixture
) -> None:
    first = Client()
    password_login(first)
    device, _codes = enrol(first)
    client = Client()
    password_login(client)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/?next=/admin/").url.startswith("/admin/mfa/?")
    with caplog.at_level(logging.WARNING, logger="prixagent.security"):
        assert client.post("/admin/mfa/", {"code": "000000"}).status_code == 400
    assert any(r.getMessage().startswith(f"mfa failed: user={operator.pk}") for r in caplog.records)
    assert client.get("/admin/accounts/account/").status_code == 302
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None, last_t=-1
    )
    response = client.post("/admin/mfa/", {"code": code_for(device), "next": "/admin/accounts/account/"})
    assert response.status_code == 302 and response.url == "/admin/accounts/account/"
    assert client.get("/admin/accounts/account/").status_code == 200


def test_wrong_codes_are_throttled(operator: User, production_mfa: None) -> None:
    first = Client()
    password_login(first)
    device, _codes = enrol(first)
    client = Client()
    password_login(client)
    client.post("/admin/mfa/", {"code": "000000"})
    # Right after a failure even the right code waits (django-otp doubles the delay each time).
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    assert client.post("/admin/mfa/", {"code": code_for(device)}).status_code == 400


def test_a_recovery_code_works_once(operator: User, production_mfa: None) -> None:
    first = Client()
    password_login(first)
    _device, codes = enrol(first)
    for expected in (302, 400):
        client = Client()
        password_login(client)
        assert client.post("/admin/mfa/", {"code": codes[0].upper()}).status_code == expected


def test_outside_production_enrolled_staff_still_need_their_code(operator: User, settings: Any) -> None:
    settings.ADMIN_MFA_REQUIRED = False
    client = Client()
    password_login(client)
    assert client.get("/admin/").status_code == 200  # no device: the password is enough here
    enrol(client)
    other = Client()
    password_login(other)
    assert other.get("/admin/").status_code == 302


def test_the_reset_command_removes_a_lost_device(operator: User, production_mfa: None, capsys: Any) -> None:
    first = Client()
    password_login(first)
    enrol(first)
    call_command("reset_admin_mfa", ADMIN_EMAIL)
    assert "Removed 2 two-factor devices of ops@prixagent.test" in capsys.readouterr().out
    client = Client()
    password_login(client)
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/admin/mfa/setup/")


def test_the_reset_command_fails_with_one_line(db: None) -> None:
    with pytest.raises(CommandError) as info:
        call_command("reset_admin_mfa", "nobody@example.com")
    assert str(info.value) == "no platform staff user with email 'nobody@example.com'"


# --- account saves write only what changed -------------------------------------------------------


def concurrent_connect_during_save(account: Account, new_token: str) -> Any:
    """Just before the next save of `account` writes, another request stores new credentials."""

    def connect(sender: Any, instance: Account, **kwargs: Any) -> None:
        if instance.pk == account.pk:
            pre_save.disconnect(connect, sender=Account)
            fresh = Account.objects.get(pk=account.pk)
            fresh.twilio_auth_token = new_token
            fresh.save(update_fields=["twilio_auth_token"])

    pre_save.connect(connect, sender=Account, weak=False)
    return connect


def test_an_api_patch_does_not_overwrite_a_concurrent_credential_change(alice: User) -> None:
    from tests.conftest import api_client_for

    account = alice.account
    account.twilio_auth_token = "old-token-value-1111"
    account.save()
    concurrent_connect_during_save(account, "new-token-value-2222")
    response = api_client_for(alice).patch("/api/v1/account/", {"name": "Alice Company"})
    assert response.status_code == 200
    account = Account.objects.get(pk=account.pk)
    assert account.name == "Alice Company"
    assert account.twilio_auth_token == "new-token-value-2222"


def test_an_admin_save_does_not_overwrite_a_concurrent_credential_change(operator: User, alice: User) -> None:
    account = alice.account
    account.twilio_auth_token = "old-token-value-1111"
    account.save()
    client = Client()
    client.force_login(operator)
    form = client.get(f"/admin/accounts/account/{account.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data.update({"settings": "{}", "limits": "{}", "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": "0"})
    data["name"] = "Alice Company"
    concurrent_connect_during_save(account, "new-token-value-2222")
    assert client.post(f"/admin/accounts/account/{account.pk}/change/", data).status_code == 302
    account = Account.objects.get(pk=account.pk)
    assert account.name == "Alice Company"
    assert account.twilio_auth_token == "new-token-value-2222"
    event = AuditEvent.objects.get(account=account, action="account.updated")
    assert event.actor_label == "operator" and "name" in event.details["fields"]
    assert not any("twilio" in field for field in event.details["fields"])
