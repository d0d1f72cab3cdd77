"""The platform's WSGI app plus two yardsticks, in one process, for bench/api_stack.py.

- `/bench/minimal/`: a minimal Django JSON view: Django's own request handling (WSGIRequest,
  request signals, URL resolution, JsonResponse) with no middleware at all.
- `/bench/bare/`: the same trivial view behind the platform's full middleware stack.
- everything else: the platform itself (`/api/v1/...`).

Same process, same gunicorn worker, so the ratios isolate what the stack costs per request.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")

from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from prixagent.wsgi import application as platform  # noqa: E402  (sets Django up)

# isort: split
import prixagent.urls  # noqa: E402  (needs the apps loaded)

MINIMAL_PREFIX = "/bench/minimal/"


class MinimalHandler(WSGIHandler):
    """Django's WSGI handler without any middleware, resolving against bench/minimal_urls.py."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request: HttpRequest) -> Any:
        request.urlconf = "minimal_urls"
        return super().get_response(request)


minimal = MinimalHandler()


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


prixagent.urls.urlpatterns.insert(0, path("bench/bare/", bare))


def application(environ: dict[str, Any], start_response: Any) -> Any:
    if environ.get("PATH_INFO", "").startswith(MINIMAL_PREFIX):
        return minimal(environ, start_response)
    return platform(environ, start_response)
