from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The provider sandbox: a development and test tool, installed only outside production
    (so `manage.py provider_sandbox` does not exist on a production server)."""

    name = "sandbox"
    verbose_name = "Provider sandbox"
