"""Which URL paths belong to which surface, and keeping each surface to its own paths.

`make run` serves every surface from one process (SURFACE "all"). In production each
surface can run on its own port (`manage.py serve admin` → ADMIN_PORT), and then the
others' paths answer 404, so the admin is unreachable on the public ports.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

SURFACES = ("landing", "client", "admin", "agency", "api")
# Paths every surface serves: static assets, health check, language switch.
SHARED_PREFIXES = ("/static/", "/healthz", "/i18n/")
PREFIXES = {
    "admin": ("/admin/",),
    "client": ("/app/",),
    "agency": ("/agency/",),
    "api": ("/api/", "/webhooks/", "/ws/"),
}


def surface_for_path(path: str) -> str | None:
    """The surface that owns `path`; None for shared paths; landing owns the rest."""
    if path.startswith(SHARED_PREFIXES):
        return None
    for surface, prefixes in PREFIXES.items():
        if path.startswith(prefixes):
            return surface
    return "landing"


class SurfaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        served = settings.SURFACE
        owner = surface_for_path(request.path)
        if served != "all" and owner is not None and owner != served:
            raise Http404("Not served on this port")
        return self.get_response(request)
