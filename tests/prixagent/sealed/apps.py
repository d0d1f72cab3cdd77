from django.apps import AppConfig


class SealedConfig(AppConfig):
    name = "tests.prixagent.sealed"
    label = "sealed_test"
    verbose_name = "Encrypted field test models"
