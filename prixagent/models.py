"""Platform machinery that needs tables: the outbox of writes to tenants' providers."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A write to a tenant's provider (a GoHighLevel note, a tag, a contact upsert...) that must
    happen exactly once, eventually, whatever the provider is doing right now.

    Written in the same transaction as the local change it reports, delivered afterwards by
    `prixagent.outbox`, retried with backoff until delivered, parked when the provider refuses
    it for good (a revoked token) until someone resumes it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        PARKED = "parked", _("Parked")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="outbox_messages")
    kind = models.CharField(_("kind"), max_length=64)
    # Idempotency: one message per (account, kind, key), e.g. ("ghl.note", "call:<id>:outcome").
    key = models.CharField(_("key"), max_length=200)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When the message is next due. A claimed message is pushed one lease ahead, so a worker that
    # dies mid-delivery leaves it due again once the lease has passed.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "key"], name="outbox_one_message_per_key"),
        ]
        indexes = [
            # The relay's only query: due pending messages. Delivered ones never cost it anything.
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["account", "status"], name="outbox_account_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.pk} {self.kind} {self.status}>"
