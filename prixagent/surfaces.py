"""Which URL paths belong to which surface, and keeping each surface to its own paths.

`make run` serves every surface from one process (SURFACE "all"). In production each
surface can run on its own port (`manage.py serve admin` → ADMIN_PORT), and then the
others' paths answer 404, so the admin is unreachable on the public ports. A production
process started without PRIXAGENT_SURFACE serves "public": everything but the admin.

The middleware sits after SecurityMiddleware (and the CSP middleware), so the 404 it
answers for another surface's path carries the same security headers as every other page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

SURFACES = ("landing", "client", "admin", "agency", "api")
PUBLIC_SURFACES = frozenset(SURFACES) - {"admin"}
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


def serves(served: str, owner: str | None) -> bool:
    """Whether a process serving `served` answers a path owned by `owner`."""
    if served == "all" or owner is None:
        return True
    if served == "public":
        return owner in PUBLIC_SURFACES
    return owner == served


class SurfaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not serves(settings.SURFACE, surface_for_path(request.path)):
            raise Http404("Not served on this port")
        return self.get_response(request)
