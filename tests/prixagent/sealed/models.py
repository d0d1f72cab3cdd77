"""`WebhookSecret`: the shape the calls and agents apps will use for their secrets."""

from __future__ import annotations

import uuid

from django.db import models

from prixagent.fields import EncryptedTextField


class WebhookSecret(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=50)
    secret = EncryptedTextField()

    class Meta:
        db_table = "sealed_test_webhook_secret"

    def __str__(self) -> str:
        return self.label
