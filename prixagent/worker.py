"""The Celery entry point for workers and beat: `celery -A prixagent.worker worker`.

Like manage.py, gunicorn and the ASGI app, a bad .env stops it with one line (instead of a
traceback from deep inside Celery's start-up), and a stored secret sealed with a key that is no
longer configured stops it before it takes any task.
"""

from __future__ import annotations

import os

from celery import Celery

from prixagent.startup import start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")


def _app() -> Celery:
    import django

    django.setup()  # loads and validates .env; LOGGING (with the secret scrubber) is applied here
    from prixagent.celery import app

    return app


app = start(_app)
