from django.apps import AppConfig


class PrixagentConfig(AppConfig):
    """The platform itself: its management commands (serve, key rotation, security checks),
    the outbox, periodic tasks, and the start-up checks and signal handlers that are not any one
    domain's."""

    name = "prixagent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from prixagent import (
            keycheck,  # noqa: F401  (registers the start-up key check)
            security_log,  # noqa: F401  (security event log receivers)
        )

        # Every app's tasks.py registers its periodic tasks and outbox handlers at import: load
        # them in every process (web, worker, beat), not only where Celery autodiscovers.
        autodiscover_modules("tasks")
