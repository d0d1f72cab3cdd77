"""Emails without oracles: sign-up, password reset and account email changes answer the same
for known and unknown addresses, do the same work on the request path, send their links from
APP_URL (never the Host header), and an address counts only once its owner confirmed it."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Account, User
from tests.conftest import PASSWORD

SIGNUP = {"account_name": "Nueva", "email": "owner@nueva.test", "password": "a fine long password"}


def link_in(message: Any, path: str) -> str:
    match = re.search(re.escape(settings.APP_URL) + r"(" + re.escape(path) + r"\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def normalised(queries: list[dict[str, str]]) -> list[str]:
    """The shape of each SQL statement, without its literal values."""
    return [re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"]) for q in queries]


# --- sign-up -----------------------------------------------------------------------------------


def test_signup_answers_the_same_for_a_known_email(
    api: APIClient, alice: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        known = api.post("/api/v1/auth/register/", {**SIGNUP, "email": "ALICE@example.com"})
        new = api.post("/api/v1/auth/register/", SIGNUP)
    assert known.status_code == new.status_code == 202
    assert known.json() == new.json()
    assert Account.objects.count() == 2  # Alice Co and Nueva; nothing for the known address
    by_address = {m.to[0]: m for m in mail.outbox}
    assert "already has a PrixAgent login" in by_address["alice@example.com"].body
    assert "/app/email/confirm/" in by_address["owner@nueva.test"].body


def test_dashboard_signup_answers_the_same_for_a_known_email(client: Client, alice: User) -> None:
    known = client.post("/app/signup/", {**SIGNUP, "email": "alice@example.com"})
    new = Client().post("/app/signup/", SIGNUP)
    assert (known.status_code, known.url) == (new.status_code, new.url) == (302, "/app/signup/sent/")
    assert "sessionid" not in known.cookies and "sessionid" not in new.cookies


def test_signup_confirms_the_email_then_providers_can_be_connected(
    api: APIClient, db: None, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/register/", SIGNUP)
    account = Account.objects.get(email="owner@nueva.test")
    assert not account.email_verified
    link = link_in(mail.outbox[0], "/app/email/confirm/")
    browser = Client()
    page = browser.get(link)  # a link scanner's GET changes nothing
    assert page.status_code == 200
    account.refresh_from_db()
    assert not account.email_verified
    assert browser.post(link).status_code == 302
    account.refresh_from_db()
    assert account.email_verified
    assert account.audit_events.filter(action="account.email_verified").exists()


def test_a_forged_confirmation_link_does_nothing(db: None) -> None:
    response = Client().post("/app/email/confirm/not-a-token/")
    assert response.status_code == 400
    assert "invalid or has expired" in response.content.decode()


# --- changing the account email -------------------------------------------------------------------


def test_an_email_change_waits_for_the_new_address_to_confirm(
    alice_api: APIClient, alice: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.patch("/api/v1/account/", {"email": "billing@alice.test"})
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["pending_email"]) == ("alice@example.com", "billing@alice.test")
    account = Account.objects.get(pk=alice.account_id)
    assert account.email == "alice@example.com"
    # Until confirmed, the address is not taken: its owner can still sign up with it.
    assert not Account.objects.filter(email="billing@alice.test").exists()
    [message] = mail.outbox
    assert message.to == ["billing@alice.test"]
    assert Client().post(link_in(message, "/app/email/confirm/")).status_code == 302
    account.refresh_from_db()
    assert (account.email, account.pending_email) == ("billing@alice.test", "")


def test_an_email_change_to_an_address_in_use_answers_the_same(
    alice_api: APIClient, alice: User, charlie: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        taken = alice_api.patch("/api/v1/account/", {"email": "charlie@example.com"})
    with django_capture_on_commit_callbacks(execute=True):
        free = alice_api.patch("/api/v1/account/", {"email": "free@example.com"})
    assert taken.status_code == free.status_code == 200
    messages = {m.to[0]: m.body for m in mail.outbox}
    assert "already belongs to another PrixAgent account" in messages["charlie@example.com"]
    assert "/app/email/confirm/" not in messages["charlie@example.com"]
    assert "/app/email/confirm/" in messages["free@example.com"]


def test_the_platform_admins_email_cannot_be_squatted(alice_api: APIClient, alice: User, db: None) -> None:
    User.objects.create_superuser("ops@prixagent.test", "operator pass phrase 2024")
    alice_api.patch("/api/v1/account/", {"email": "ops@prixagent.test"})
    assert not Account.objects.filter(email="ops@prixagent.test").exists()


# --- password reset ----------------------------------------------------------------------------------


def reset(client: Client, email: str, **extra: str) -> Any:
    return client.post("/app/password/reset/", {"email": email}, **extra)


def test_the_reset_link_comes_from_app_url_not_the_host_header(
    alice: User, settings: Any, django_capture_on_commit_callbacks
) -> None:
    settings.APP_URL = "https://app.prixagent.test"
    with django_capture_on_commit_callbacks(execute=True):
        reset(Client(), alice.email, HTTP_HOST="localhost:6666")
    [message] = mail.outbox
    assert "localhost:6666" not in message.body
    assert "https://app.prixagent.test/app/password/reset/" in message.body


def test_a_reset_does_the_same_work_for_a_known_and_an_unknown_email(
    alice: User, django_capture_on_commit_callbacks
) -> None:
    shapes, callbacks = [], []
    for email in (alice.email, "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as queued:
            response = reset(Client(), email)
        assert (response.status_code, response.url) == (302, "/app/password/reset/sent/")
        shapes.append(normalised(queries.captured_queries))
        callbacks.append(len(queued))
    assert shapes[0] == shapes[1]  # no lookup of the address on the request path
    assert callbacks == [1, 1]  # one queued task each: the email is sent off the request path
    assert mail.outbox == []


def test_password_resets_are_throttled_per_ip(alice: User, settings: Any) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 2
    client = Client()
    assert [reset(client, f"n{i}@example.com").status_code for i in range(3)] == [302, 302, 429]
    # The per-IP budget is the login one: the dashboard login is refused too.
    assert client.post("/app/login/", {"username": alice.email, "password": PASSWORD}).status_code == 429


def test_password_resets_are_throttled_per_email(alice: User, settings: Any) -> None:
    codes = [reset(Client(REMOTE_ADDR=f"198.51.100.{i}"), alice.email).status_code for i in range(4)]
    assert codes == [302] * settings.PASSWORD_RESETS_PER_EMAIL + [429]


def test_a_reset_link_ends_earlier_sessions(alice: User, django_capture_on_commit_callbacks) -> None:
    tokens = APIClient().post("/api/v1/auth/token/", {"email": alice.email, "password": PASSWORD}).json()
    with django_capture_on_commit_callbacks(execute=True):
        reset(Client(), alice.email)
    client = Client()
    r = client.get(link_in(mail.outbox[0], "/app/password/reset/"))
    client.post(r.url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    refused = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refused.status_code == 401
