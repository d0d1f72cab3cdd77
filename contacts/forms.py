"""Dashboard forms for contacts. They check shape; `contacts.services` decides what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.mapping import CUSTOM, IGNORE, fields_for
from contacts.models import Contact, ImportJob

CUSTOM_CHOICE = "__custom__"


class FilterForm(forms.Form):
    """The list's filters (GET). Unknown or malformed values are reported by the selector."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)
    do_not_call = forms.ChoiceField(
        label=_("Do not call"),
        required=False,
        choices=[("", _("Any")), ("false", _("Callable")), ("true", _("Do not call"))],
    )
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("Any")), *Contact.Source.choices])
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=[("", _("Any"))])
    created_after = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, time_zones: list[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", _("Any")), *((z, z) for z in time_zones)]


def _lines_to_dict(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise forms.ValidationError(_("Write one field per line as name = value."))
        result[key.strip()] = value.strip()
    return result


class ContactForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        help_text=_("Any format; a number without +country code uses your account's country."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        required=False,
        help_text=_("e.g. America/New_York. Leave empty to derive it from the number."),
    )
    tags = forms.CharField(label=_("Tags"), max_length=1000, required=False, help_text=_("Separated by commas."))
    custom_fields = forms.CharField(
        label=_("Custom fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: name = value"),
    )
    consent_status = forms.ChoiceField(label=_("Consent to be called"), choices=Contact.Consent.choices)
    do_not_call = forms.BooleanField(label=_("Do not call this number"), required=False)
    do_not_call_reason = forms.CharField(label=_("Do-not-call reason"), max_length=255, required=False)

    def clean_custom_fields(self) -> dict[str, str]:
        return _lines_to_dict(self.cleaned_data["custom_fields"])

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)  # tags stay "a, b": the service splits them

    @classmethod
    def initial_for(cls, contact: Contact) -> dict[str, Any]:
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone,
            "email": contact.email,
            "company": contact.company,
            "time_zone": contact.time_zone if contact.time_zone_source == Contact.TimeZoneSource.RECORD else "",
            "tags": ", ".join(t.name for t in contact.tags.all()),
            "custom_fields": "\n".join(f"{k} = {v}" for k, v in (contact.custom_fields or {}).items()),
            "consent_status": contact.consent_status,
            "do_not_call": contact.do_not_call,
            "do_not_call_reason": contact.do_not_call_reason,
        }


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"),
        choices=[("tag", _("Add tag")), ("untag", _("Remove tag")), ("delete", _("Delete"))],
    )
    tags = forms.CharField(label=_("Tag"), max_length=200, required=False)
    scope = forms.ChoiceField(
        choices=[("selected", _("Selected contacts")), ("filter", _("All contacts matching the filter"))],
        initial="selected",
        widget=forms.RadioSelect,
    )
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any integer: the service keeps only the account's own ids.
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") in ("tag", "untag") and not (data.get("tags") or "").strip():
            self.add_error("tags", _("Name the tag."))
        if data.get("scope") == "selected" and not data.get("ids"):
            raise forms.ValidationError(_("Select at least one contact, or choose “All contacts matching the filter”."))
        return data


class DncAddForm(forms.Form):
    phone = forms.CharField(label=_("Phone"), max_length=40, widget=forms.TextInput(attrs={"type": "tel"}))
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class ContactDncForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class TagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=64)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 or Windows-1252 (Excel), separated by commas, semicolons or tabs. First row: column names."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )
    kind = forms.ChoiceField(
        label=_("Import into"),
        choices=ImportJob.Kind.choices,
        initial=ImportJob.Kind.CONTACTS,
        widget=forms.RadioSelect,
    )


class MappingForm(forms.Form):
    """One choice per column (a field, a custom field, or ignore) and the duplicate policy."""

    policy = forms.ChoiceField(
        label=_("When a number is already a contact (or appears twice in the file)"),
        choices=ImportJob.Policy.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [(key, label) for key, label in fields_for(job.kind).items()]
        if job.kind == ImportJob.Kind.CONTACTS:
            choices.append((CUSTOM_CHOICE, _("Custom field (named after the column)")))
        choices.append((IGNORE, _("Ignore this column")))
        for index, name in enumerate(job.header):
            target = job.mapping[index] if index < len(job.mapping) else IGNORE
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=name,
                choices=choices,
                required=False,
                initial=CUSTOM_CHOICE if target.startswith(CUSTOM) else target,
            )
        self.fields["policy"].initial = job.policy
        if job.kind == ImportJob.Kind.DNC:
            del self.fields["policy"]

    def columns(self) -> list[tuple[forms.BoundField, list[str]]]:
        """Each column's choice with its preview values, for the template."""
        preview = self.job.preview
        return [
            (self[f"col_{i}"], [row[i] if i < len(row) else "" for row in preview]) for i in range(len(self.job.header))
        ]

    def mapping(self) -> list[str]:
        result = []
        for index, name in enumerate(self.job.header):
            value = self.cleaned_data.get(f"col_{index}") or IGNORE
            result.append(CUSTOM + name if value == CUSTOM_CHOICE else value)
        return result
