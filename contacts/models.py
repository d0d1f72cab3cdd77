"""The people a tenant calls (`Contact`) and the numbers it must never call (`DoNotCallEntry`).

Phone numbers are stored in E.164 only (`contacts.phones`), so one number is one row per
account and the do-not-call list matches contacts by plain equality. The list is the source of
truth; `Contact.do_not_call` mirrors it for filtering, and `contacts.services` keeps the two
in step in one transaction.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tag(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contact_tags")
    name = models.CharField(_("name"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("account", Lower("name"), name="contact_tag_unique_per_account")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        CSV = "csv", _("CSV import")
        GHL = "ghl", _("GoHighLevel")
        API = "api", _("API")
        INBOUND = "inbound", _("Inbound call")

    class TimeZoneSource(models.TextChoices):
        RECORD = "record", _("From the record")
        NUMBER = "number", _("Derived from the number")
        ACCOUNT = "account", _("Account default (number spans several zones)")

    class Consent(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        GRANTED = "granted", _("Granted")
        REVOKED = "revoked", _("Revoked")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=16)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64)
    time_zone_source = models.CharField(
        _("time zone source"), max_length=10, choices=TimeZoneSource.choices, default=TimeZoneSource.ACCOUNT
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)

    consent_status = models.CharField(_("consent"), max_length=10, choices=Consent.choices, default=Consent.UNKNOWN)
    consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    consent_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)

    do_not_call = models.BooleanField(_("do not call"), default=False)
    do_not_call_reason = models.CharField(_("do-not-call reason"), max_length=255, blank=True)
    do_not_call_at = models.DateTimeField(_("do not call since"), null=True, blank=True)

    ghl_contact_id = models.CharField(_("GoHighLevel contact id"), max_length=64, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "phone"], name="contact_phone_unique_per_account")]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="contact_account_created"),
            models.Index(fields=["account", "ghl_contact_id"], name="contact_account_ghl"),
            models.Index(fields=["account", "do_not_call"], name="contact_account_dnc"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.phone

    def __repr__(self) -> str:
        return f"<Contact {self.pk} of {self.account_id}>"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class DoNotCallEntry(models.Model):
    """A number the account must never call, with or without a contact."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        CSV = "csv", _("CSV import")
        API = "api", _("API")
        OPT_OUT = "opt_out", _("Opted out during a call")
        GHL = "ghl", _("GoHighLevel")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="do_not_call_entries")
    phone = models.CharField(_("phone (E.164)"), max_length=16)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    added_by = models.CharField(_("added by"), max_length=255, blank=True)  # a user's email, "system", ...
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call list")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "phone"], name="dnc_phone_unique_per_account")]

    def __str__(self) -> str:
        return self.phone
