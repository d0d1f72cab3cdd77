"""Per-account integration state and its audit trail.

The credentials themselves live encrypted on `accounts.Account` (one row per tenant, the
seed's `accounts` table). Here we keep what is *not* secret: when the credentials were last
validated, whether real work found them failing and why, what the provider told us about
the account (Twilio trial flag, GHL location name, Cal.com event types), and an append-only
record of every change. Nothing in this module ever holds a secret.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    GHL = "ghl", "GoHighLevel"
    ELEVENLABS = "elevenlabs", "ElevenLabs"
    CALCOM = "calcom", "Cal.com"


class IntegrationStatus(models.Model):
    """One row per (account, provider) once the tenant has done anything with it."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="integration_statuses")
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    last_validated_at = models.DateTimeField(_("last validated at"), null=True, blank=True)
    failing = models.BooleanField(_("failing"), default=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # Non-secret facts from the provider, e.g. {"trial": true, "friendly_name": "..."}.
    details = models.JSONField(_("details"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("integration status")
        verbose_name_plural = _("integration statuses")
        ordering = ["account__name", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["account", "provider"], name="integration_status_one_per_provider"),
        ]
        indexes = [models.Index(fields=["failing"], name="integration_status_failing")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} for {self.account_id}"


class IntegrationEvent(models.Model):
    """Append-only audit trail: who did what to which integration, and how it went."""

    class Action(models.TextChoices):
        CONNECT = "connect", _("Connect")
        TEST = "test", _("Test")
        DISCONNECT = "disconnect", _("Disconnect")
        SYNC = "sync", _("Sync")
        CONFIGURE = "configure", _("Configure")
        FAILURE = "failure", _("Failure")

    class Outcome(models.TextChoices):
        OK = "ok", _("OK")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="integration_events")
    # The user who acted, if any. `actor_label` survives the user's deletion and also names
    # non-user actors: "operator" (admin, manage.py) and "system" (background work).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(_("actor"), max_length=255)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("integration event")
        verbose_name_plural = _("integration events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="integration_event_account")]

    def __str__(self) -> str:
        return f"{self.provider} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Integration events are append-only")
        super().save(*args, **kwargs)
