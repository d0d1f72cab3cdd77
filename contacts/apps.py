from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox finds its GoHighLevel handlers only once this module is imported.
        from contacts import ghl_sync  # noqa: F401
