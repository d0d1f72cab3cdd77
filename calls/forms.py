"""Dashboard forms of the calls app. They check shapes; `calls.services` decides the rest."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from agents.models import Agent
from agents.selectors import twilio_voice_numbers
from calls.models import Call, Outcome, Status, TenantEvent
from contacts.models import Contact

MENU_CONTACTS = 100


def ready_agents(account: Account) -> Any:
    return Agent.objects.filter(account=account).exclude(elevenlabs_agent_id="").order_by("name")


class CallNowForm(forms.Form):
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none())
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=Agent.objects.none(), empty_label=None)
    from_number = forms.ChoiceField(label=_("Call from"), required=False)
    # Rendered with the form: submitting it twice is the same attempt, hence one call.
    attempt = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args: Any, account: Account, contact: Contact | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contacts = Contact.objects.filter(account=account, do_not_call=False)
        self.fields["contact"].queryset = contacts  # what a submitted id is checked against
        # An account may hold 100,000 contacts: the menu offers the most recent ones; any other
        # contact is called from its own page.
        recent = contacts.order_by("-updated_at", "-id")[:MENU_CONTACTS]
        self.fields["contact"].widget.choices = [("", "---------")] + [
            (c.pk, f"{c.full_name or c.phone} · {c.phone}") for c in recent
        ]
        if contact is not None:
            self.fields["contact"].queryset = Contact.objects.filter(account=account, pk=contact.pk)
            self.fields["contact"].initial = contact.pk
            self.fields["contact"].widget = forms.HiddenInput()
        self.fields["agent"].queryset = ready_agents(account)
        numbers = twilio_voice_numbers(account)
        self.fields["from_number"].choices = [("", _("The agent's number"))] + [(n, n) for n in numbers]


class TestCallForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), widget=forms.HiddenInput)
    to_number = forms.CharField(label=_("Your phone number"), max_length=40)
    attempt = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = ready_agents(account)


class CallFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    direction = forms.ChoiceField(label=_("Direction"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["status"].choices = [*every, ("live", _("Live")), ("ended", _("Ended")), *Status.choices]
        self.fields["outcome"].choices = [*every, *Outcome.choices]
        agents = Agent.objects.filter(account=account).order_by("name")
        self.fields["agent"].choices = [*every, *((str(a.pk), a.name) for a in agents)]
        self.fields["direction"].choices = [*every, *Call.Direction.choices]


class CallSettingsForm(forms.Form):
    machine_detection = forms.BooleanField(
        label=_("Detect answering machines"),
        required=False,
        help_text=_("Leave the agent's voicemail message after the beep, or hang up on machines."),
    )
    record_calls = forms.BooleanField(
        label=_("Record calls"),
        required=False,
        help_text=_("Recordings stay in your Twilio account; you play them here. Tell callers they are recorded."),
    )
    ring_timeout = forms.IntegerField(label=_("Ring for (seconds)"), min_value=10, max_value=60)


class TenantWebhookForm(forms.Form):
    url = forms.URLField(label=_("HTTPS URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=TenantEvent.choices, widget=forms.CheckboxSelectMultiple
    )
