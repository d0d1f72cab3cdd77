"""Template context every dashboard page needs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def realtime(request: HttpRequest) -> dict[str, str]:
    # One process serving everything (`make run`): the socket is on the page's own origin.
    # Surfaces on their own ports: the API surface serves /ws/ at WS_URL.
    return {"realtime_ws_url": "" if settings.SURFACE == "all" else settings.WS_URL}
