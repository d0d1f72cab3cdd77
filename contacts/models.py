"""The people a tenant calls (`Contact`) and the numbers it must never call (`DoNotCallEntry`).

Phone numbers are stored in E.164 only (`contacts.phones`), so one number is one row per
account and the do-not-call list matches contacts by plain equality. The list is the source of
truth; `Contact.do_not_call` mirrors it for filtering, and `contacts.services` keeps the two
in step in one transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower, Replace
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

    # Indexed by (account, id) and (account, phone), which lead with it.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contacts", db_index=False)
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
    # A local change GoHighLevel has not seen yet (set with the change, cleared by the push).
    ghl_push_pending = models.BooleanField(_("GoHighLevel push pending"), default=False)
    # GoHighLevel's own `dateUpdated` of the version we last pulled: an older one changes nothing.
    ghl_updated_at = models.DateTimeField(_("GoHighLevel updated"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # What the search box matches: names, company, email and the number's digits, lower-cased,
    # computed by the database on every write (also for rows written with COPY).
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "first_name",
                Value(" "),
                "last_name",
                Value(" "),
                "company",
                Value(" "),
                "email",
                Value(" "),
                Replace("phone", Value("+"), Value("")),
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        # Newest first is id order (ids come from a sequence): one index serves every list.
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["account", "phone"], name="contact_phone_unique_per_account")]
        # Every index is paid for by each imported row, so only what a query uses: the account's
        # list (account, id) also serves as the account index; the rarely-set columns get
        # partial indexes.
        indexes = [
            models.Index(fields=["account", "id"], name="contact_account_id"),
            models.Index(
                fields=["account", "ghl_contact_id"],
                name="contact_account_ghl",
                condition=~models.Q(ghl_contact_id=""),
            ),
            models.Index(fields=["account"], name="contact_account_dnc", condition=models.Q(do_not_call=True)),
            models.Index(
                fields=["account"], name="contact_ghl_push_pending", condition=models.Q(ghl_push_pending=True)
            ),
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


class ImportJob(models.Model):
    """One CSV upload and its import: the mapping the user confirmed, progress, and the outcome.

    Progress is committed with every batch of rows, together with the rows themselves and the
    byte offset of the next unread row (`bytes_done`), so a job whose worker died resumes from
    there: nothing is written twice and nothing is lost. `lease_token` / `lease_until` make sure
    only one runner works on a job at a time; a runner whose lease was taken over stops.
    """

    class Kind(models.TextChoices):
        CONTACTS = "contacts", _("Contacts")
        DNC = "dnc", _("Do-not-call list")

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Waiting for the column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Policy(models.TextChoices):
        UPDATE = "update", _("Update the existing contact")
        SKIP = "skip", _("Skip the row")

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contact_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_by_label = models.CharField(_("started by"), max_length=255, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CONTACTS)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.MAPPING)
    policy = models.CharField(_("duplicates"), max_length=10, choices=Policy.choices, default=Policy.UPDATE)

    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(max_length=255, blank=True)  # relative to CONTACTS_UPLOAD_DIR; "" once deleted
    file_size = models.BigIntegerField(_("size (bytes)"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("delimiter"), max_length=1)
    header = models.JSONField(_("header"), default=list)
    mapping = models.JSONField(_("mapping"), default=list)  # one target per column: field, "custom:<key>" or ""
    preview = models.JSONField(default=list)  # the first few data rows, for the mapping step

    bytes_done = models.BigIntegerField(default=0)  # offset of the next unread row
    next_row = models.PositiveIntegerField(default=2)  # its row number (the header is row 1)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    errors_total = models.PositiveIntegerField(_("problems reported"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)

    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # How long a runner may go silent before another may take the job over (renewed every batch).
    lease_seconds = models.PositiveIntegerField(default=120)
    attempts = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="import_account_created"),
            models.Index(fields=["status", "lease_until"], name="import_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    def __repr__(self) -> str:
        return f"<ImportJob {self.pk} of {self.account_id} {self.status}>"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.file_size:
            return 0
        return min(99, int(self.bytes_done * 100 / self.file_size))


class ImportRowError(models.Model):
    """One problem found in one row of an import: the per-row error report."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=255)

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="import_error_job_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class GhlSyncState(models.Model):
    """One per account: the last GoHighLevel sync, its figures, and why it stopped if it did."""

    class Status(models.TextChoices):
        NEVER = "never", _("Never synced")
        RUNNING = "running", _("Running")
        OK = "ok", _("Up to date")
        FAILED = "failed", _("Failed")
        QUOTA = "quota", _("Daily quota used up")

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="ghl_sync")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEVER)
    message = models.CharField(_("message"), max_length=500, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)  # a lease: a sync older than this died
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    quota_reset_at = models.DateTimeField(_("quota resets at"), null=True, blank=True)
    # Incremental pull: GoHighLevel's dateUpdated of the newest contact seen by a complete pull.
    pulled_until = models.DateTimeField(null=True, blank=True)
    pulled = models.PositiveIntegerField(_("pulled"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    pushed = models.PositiveIntegerField(_("pushed"), default=0)
    requests = models.PositiveIntegerField(_("requests"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("GoHighLevel sync")
        verbose_name_plural = _("GoHighLevel syncs")

    def __str__(self) -> str:
        return f"GoHighLevel sync of {self.account_id}: {self.status}"


class GhlDeletedContact(models.Model):
    """A GoHighLevel contact deleted here: the pull does not bring it back."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    ghl_contact_id = models.CharField(max_length=64)
    deleted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "ghl_contact_id"], name="ghl_deleted_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.ghl_contact_id
