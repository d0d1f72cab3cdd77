"""Metered usage. (Plans and PayPal subscriptions are added by the billing issue.)"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UsageRecord(models.Model):
    """One metered call. Unique per call, so a repeated or replayed webhook never counts twice."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="usage_records")
    call_id = models.UUIDField(_("call"), unique=True)
    seconds = models.PositiveIntegerField(_("seconds"))
    # Billed like Twilio bills voice: each call rounded up to the next whole minute.
    minutes = models.PositiveIntegerField(_("minutes"))
    day = models.DateField(_("day (UTC)"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["account", "day"], name="usage_account_day")]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.day}"
