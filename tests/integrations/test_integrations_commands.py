"""Operator commands: `set_credentials` (secrets from a prompt or stdin) and `check_providers`."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account
from integrations.models import IntegrationEvent
from tests.integrations.integration_helpers import connect_payload, nothing_stored


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_sets_credentials_from_standard_input(
    alice_account: Account, provider_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = provider_sandbox.twilio.create_account()
    out = run(
        "set_credentials",
        "--account=alice-co",
        "--provider=twilio",
        stdin=f"{creds['account_sid']}\n{creds['auth_token']}\n",
        monkeypatch=monkeypatch,
    )
    sid_hint, token_hint = creds["account_sid"][-4:], creds["auth_token"][-4:]
    assert out.strip() == f"Twilio connected for alice-co (account_sid ••••{sid_hint}, auth_token ••••{token_hint})"
    assert creds["auth_token"] not in out
    alice_account.refresh_from_db()
    assert alice_account.twilio_configured and alice_account.twilio_auth_token == creds["auth_token"]
    event = IntegrationEvent.objects.get(account=alice_account)
    assert (event.actor_label, event.action, event.outcome) == ("operator", "connect", "ok")


def test_it_prompts_without_echo_on_a_terminal(
    alice_account: Account, provider_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = connect_payload(provider_sandbox, "ghl")
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return payload["api_key"]

    monkeypatch.setattr(sys, "stdin", FakeTerminal(payload["location_id"] + "\n"))
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    call_command("set_credentials", "--account=alice-co", "--provider=ghl", stdout=io.StringIO())
    assert prompts == ["GoHighLevel Private integration token: "]  # the token is never echoed
    alice_account.refresh_from_db()
    assert alice_account.ghl_configured and alice_account.ghl_location_id == payload["location_id"]


def test_it_fails_with_one_line_on_bad_credentials(
    alice_account: Account, provider_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CommandError) as exc:
        run(
            "set_credentials",
            "--account=alice-co",
            "--provider=calcom",
            stdin="cal_wrong_0000\n",
            monkeypatch=monkeypatch,
        )
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("Cal.com not saved for alice-co: Invalid Cal.com credentials")
    assert "cal_wrong_0000" not in message
    assert nothing_stored(alice_account, "calcom")


def test_it_fails_when_the_provider_is_down(
    alice_account: Account, provider_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = provider_sandbox.elevenlabs.create_key()
    provider_sandbox.inject_fault("elevenlabs", r"/v1/convai/agents", status=500, headers={"Retry-After": "0"})
    with pytest.raises(CommandError, match="could not be reached"):
        run("set_credentials", "--account=alice-co", "--provider=elevenlabs", stdin=f"{key}\n", monkeypatch=monkeypatch)
    assert nothing_stored(alice_account, "elevenlabs")


def test_it_fails_on_short_input_and_unknown_accounts(
    alice_account: Account, provider_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CommandError, match="Standard input ended before Auth token"):
        run("set_credentials", "--account=alice-co", "--provider=twilio", stdin="AC123\n", monkeypatch=monkeypatch)
    with pytest.raises(CommandError, match="No account with slug 'nobody'"):
        run("set_credentials", "--account=nobody", "--provider=twilio", monkeypatch=monkeypatch)
    assert provider_sandbox.requests() == []


def test_it_takes_no_secret_on_the_command_line(alice_account: Account) -> None:
    with pytest.raises(CommandError):
        call_command("set_credentials", "--account=alice-co", "--provider=twilio", "--auth-token=abc")


def test_it_checks_the_platform_providers(provider_sandbox: Any, settings: Any) -> None:
    settings.ELEVENLABS_API_KEY = provider_sandbox.elevenlabs.create_key()
    app = provider_sandbox.paypal.create_app()
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET = app["client_id"], app["secret"]
    out = io.StringIO()
    call_command("check_providers", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("elevenlabs: ok, ")
    assert lines[1].startswith("paypal: ok, app APP-")
    assert {r.identity for r in provider_sandbox.requests("paypal")} == {app["client_id"]}


def test_it_checks_the_default_voice(provider_sandbox: Any, settings: Any) -> None:
    settings.ELEVENLABS_API_KEY = provider_sandbox.elevenlabs.create_key()
    settings.ELEVENLABS_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"
    settings.PAYPAL_CLIENT_ID = settings.PAYPAL_SECRET = ""
    out = io.StringIO()
    call_command("check_providers", stdout=out)
    assert "default voice Rachel (21m00Tcm4TlvDq8ikWAM)" in out.getvalue()
    assert any(r.path == "/v1/voices/21m00Tcm4TlvDq8ikWAM" for r in provider_sandbox.requests("elevenlabs"))


def test_it_fails_on_an_unknown_default_voice(provider_sandbox: Any, settings: Any) -> None:
    settings.ELEVENLABS_API_KEY = provider_sandbox.elevenlabs.create_key()
    settings.ELEVENLABS_VOICE_ID = "NoSuchVoice000"
    settings.PAYPAL_CLIENT_ID = settings.PAYPAL_SECRET = ""
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 provider check"):
        call_command("check_providers", stdout=out)
    assert "elevenlabs: FAILED, rejected" in out.getvalue()
    assert "NoSuchVoice000 was not found" in out.getvalue()


def test_it_fails_when_a_platform_provider_rejects(provider_sandbox: Any, settings: Any) -> None:
    settings.ELEVENLABS_API_KEY = provider_sandbox.elevenlabs.create_key()
    app = provider_sandbox.paypal.create_app()
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET = app["client_id"], "E-not-the-secret-0000"
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 provider check"):
        call_command("check_providers", stdout=out)
    assert "paypal: FAILED, rejected" in out.getvalue()
    assert "E-not-the-secret-0000" not in out.getvalue()


def test_it_reports_unconfigured_platform_providers(provider_sandbox: Any, settings: Any) -> None:
    settings.ELEVENLABS_API_KEY = ""
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET = "your-paypal-client-id", "your-paypal-secret"
    out = io.StringIO()
    call_command("check_providers", stdout=out)
    assert "elevenlabs: not configured" in out.getvalue() and "paypal: not configured" in out.getvalue()
    assert provider_sandbox.requests() == []


def test_it_fails_when_a_platform_provider_is_down(provider_sandbox: Any, settings: Any, dead_url: str) -> None:
    settings.ELEVENLABS_API_KEY = provider_sandbox.elevenlabs.create_key()
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET = "", ""
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "elevenlabs": dead_url}
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_providers", stdout=out)
    assert "elevenlabs: FAILED, unreachable" in out.getvalue()
