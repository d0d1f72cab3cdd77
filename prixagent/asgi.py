"""ASGI entry point. A bad .env stops it with one line."""

import os

from django.core.asgi import get_asgi_application

from prixagent.startup import start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")
application = start(get_asgi_application)
