"""ASGI entry point. A bad .env stops it with one line, like wsgi.py."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")

from prixagent.config import ConfigError  # noqa: E402

try:
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
    from prixagent.keycheck import require_keys_in_use_are_configured

    require_keys_in_use_are_configured()
except ConfigError as exc:
    sys.stderr.write(f"PrixAgent configuration error: {exc}\n")
    raise SystemExit(2) from None
