"""The security event log: the events of the accounts side, with the client IP from
`client_ip`, and no way for an input to start a forged line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import api_client_for

FORGED = "login ok: user=00000000-0000-0000-0000-000000000000 account=alice-co via=admin ip=10.0.0.1"


@pytest.fixture
def security_lines(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO, logger="prixagent.security")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "prixagent.security"]

    return lines


@pytest.fixture
def log_file() -> Path:
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None))
    return Path(handler.baseFilename)


def test_crlf_in_an_input_cannot_forge_a_line(alice: User, security_lines: Any, log_file: Path) -> None:
    start = log_file.stat().st_size if log_file.exists() else 0
    for email in (f"x@example.com\r\n{FORGED}", f"x@example.com\n{FORGED}", f"x\u2028{FORGED}"):
        APIClient().post("/api/v1/auth/token/", {"email": email, "password": "wrong"}, format="json")
        api_client_for(alice).post("/api/v1/account/users/", {"email": "ok@example.com", "name": f"n\r\n{FORGED}"})
    assert security_lines()
    assert not any(ch in line for line in security_lines() for ch in "\r\n\u2028")
    for handler in logging.getLogger().handlers:
        handler.flush()
    with log_file.open(encoding="utf-8", errors="replace") as f:
        f.seek(start)
        assert not any(line.split(": ", 1)[-1].startswith(FORGED) for line in f.read().splitlines())


def test_team_events_are_logged_with_the_client_ip(alice: User, bob: User, security_lines: Any, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    client = api_client_for(alice)
    via_proxy = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    client.post("/api/v1/account/users/", {"email": "new@example.com", "role": "admin"}, **via_proxy)
    client.patch(f"/api/v1/account/users/{bob.pk}/", {"role": "admin"}, **via_proxy)
    client.post("/api/v1/me/logout-everywhere/", **via_proxy)
    lines = security_lines()
    expected = {
        "invitation sent": f"account=alice-co actor={alice.pk} email=new@example.com role=admin ip=203.0.113.7",
        "role changed": f"account=alice-co actor={alice.pk} user={bob.pk} role_from=member role_to=admin "
        "ip=203.0.113.7",
        "logged out everywhere": f"user={alice.pk} revoked=1 ip=203.0.113.7",
    }
    for event, fields in expected.items():
        assert f"{event}: {fields}" in lines, lines


def test_lockouts_and_slowdowns_are_logged(alice: User, security_lines: Any, settings: Any) -> None:
    for _ in range(settings.LOGIN_FAILURES_PER_EMAIL_IP + 1):
        Client(REMOTE_ADDR="198.51.100.66").post("/app/login/", {"username": alice.email, "password": "wrong"})
    Client(REMOTE_ADDR="198.51.100.67").post("/app/login/", {"username": alice.email, "password": "wrong"})
    lines = security_lines()
    assert any(line.startswith("login locked for this address: ip=198.51.100.66 email=") for line in lines)
    assert any(line.startswith("login slowed down: ip=198.51.100.67 email=") for line in lines)
    assert not any("alice@example.com" in line for line in lines if line.startswith("login locked"))
