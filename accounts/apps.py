from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.principal import connect_signals

        connect_signals()  # changes to users and accounts invalidate the kept API principals
