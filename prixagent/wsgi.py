"""WSGI entry point (gunicorn prixagent.wsgi). A bad .env stops it with one line."""

import os

from django.core.wsgi import get_wsgi_application

from prixagent.startup import start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")
application = start(get_wsgi_application)
