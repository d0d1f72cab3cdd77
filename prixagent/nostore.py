"""`Cache-Control: no-store` on every API and dashboard response.

These pages and payloads are per-user (and the integration pages show credential hints), so
neither a shared proxy nor the browser's back/forward cache may keep them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

PRIVATE_PREFIXES = ("/api/", "/app/", "/admin/", "/webhooks/")


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PRIVATE_PREFIXES) and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_vary_headers(response, ("Authorization", "Cookie"))
        return response
