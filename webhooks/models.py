"""Every webhook a provider sends us is kept: what arrived, whether its signature held, what we
did with it. The operator sees them in the admin and can replay one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundWebhook(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")  # stored, not processed yet (or processing died)
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")  # a valid event we have no use for
        FAILED = "failed", _("Failed")  # our error: the provider was told to retry
        REJECTED = "rejected", _("Rejected")  # bad or missing signature, unparseable body

    provider = models.CharField(_("provider"), max_length=20)
    endpoint = models.CharField(_("endpoint"), max_length=60)  # the WebhookEndpoint's name
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_webhooks"
    )
    # The provider's own event id, or one derived from the body (e.g. CallSid + status); empty
    # when the delivery was rejected before it could be read.
    event_id = models.CharField(_("event id"), max_length=200, blank=True)
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    signature_valid = models.BooleanField(_("signature valid"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(_("error"), blank=True)
    # What replay needs: the URL arguments, the headers (minus credentials) and the raw body.
    url_kwargs = models.JSONField(_("URL arguments"), default=dict, blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    body = models.TextField(_("body"), blank=True)
    # What we answered, for endpoints whose answer matters (TwiML): a repeat gets the same one.
    response_body = models.TextField(_("response"), blank=True)
    response_content_type = models.CharField(_("response content type"), max_length=100, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)  # how often the provider sent it
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("incoming webhook")
        verbose_name_plural = _("incoming webhooks")
        ordering = ["-received_at", "-id"]
        constraints = [
            # Idempotency: one row, hence one processing, per provider event.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"],
                condition=~models.Q(event_id=""),
                name="webhook_one_row_per_event",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-received_at"], name="webhook_account_received"),
            models.Index(fields=["status", "received_at"], name="webhook_status_received"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or self.endpoint} {self.event_id}".strip()

    def __repr__(self) -> str:
        return f"<InboundWebhook {self.pk} {self.endpoint} {self.status}>"
