"""The Celery app. With no REDIS_URL tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")

app = Celery("prixagent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
