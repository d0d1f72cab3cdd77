"""CSRF on every session-authenticated form: a POST without the token is refused (403) on
every dashboard route, the language switch and the admin, for a logged-in user; with the token
the same forms work, so the 403 is the CSRF check and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import User
from tests.integrations.integration_helpers import connect_payload
from tests.prixagent.test_route_inventory import dashboard_routes, sample_url

OTHER_FORMS = ["/i18n/setlang/", "/admin/login/", "/admin/logout/"]


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    translation.activate("en")  # the language switch below must not leak into later tests


@pytest.fixture
def strict(alice: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


@pytest.mark.parametrize("url", [sample_url(r) for r in dashboard_routes()] + OTHER_FORMS)
def test_a_post_without_the_csrf_token_is_refused(strict: Client, url: str) -> None:
    response = strict.post(url, {"language": "es", "username": "alice@example.com", "password": "x"})
    assert response.status_code == 403, url
    assert b"CSRF" in response.content


@pytest.mark.parametrize("url", ["/app/login/", "/app/signup/", "/app/password/reset/"])
def test_anonymous_forms_are_protected_too(db: None, url: str) -> None:
    assert Client(enforce_csrf_checks=True).post(url, {"email": "a@example.com"}).status_code == 403


def _token(client: Client, page: str) -> str:
    client.get(page)
    return client.cookies["csrftoken"].value


def test_the_same_forms_work_with_the_token(strict: Client, alice: User, provider_sandbox: Any) -> None:
    token = _token(strict, "/app/integrations/")
    payload = {**connect_payload(provider_sandbox, "elevenlabs"), "csrfmiddlewaretoken": token}
    assert strict.post("/app/integrations/elevenlabs/connect/", payload).status_code == 302
    assert strict.post("/app/integrations/elevenlabs/test/", {"csrfmiddlewaretoken": token}).status_code == 302
    lang = strict.post("/i18n/setlang/", {"language": "es", "next": "/app/", "csrfmiddlewaretoken": token})
    assert lang.status_code == 302
    alice.refresh_from_db()
    assert alice.language == "es"
    assert strict.post("/app/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
