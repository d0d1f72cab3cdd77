"""Plain Django views on API paths (webhooks, the recording proxy) answer Http404 and
PermissionDenied in the one error shape, not as a 500; a real bug is still a generic 500."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.urls import path


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such recording")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals")


urlpatterns = [
    path("api/v1/test-missing/", missing),
    path("webhooks/test-forbidden/", forbidden),
    path("api/v1/test-broken/", broken),
]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [("/api/v1/test-missing/", 404, "not_found"), ("/webhooks/test-forbidden/", 403, "permission_denied")],
)
def test_plain_views_answer_in_the_error_shape(url: str, status: int, code: str) -> None:
    response = Client(raise_request_exception=False).get(url)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_bug_is_still_a_generic_500() -> None:
    response = Client(raise_request_exception=False).get("/api/v1/test-broken/")
    assert response.status_code == 500
    assert "secret internals" not in response.content.decode()
    assert response.json()["error"]["code"] == "server_error"
