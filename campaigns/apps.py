from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Outbound calling campaigns and the dialer that places their calls (on Celery, or in-process
    without a broker). Its tasks.py (the dialer's tick and tasks) is loaded by prixagent's start-up
    like every app's; `ready` connects the receivers that move a campaign contact forward when its
    call ends and pause campaigns of a suspended account."""

    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns import receivers  # noqa: F401 - connects signal receivers
