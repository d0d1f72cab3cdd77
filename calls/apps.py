from django.apps import AppConfig


class CallsConfig(AppConfig):
    """Phone calls: placing them on the tenant's Twilio, the provider webhooks that follow them,
    outcomes, recordings, tenant webhooks. Its tasks.py (recovery, reconciliation, deliveries,
    outbox handlers) is loaded by prixagent's start-up like every app's; `ready` connects the
    receivers that keep inbound numbers pointed at us."""

    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from calls import receivers  # noqa: F401 - connects signal receivers
