"""URLconf of the minimal Django JSON view (bench/wsgi_bench.py): the yardstick."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def minimal(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/minimal/", minimal)]
