"""ASGI entry point: HTTP (Django) and the live-events WebSocket (Channels). A bad .env stops
it with one line.

WebSocket handshakes must come from an allowed host (`AllowedHostsOriginValidator`: a page on
another site cannot open a socket with the user's session cookie).
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

from prixagent.startup import start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")


def _application() -> Any:
    django_app = get_asgi_application()  # sets Django up before the routing imports models
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from realtime.routing import websocket_urlpatterns

    return ProtocolTypeRouter(
        {
            "http": django_app,
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )


application = start(_application)
