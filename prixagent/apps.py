from django.apps import AppConfig


class PrixagentConfig(AppConfig):
    """The platform itself: its management commands (serve, key rotation, security checks)
    and the start-up checks and signal handlers that are not any one domain's."""

    name = "prixagent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prixagent import (
            keycheck,  # noqa: F401  (registers the start-up key check)
            security_log,  # noqa: F401  (security event log receivers)
        )
