"""Ending sessions: logout with bad tokens, the refresh path's revocation rules, and
"log out everywhere" (refresh tokens, access tokens and dashboard sessions)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD


def obtain(email: str, password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post("/api/v1/auth/token/", {"email": email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refresh(token: str) -> object:
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": token})


def assert_error_shape(response: object, status: int) -> None:
    assert response.status_code == status, response.content
    assert set(response.json()["error"]) == {"code", "message", "fields", "request_id"}
    assert "ErrorDetail" not in response.content.decode()


# --- POST auth/logout/ with something that is not a refresh token ------------------------------------


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_logout_with_garbage_answers_in_the_error_shape(db: None, token: str) -> None:
    response = APIClient().post("/api/v1/auth/logout/", {"refresh": token})
    assert_error_shape(response, 400 if token == "" else 401)


def test_logout_with_an_access_token_is_refused(alice: User) -> None:
    access = obtain(alice.email)["access"]
    assert_error_shape(APIClient().post("/api/v1/auth/logout/", {"refresh": access}), 401)


# --- the refresh path ---------------------------------------------------------------------------


def test_refresh_tokens_issued_before_a_password_change_are_refused(alice: User) -> None:
    tokens = obtain(alice.email)
    alice.set_password("a brand new long password")
    alice.save()
    response = refresh(tokens["refresh"])
    assert_error_shape(response, 401)
    assert response.json()["error"]["code"] == "password_changed"


def test_a_refresh_token_of_a_deleted_user_is_refused(alice: User, olivia_owner: User) -> None:
    tokens = obtain(olivia_owner.email)
    olivia_owner.delete()
    assert_error_shape(refresh(tokens["refresh"]), 401)


def test_a_refresh_token_of_a_deactivated_user_is_refused(alice: User, bob: User) -> None:
    tokens = obtain(bob.email)
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert_error_shape(refresh(tokens["refresh"]), 401)


@pytest.fixture
def olivia_owner(alice: User) -> User:
    return User.objects.create_user("olivia@example.com", PASSWORD, account=alice.account, role=User.Role.OWNER)


# --- log out everywhere ---------------------------------------------------------------------------


def test_log_out_everywhere_ends_every_token_and_session(alice: User, caplog: pytest.LogCaptureFixture) -> None:
    phone, laptop = obtain(alice.email), obtain(alice.email)
    browser = Client()
    assert browser.post("/app/login/", {"username": alice.email, "password": PASSWORD}).status_code == 302
    assert browser.get("/app/").status_code == 200

    with caplog.at_level(logging.INFO, logger="prixagent.security"):
        response = bearer(phone["access"]).post("/api/v1/me/logout-everywhere/")
    assert response.status_code == 205

    for tokens in (phone, laptop):
        assert bearer(tokens["access"]).get("/api/v1/me/").status_code == 401
        assert refresh(tokens["refresh"]).status_code == 401
    assert browser.get("/app/").status_code == 302  # back to the login page
    # A new login works.
    assert bearer(obtain(alice.email)["access"]).get("/api/v1/me/").status_code == 200
    assert any(r.getMessage().startswith(f"logged out everywhere: user={alice.pk}") for r in caplog.records)
    assert AuditEvent.objects.filter(action="member.logged_out_everywhere", target=alice.email).exists()


def test_log_out_everywhere_from_the_dashboard(alice: User) -> None:
    tokens = obtain(alice.email)
    browser, other_browser = Client(), Client()
    for client in (browser, other_browser):
        client.post("/app/login/", {"username": alice.email, "password": PASSWORD})
    response = browser.post("/app/logout/everywhere/")
    assert response.status_code == 302 and response.url == "/app/login/"
    assert other_browser.get("/app/account/").status_code == 302
    assert browser.get("/app/account/").status_code == 302
    assert bearer(tokens["access"]).get("/api/v1/me/").status_code == 401


def test_log_out_everywhere_needs_a_post_with_csrf(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/app/logout/everywhere/").status_code == 405
    assert client.post("/app/logout/everywhere/").status_code == 403
    assert client.get("/app/").status_code == 200


def test_deactivating_a_member_ends_their_sessions(alice: User, bob: User) -> None:
    browser = Client()
    browser.post("/app/login/", {"username": bob.email, "password": PASSWORD})
    tokens = obtain(bob.email)
    owner = bearer(obtain(alice.email)["access"])
    assert owner.patch(f"/api/v1/account/users/{bob.pk}/", {"is_active": False}).status_code == 200
    assert browser.get("/app/").status_code == 302
    assert refresh(tokens["refresh"]).status_code == 401
