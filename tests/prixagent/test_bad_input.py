"""Hostile or broken input gets a 4xx in the one error shape, never a 500 with a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client
from django.test.client import encode_multipart
from django.utils import translation
from rest_framework.exceptions import ErrorDetail
from rest_framework.test import APIClient

from accounts.models import User
from prixagent.errors import _flatten

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]


def assert_error(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response["X-Request-ID"]
    assert "ErrorDetail" not in response.content.decode() and "Traceback" not in response.content.decode()
    return error


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [40, 3_000, 100_000])
def test_a_deeply_nested_body_is_a_400_even_before_login(db: None, no_tracebacks: None, depth: int) -> None:
    response = Client().post(TOKEN_URL, nested(depth), content_type="application/json")
    assert "nested too deeply" in assert_error(response, 400, "parse_error")["message"]


@pytest.mark.parametrize("url", [TOKEN_URL, "/api/v1/auth/register/", "/api/v1/auth/token/refresh/"])
def test_a_body_over_the_upload_limit_is_a_413_on_throttled_endpoints(
    db: None, no_tracebacks: None, settings: object, url: str
) -> None:
    body = json.dumps({"email": "a@example.com", "password": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert_error(Client().post(url, body, content_type="application/json"), 413, "too_large")


def test_an_oversized_multipart_field_is_a_413(db: None, no_tracebacks: None, settings: object) -> None:
    # Multipart passes the guard (files may be large); Django raises RequestDataTooBig inside DRF.
    body = encode_multipart("BoUnDaRy", {"email": "a@example.com", "password": "x" * 3_000_000})
    response = Client().post(TOKEN_URL, body, content_type="multipart/form-data; boundary=BoUnDaRy")
    assert_error(response, 413, "too_large")


def test_a_body_over_the_upload_limit_is_a_413_for_a_logged_in_user(
    alice_api: APIClient, no_tracebacks: None, settings: object
) -> None:
    body = json.dumps({"api_key": "k" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = alice_api.put("/api/v1/integrations/elevenlabs/", body, content_type="application/json")
    assert_error(response, 413, "too_large")


def test_a_dashboard_form_over_the_upload_limit_is_a_413(db: None, no_tracebacks: None, settings: object) -> None:
    response = Client().post("/app/login/", {"username": "a@example.com", "password": "y" * 3_000_000})
    assert response.status_code == 413


@pytest.mark.parametrize("query", ["provider=%00", "provider=twilio%00", "%00=1"])
def test_a_nul_in_a_query_parameter_is_a_400(alice_api: APIClient, no_tracebacks: None, query: str) -> None:
    assert_error(alice_api.get(f"/api/v1/integrations/events/?{query}"), 400, "bad_request")


def test_a_nul_in_a_dashboard_query_is_a_400(alice: User, no_tracebacks: None) -> None:
    client = Client()
    client.force_login(alice)
    assert client.get("/app/integrations/?x=%00").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        '{"settings": {"greeting": "hi\\u0000there"}}',
        '{"settings": {"greeting": "\\ud800"}}',
        '{"settings": {"\\udfff": 1}}',
        '{"settings": {"k\\u0000": 1}}',
        '{"settings": ' + nested(3_000) + "}",
        '{"settings": ' + nested(40) + "}",
    ],
)
def test_unstorable_text_and_deep_nesting_in_json_fields_are_a_400(
    alice_api: APIClient, no_tracebacks: None, body: str
) -> None:
    assert_error(alice_api.patch("/api/v1/account/", body, content_type="application/json"), 400, "parse_error")


@pytest.mark.parametrize("body", ['{"name": "a\\u0000b"}', '{"name": "\\ud83d"}'])
def test_unstorable_text_in_any_field_is_a_400(alice_api: APIClient, no_tracebacks: None, body: str) -> None:
    assert_error(alice_api.patch("/api/v1/me/", body, content_type="application/json"), 400, "parse_error")


def test_error_messages_never_show_python_reprs(db: None) -> None:
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer not-a-token")
    error = assert_error(response, 401, "token_not_valid")
    assert error["message"] == "Given token not valid for any token type"


def test_nested_validation_errors_flatten_to_strings() -> None:
    detail = {
        "settings": {"hours": [ErrorDetail("A valid integer is required.", code="invalid")]},
        "items": [{}, {"name": [ErrorDetail("This field is required.", code="required")]}],
        "tags": [ErrorDetail("Not a valid string.", code="invalid")],
        "non_field_errors": [ErrorDetail("Bad.", code="invalid")],
    }
    assert _flatten(detail) == {
        "settings.hours": ["A valid integer is required."],
        "items.1.name": ["This field is required."],
        "tags": ["Not a valid string."],
        "non_field_errors": ["Bad."],
    }
    assert _flatten([ErrorDetail("Expected a dict.", code="invalid")]) == {"non_field_errors": ["Expected a dict."]}


@pytest.fixture
def english_afterwards() -> Iterator[None]:
    yield
    translation.activate("en")


def test_the_new_messages_speak_spanish(
    alice_api: APIClient, provider_sandbox: object, english_afterwards: None
) -> None:
    nested_body = '{"settings": ' + nested(40) + "}"
    r = alice_api.patch("/api/v1/account/", nested_body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="es")
    assert "demasiados niveles" in r.json()["error"]["message"]
    payload = {"account_sid": "ACxyz", "auth_token": "0" * 32}
    r = alice_api.put("/api/v1/integrations/twilio/", payload, format="json", HTTP_ACCEPT_LANGUAGE="es")
    assert r.json()["error"]["fields"]["account_sid"] == [
        "Account SID no válido: se esperaba AC seguido de 32 caracteres hexadecimales."
    ]
