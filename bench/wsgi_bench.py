"""The platform's WSGI app plus one bare Django JSON view, for bench/api_me.py.

Both endpoints are served by the same process, so the ratio isolates what our stack
(middleware, JWT auth, tenant permission, throttle, serializer) costs per request.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

application = get_wsgi_application()

import prixagent.urls  # noqa: E402


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


prixagent.urls.urlpatterns.insert(0, path("bench/bare/", bare))
