"""API shapes for contacts, tags, imports, the do-not-call list and the GoHighLevel sync.

Input serializers check types and sizes; `contacts.services` checks meaning (E.164 numbers,
time zones, duplicates). The contact output is built by `contact_json`, also from `.values()`
rows, so the list endpoint never instantiates models (its hot path).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from contacts.mapping import fields_for
from contacts.models import Contact, DoNotCallEntry, GhlSyncState, ImportJob, Tag
from contacts.selectors import FILTER_PARAMS
from contacts.services import BULK_ACTIONS

CONTACT_VALUES = (
    "id",
    "first_name",
    "last_name",
    "company",
    "phone",
    "email",
    "time_zone",
    "time_zone_source",
    "custom_fields",
    "source",
    "consent_status",
    "consent_source",
    "consent_at",
    "do_not_call",
    "do_not_call_reason",
    "do_not_call_at",
    "ghl_contact_id",
    "created_at",
    "updated_at",
)


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def contact_json(row: dict[str, Any], tags: list[str]) -> dict[str, Any]:
    """One contact as the API shows it, from a `.values(*CONTACT_VALUES)` row and its tag names."""
    return {
        "id": row["id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "full_name": " ".join(p for p in (row["first_name"], row["last_name"]) if p),
        "company": row["company"],
        "phone": row["phone"],
        "email": row["email"],
        "time_zone": row["time_zone"],
        "time_zone_source": row["time_zone_source"],
        "tags": tags,
        "custom_fields": row["custom_fields"],
        "source": row["source"],
        "consent": {"status": row["consent_status"], "source": row["consent_source"], "at": _iso(row["consent_at"])},
        "do_not_call": {
            "active": row["do_not_call"],
            "reason": row["do_not_call_reason"],
            "at": _iso(row["do_not_call_at"]),
        },
        "ghl_contact_id": row["ghl_contact_id"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


def contact_instance_json(contact: Contact) -> dict[str, Any]:
    row = {name: getattr(contact, name) for name in CONTACT_VALUES}
    return contact_json(row, sorted(t.name for t in contact.tags.all()))


# --- documentation shapes (drf-spectacular) ------------------------------------------------------


class ConsentSerializer(serializers.Serializer):
    status = serializers.CharField(help_text=_("unknown, granted or revoked"))
    source = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class DoNotCallStateSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    reason = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class ContactSerializer(serializers.Serializer):
    """A contact (output)."""

    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    full_name = serializers.CharField()
    company = serializers.CharField()
    phone = serializers.CharField(help_text=_("E.164, e.g. +14155550123"))
    email = serializers.CharField()
    time_zone = serializers.CharField(help_text=_("IANA zone"))
    time_zone_source = serializers.ChoiceField(choices=Contact.TimeZoneSource.choices)
    tags = serializers.ListField(child=serializers.CharField())
    custom_fields = serializers.DictField()
    source = serializers.ChoiceField(choices=Contact.Source.choices)
    consent = ConsentSerializer()
    do_not_call = DoNotCallStateSerializer()
    ghl_contact_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ContactPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ContactSerializer(many=True)


# --- input -----------------------------------------------------------------------------------------


class ContactWriteSerializer(serializers.Serializer):
    """Create (phone required) or change (only the fields sent) a contact."""

    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=40, required=False, help_text=_("Any format; national numbers use the account's default country")
    )
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    time_zone = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text=_("IANA zone; blank = derive from the number")
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    custom_fields = serializers.JSONField(required=False)
    consent_status = serializers.ChoiceField(choices=Contact.Consent.choices, required=False)
    consent_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    do_not_call = serializers.BooleanField(required=False)
    do_not_call_reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class FilterSerializer(serializers.Serializer):
    """The list's filters, as a JSON object (bulk actions "by the current filter")."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    tag = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=10)
    do_not_call = serializers.BooleanField(required=False, allow_null=True, default=None)
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    source = serializers.CharField(required=False, allow_blank=True)
    consent = serializers.CharField(required=False, allow_blank=True)
    created_after = serializers.CharField(required=False, allow_blank=True)
    created_before = serializers.CharField(required=False, allow_blank=True)


