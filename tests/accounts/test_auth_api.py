"""JWT auth: the happy path and every refusal case the issue lists."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, User
from accounts.tokens import RefreshToken
from tests.conftest import PASSWORD


def obtain(api: APIClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = api.post("/api/v1/auth/token/", {"email": email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def me_with(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/me/").status_code


def forge(claims: dict[str, object], key: str | None = None, alg: str = "HS256") -> str:
    return pyjwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=alg)


def access_claims(user: User) -> dict[str, object]:
    return pyjwt.decode(
        str(RefreshToken.for_user(user).access_token),
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithms=["HS256"],
        audience=settings.SIMPLE_JWT["AUDIENCE"],
    )


def test_it_registers_a_business_and_answers_without_tokens(
    api: APIClient, db: None, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/auth/register/",
            {"account_name": "Café Olé", "email": "Owner@Cafe.test", "password": "a fine long password"},
        )
    assert response.status_code == 202
    assert set(response.json()) == {"detail"}
    user = User.objects.get(email="owner@cafe.test")
    assert (user.role, user.account.slug, user.account.email_verified) == ("owner", "cafe-ole", False)
    assert obtain(api, "owner@cafe.test", "a fine long password")["access"]


def test_it_explains_every_bad_registration_field(api: APIClient, alice: User) -> None:
    response = api.post("/api/v1/auth/register/", {"account_name": "", "email": "nope", "password": ""})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"account_name", "email", "password"}


def test_it_refuses_a_weak_password(api: APIClient, alice: User) -> None:
    r = api.post("/api/v1/auth/register/", {"account_name": "X", "email": "new@example.com", "password": "password"})
    assert r.status_code == 400 and "password" in r.json()["error"]["fields"]
    assert Account.objects.count() == 1


def test_it_keeps_slugs_unique(api: APIClient, db: None) -> None:
    for i in range(2):
        api.post(
            "/api/v1/auth/register/",
            {"account_name": "Acme", "email": f"o{i}@acme.test", "password": "a fine long password"},
        )
    assert sorted(Account.objects.values_list("slug", flat=True)) == ["acme", "acme-2"]


def test_it_issues_tokens_with_issuer_audience_and_lifetimes(api: APIClient, alice: User) -> None:
    tokens = obtain(api, "ALICE@example.com")
    claims = pyjwt.decode(
        tokens["access"],
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithms=["HS256"],
        audience=settings.SIMPLE_JWT["AUDIENCE"],
    )
    assert claims["iss"] == settings.SIMPLE_JWT["ISSUER"]
    assert claims["exp"] - claims["iat"] == settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    alice.refresh_from_db()
    assert alice.last_login is not None and alice.account.last_login is not None


def test_it_signs_refresh_tokens_with_the_refresh_secret(api: APIClient, alice: User) -> None:
    refresh = obtain(api, alice.email)["refresh"]
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(
            refresh, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"], audience=settings.SIMPLE_JWT["AUDIENCE"]
        )
    pyjwt.decode(refresh, settings.JWT_REFRESH_SECRET, algorithms=["HS256"], audience=settings.SIMPLE_JWT["AUDIENCE"])


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(api: APIClient, alice: User) -> None:
    wrong_password = api.post("/api/v1/auth/token/", {"email": alice.email, "password": "nope nope nope"})
    unknown_user = api.post("/api/v1/auth/token/", {"email": "ghost@example.com", "password": "nope nope nope"})
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json()["error"]["message"] == unknown_user.json()["error"]["message"]


def test_it_refuses_the_wrong_issuer(alice: User) -> None:
    assert me_with(forge({**access_claims(alice), "iss": "someone-else"})) == 401


def test_it_refuses_the_wrong_audience(alice: User) -> None:
    assert me_with(forge({**access_claims(alice), "aud": "another-app"})) == 401


def test_it_refuses_an_expired_token(alice: User) -> None:
    past = int((timezone.now() - timedelta(minutes=5)).timestamp())
    assert me_with(forge({**access_claims(alice), "exp": past})) == 401


def test_it_refuses_alg_none(alice: User) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(access_claims(alice)).encode()).rstrip(b"=").decode()
    assert me_with(f"{header}.{payload}.") == 401


def test_it_refuses_a_bad_signature(alice: User) -> None:
    assert me_with(forge(access_claims(alice), key="not-the-key-" * 4)) == 401


def test_it_refuses_a_refresh_token_used_as_access(api: APIClient, alice: User) -> None:
    assert me_with(obtain(api, alice.email)["refresh"]) == 401


def test_it_rotates_refresh_tokens_and_refuses_reuse(api: APIClient, alice: User) -> None:
    refresh = obtain(api, alice.email)["refresh"]
    first = api.post("/api/v1/auth/token/refresh/", {"refresh": refresh})
    assert first.status_code == 200
    assert first.json()["refresh"] != refresh
    assert me_with(first.json()["access"]) == 200
    again = api.post("/api/v1/auth/token/refresh/", {"refresh": refresh})
    assert again.status_code == 401


def test_it_refuses_an_access_token_as_refresh(api: APIClient, alice: User) -> None:
    access = obtain(api, alice.email)["access"]
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": access}).status_code == 401


def test_it_revokes_the_refresh_token_on_logout(api: APIClient, alice: User) -> None:
    refresh = obtain(api, alice.email)["refresh"]
    assert api.post("/api/v1/auth/logout/", {"refresh": refresh}).status_code == 205
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": refresh}).status_code == 401


def test_it_revokes_tokens_when_the_password_changes(api: APIClient, alice: User) -> None:
    access = obtain(api, alice.email)["access"]
    alice.set_password("a brand new long password")
    alice.save()
    assert me_with(access) == 401


def test_it_refuses_tokens_of_a_deactivated_user(api: APIClient, alice: User) -> None:
    access = obtain(api, alice.email)["access"]
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert me_with(access) == 401


def test_it_updates_me(alice_api: APIClient, alice: User) -> None:
    response = alice_api.patch("/api/v1/me/", {"name": "Alice A.", "role": "member", "email": "x@y.z"})
    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.name, alice.role, alice.email) == ("Alice A.", "owner", "alice@example.com")


def test_it_serves_the_openapi_schema_and_docs(api: APIClient, db: None) -> None:
    schema = api.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/auth/register/",
        "/api/v1/auth/token/",
        "/api/v1/auth/token/refresh/",
        "/api/v1/auth/logout/",
        "/api/v1/me/",
        "/api/v1/account/",
        "/api/v1/account/users/",
    ):
        assert path in paths
    docs = api.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_it_hashes_passwords_with_argon2(api: APIClient, db: None) -> None:
    api.post(
        "/api/v1/auth/register/",
        {"account_name": "Hash Co", "email": "h@hash.test", "password": "a fine long password"},
    )
    user = User.objects.get(email="h@hash.test")
    assert user.password.startswith("argon2$")
    assert "a fine long password" not in user.password
