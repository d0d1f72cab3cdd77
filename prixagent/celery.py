"""The Celery app. With no REDIS_URL tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")

app = Celery("prixagent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **kwargs: Any) -> None:
    # Periodic tasks are declared in each app's tasks.py (prixagent.periodic); by now Django is
    # set up and those modules are imported.
    from prixagent import periodic

    sender.conf.beat_schedule = periodic.beat_schedule()