def filter_params(validated: dict[str, Any]) -> dict[str, Any]:
    """A validated FilterSerializer's data as list query parameters."""
    data = {k: v for k, v in validated.items() if k in FILTER_PARAMS and v not in (None, "", [])}
    if "do_not_call" in data:
        data["do_not_call"] = "true" if data["do_not_call"] else "false"
    return data


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=50)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=10_000)
    filter = FilterSerializer(required=False, help_text=_("Apply to every contact matching these filters"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(_("Give either ids or filter."))
        if attrs["action"] in ("tag", "untag") and not attrs.get("tags"):
            raise serializers.ValidationError({"tags": [_("Name at least one tag.")]})
        return attrs


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    affected = serializers.IntegerField()


class DoNotCallReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


# --- tags --------------------------------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    contact_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Tag
        fields = ["id", "name", "contact_count", "created_at"]
        read_only_fields = ["id", "contact_count", "created_at"]


# --- do-not-call -------------------------------------------------------------------------------------


class DoNotCallEntrySerializer(serializers.ModelSerializer):
    phone = serializers.CharField(max_length=40, help_text=_("Any format; stored in E.164"))

    class Meta:
        model = DoNotCallEntry
        fields = ["id", "phone", "reason", "source", "added_by", "created_at"]
        read_only_fields = ["id", "source", "added_by", "created_at"]


# --- imports -----------------------------------------------------------------------------------------


class ImportJobSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=_("mapping, queued, running, done, failed or cancelled"))
    percent = serializers.IntegerField(read_only=True)
    targets = serializers.SerializerMethodField(help_text=_("What a column can map to: field -> label"))
    errors_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "policy",
            "file_name",
            "file_size",
            "encoding",
            "delimiter",
            "header",
            "mapping",
            "preview",
            "targets",
            "percent",
            "rows_read",
            "created",
            "updated",
            "skipped",
            "invalid",
            "errors_total",
            "errors_url",
            "message",
            "created_by_label",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_targets(self, job: ImportJob) -> dict[str, str]:
        return {key: str(label) for key, label in fields_for(job.kind).items()}

    def get_errors_url(self, job: ImportJob) -> str | None:
        if not job.errors_total:
            return None
        return reverse("api:contact-import-errors", args=[job.pk])

    def to_representation(self, job: ImportJob) -> dict[str, Any]:
        data = super().to_representation(job)
        if job.status != ImportJob.Status.MAPPING:
            data["preview"] = []  # file contents are shown only while mapping
        return data


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("A CSV file (UTF-8 or Windows-1252; comma, semicolon or tab)"))
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices, default=ImportJob.Kind.CONTACTS)
    policy = serializers.ChoiceField(choices=ImportJob.Policy.choices, required=False)
    mapping = serializers.JSONField(required=False, help_text=_("A list (one target per column) or {header: target}"))
    start = serializers.BooleanField(default=False, help_text=_("Start at once with this (or the guessed) mapping"))


class ImportStartSerializer(serializers.Serializer):
    mapping = serializers.JSONField(required=False, help_text=_("A list (one target per column) or {header: target}"))
    policy = serializers.ChoiceField(choices=ImportJob.Policy.choices, required=False)


class GhlSyncSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=_("never, running, ok, failed or quota"))
    connected = serializers.SerializerMethodField()

    class Meta:
        model = GhlSyncState
        fields = [
            "connected",
            "status",
            "message",
            "last_started_at",
            "last_finished_at",
            "last_success_at",
            "quota_reset_at",
            "pulled",
            "created",
            "updated",
            "skipped",
            "pushed",
            "requests",
        ]
        read_only_fields = fields

    def get_connected(self, state: GhlSyncState) -> bool:
        return bool(state.account.ghl_configured)
