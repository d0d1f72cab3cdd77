"""Throttling, the error shape, surfaces, health, CORS and log hygiene."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from prixagent.logging import RedactSecretsFilter
from prixagent.redaction import remember_secret
from prixagent.surfaces import surface_for_path
from tests.conftest import PASSWORD


def test_it_throttles_login_attempts_per_email(api: APIClient, alice: User, settings: object) -> None:
    codes = [
        APIClient(REMOTE_ADDR=f"10.0.0.{i}")
        .post("/api/v1/auth/token/", {"email": alice.email, "password": "wrong password"})
        .status_code
        for i in range(settings.LOGIN_ATTEMPTS_PER_EMAIL + 1)
    ]
    assert codes[:-1] == [401] * settings.LOGIN_ATTEMPTS_PER_EMAIL
    assert codes[-1] == 429


def test_it_throttles_login_attempts_per_ip(api: APIClient, db: None, settings: object) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    responses = [
        api.post("/api/v1/auth/token/", {"email": f"u{i}@x.io", "password": "wrong password"}) for i in range(4)
    ]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    last = responses[-1]
    assert int(last["Retry-After"]) > 0
    assert last.json()["error"]["code"] == "throttled"


def test_it_throttles_api_clients_per_rate_limit_settings(alice_api: APIClient, settings: object) -> None:
    settings.RATE_LIMIT_MAX_REQUESTS = 5
    codes = [alice_api.get("/api/v1/me/").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_it_answers_errors_in_one_shape_with_a_request_id(api: APIClient, db: None) -> None:
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields", "request_id"}
    assert error["request_id"] == response["X-Request-ID"]
    missing = api.get("/api/v1/nothing-here/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("debug", [False, True])
def test_it_hides_tracebacks_from_clients(alice: User, settings: object, debug: bool) -> None:
    from django.urls import path

    import prixagent.api_urls as api_urls

    def boom(request: object) -> None:
        raise RuntimeError("internal detail /etc/secret-path")

    settings.DEBUG = debug
    api_urls.urlpatterns.append(path("boom/", boom))
    try:
        client = Client(raise_request_exception=False)
        response = client.get("/api/v1/boom/")
    finally:
        api_urls.urlpatterns.pop()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert b"secret-path" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize(
    ("path", "surface"),
    [
        ("/", "landing"),
        ("/pricing", "landing"),
        ("/app/login/", "client"),
        ("/admin/", "admin"),
        ("/api/v1/me/", "api"),
        ("/webhooks/twilio/x", "api"),
        ("/healthz", None),
        ("/static/x.css", None),
    ],
)
def test_it_maps_paths_to_surfaces(path: str, surface: str | None) -> None:
    assert surface_for_path(path) == surface


def test_a_surface_answers_404_for_the_others(client: Client, db: None, settings: object) -> None:
    settings.SURFACE = "api"
    assert client.get("/admin/login/").status_code == 404
    assert client.get("/app/login/").status_code == 404
    assert client.get("/").status_code == 404
    assert client.get("/api/v1/config/").status_code == 200
    assert client.get("/healthz").status_code == 200
    settings.SURFACE = "landing"
    assert client.get("/admin/login/").status_code == 404
    assert client.get("/api/v1/config/").status_code == 404
    assert client.get("/").status_code == 200
    settings.SURFACE = "admin"
    assert client.get("/admin/login/").status_code == 200


def test_healthz_checks_database_and_broker(client: Client, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_reports_a_broker_that_is_down(client: Client, db: None, settings: object) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_it_allows_cors_from_configured_origins_only(client: Client, db: None, settings: object) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:3001"]
    ok = client.options(
        "/api/v1/config/", HTTP_ORIGIN="http://localhost:3001", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert ok["Access-Control-Allow-Origin"] == "http://localhost:3001"
    other = client.options("/api/v1/config/", HTTP_ORIGIN="http://evil.test", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "Access-Control-Allow-Origin" not in other


def test_public_config_names_api_and_ws_urls(api: APIClient, db: None, settings: object) -> None:
    body = api.get("/api/v1/config/").json()
    assert body == {"api_url": settings.API_URL, "ws_url": settings.WS_URL, "languages": ["en", "es"]}


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)


def test_log_filter_scrubs_passwords_tokens_headers_and_known_secrets() -> None:
    remember_secret("tenant-secret-canary-123")
    record = _record(
        "login password=%s auth=%s key=%s header Authorization: Bearer abcdefghijk",
        "hunter2hunter2",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "tenant-secret-canary-123",
    )
    RedactSecretsFilter().filter(record)
    text = record.getMessage()
    for secret in ("hunter2hunter2", "eyJhbGciOiJIUzI1NiJ9", "tenant-secret-canary-123", "abcdefghijk"):
        assert secret not in text


def test_log_filter_stops_forged_lines() -> None:
    record = _record("user said %s", "hi\n2026-01-01 INFO fake line")
    RedactSecretsFilter().filter(record)
    assert "\n" not in record.getMessage()


def test_log_file_gets_request_ids_and_no_secrets(api: APIClient, alice: User, settings: object) -> None:
    log_file = Path(settings.LOG_FILE_PATH) / "prixagent.log"
    start = log_file.stat().st_size if log_file.exists() else 0
    generated = api.post("/api/v1/auth/token/", {"email": alice.email, "password": "wrong-password-canary"})
    kept = api.post(
        "/api/v1/auth/token/",
        {"email": alice.email, "password": "wrong-password-canary"},
        HTTP_X_REQUEST_ID="client-chosen-id-0042",
    )
    logging.getLogger("prixagent.test").warning("token=%s", "visible-only-as-redacted")
    for handler in logging.getLogger().handlers:
        handler.flush()
    with log_file.open(encoding="utf-8") as f:
        f.seek(start)
        content = f.read()
    assert kept["X-Request-ID"] == "client-chosen-id-0042"
    for response in (generated, kept):
        request_id = response["X-Request-ID"]
        lines = [line for line in content.splitlines() if f"[{request_id}]" in line]
        assert any("login failed" in line for line in lines), request_id  # the request's own log line
    assert generated["X-Request-ID"] != kept["X-Request-ID"]
    assert "visible-only-as-redacted" not in content
    assert "wrong-password-canary" not in content
    assert "[-] prixagent.test: token=[redacted]" in content  # outside a request: "-"


def test_it_logs_security_events_without_passwords(
    api: APIClient, alice: User, client: Client, caplog: pytest.LogCaptureFixture, settings: object
) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 3
    with caplog.at_level(logging.INFO, logger="prixagent.security"):
        api.post("/api/v1/auth/token/", {"email": alice.email, "password": "wrong-password-canary"})
        api.post("/api/v1/auth/token/", {"email": alice.email, "password": PASSWORD})
        client.post("/app/login/", {"username": alice.email, "password": PASSWORD})
        # The dashboard login spent the last attempt of the budget the API shares.
        assert api.post("/api/v1/auth/token/", {"email": alice.email, "password": PASSWORD}).status_code == 429
    lines = [r.getMessage() for r in caplog.records if r.name == "prixagent.security"]
    assert any(line.startswith("login failed: email='alice@example.com' via=api") for line in lines)
    assert any(line.startswith(f"login ok: user={alice.pk} account=alice-co via=api") for line in lines)
    assert any(line.startswith(f"login ok: user={alice.pk} account=alice-co via=dashboard") for line in lines)
    assert any(line.startswith("login attempts exhausted: ip=127.0.0.1") for line in lines)
    assert not any("wrong-password-canary" in line or PASSWORD in line for line in lines)


def test_private_responses_are_never_cached(alice_api: APIClient, client: Client, alice: User) -> None:
    assert "no-store" in alice_api.get("/api/v1/me/")["Cache-Control"]
    client.force_login(alice)
    assert "no-store" in client.get("/app/")["Cache-Control"]
    assert "no-store" not in client.get("/").get("Cache-Control", "")
