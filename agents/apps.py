from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Outbox handlers and periodic tasks register themselves on import.
        from agents import tasks  # noqa: F401
