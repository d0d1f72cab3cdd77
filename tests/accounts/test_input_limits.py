"""Inputs that used to end in a 500: over-long names and emails on every account/user input,
and the account `settings` JSON (schema, size, NUL, lone surrogates, deep nesting)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Account, User
from tests.conftest import PASSWORD

LONG = "x" * 300
LONG_EMAIL = f"{'a' * 290}@example.com"


def assert_400(response: Any, field: str | None = None) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields", "request_id"}
    if field and error["code"] != "parse_error":
        # The JSON parser refuses NUL, lone surrogates and deep nesting anywhere in the body
        # before any field is looked at (prixagent.parsers); other problems are field errors.
        assert field in error["fields"], error


@pytest.mark.parametrize(("field", "value"), [("account_name", LONG), ("name", LONG), ("email", LONG_EMAIL)])
def test_register_refuses_long_values(api: APIClient, db: None, field: str, value: str) -> None:
    body = {"account_name": "Acme", "email": "o@acme.test", "password": "a fine long password", field: value}
    assert_400(api.post("/api/v1/auth/register/", body), field)


def test_token_obtain_with_a_long_email_is_a_plain_401(api: APIClient, db: None) -> None:
    assert api.post("/api/v1/auth/token/", {"email": LONG_EMAIL, "password": "x"}).status_code == 401


def test_me_refuses_a_long_name(alice_api: APIClient) -> None:
    assert_400(alice_api.patch("/api/v1/me/", {"name": LONG}), "name")


@pytest.mark.parametrize(("field", "value"), [("name", LONG), ("email", LONG_EMAIL)])
def test_account_refuses_long_values(alice_api: APIClient, alice: User, field: str, value: str) -> None:
    assert_400(alice_api.patch("/api/v1/account/", {field: value}, format="json"), field)


@pytest.mark.parametrize(("field", "value"), [("name", LONG), ("email", LONG_EMAIL)])
def test_invitations_refuse_long_values(alice_api: APIClient, field: str, value: str) -> None:
    body = {"email": "new@example.com", field: value}
    assert_400(alice_api.post("/api/v1/account/users/", body), field)


def test_member_update_refuses_a_long_name(alice_api: APIClient, bob: User) -> None:
    assert_400(alice_api.patch(f"/api/v1/account/users/{bob.pk}/", {"name": LONG}), "name")


@pytest.mark.parametrize("value", ["a\x00b", "bad\ud800"])
def test_text_fields_refuse_nul_and_lone_surrogates(alice_api: APIClient, value: str) -> None:
    body = json.dumps({"name": value}, ensure_ascii=True)
    response = alice_api.patch("/api/v1/account/", body, content_type="application/json")
    assert_400(response, "name")


@pytest.mark.parametrize(
    "payload",
    [
        '{"settings": {"note": "a\\u0000b"}}',
        '{"settings": {"note": "\\ud800"}}',
        '{"settings": {"a\\u0000": 1}}',
        '{"settings": ["not", "an", "object"]}',
        '{"settings": {"Bad Key!": 1}}',
        '{"settings": {"deep": ' + "[" * 50 + "]" * 50 + "}}",
        '{"settings": {"big": "' + "x" * 1999 + '", "bigger": ' + json.dumps(["y" * 1999] * 10) + "}}",
        '{"settings": {"long": "' + "x" * 2001 + '"}}',
        '{"settings": {' + ", ".join(f'"k{i}": {i}' for i in range(101)) + "}}",
    ],
)
def test_settings_have_a_schema_and_a_size_limit(alice_api: APIClient, alice: User, payload: str) -> None:
    response = alice_api.patch("/api/v1/account/", payload, content_type="application/json")
    assert_400(response, "settings")
    alice.account.refresh_from_db()
    assert alice.account.settings == {}


def test_good_settings_are_stored(alice_api: APIClient, alice: User) -> None:
    settings = {"call_window": {"start": "09:00", "end": "18:00"}, "voicemail": True, "retries": [1, 2.5, None]}
    response = alice_api.patch("/api/v1/account/", {"settings": settings}, format="json")
    assert response.status_code == 200, response.content
    alice.account.refresh_from_db()
    assert alice.account.settings == settings


@pytest.mark.parametrize(("field", "value"), [("account_name", LONG), ("name", LONG), ("email", LONG_EMAIL)])
def test_dashboard_signup_refuses_long_values(client: Client, db: None, field: str, value: str) -> None:
    body = {"account_name": "Acme", "email": "o@acme.test", "password": PASSWORD, field: value}
    response = client.post("/app/signup/", body)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Account.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("name", LONG), ("email", LONG_EMAIL)])
def test_dashboard_invite_refuses_long_values(alice: User, field: str, value: str) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post("/app/team/invite/", {"email": "n@example.com", "role": "member", field: value})
    assert response.status_code == 400
    assert field in response.context["invite_form"].errors
