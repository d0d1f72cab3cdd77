from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """Voice agents: ElevenLabs agents kept in sync, their in-call tools. Its tasks.py (outbox
    handlers, periodic tasks) is loaded by prixagent's start-up like every app's."""

    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"
