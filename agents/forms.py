"""Dashboard forms for agents. Choices come from the account (its voices, numbers, event types);
the business rules (prompt variables, numbers taken by another agent) are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from agents.models import LLM_CHOICES, AgentAccountSettings, DataType, Language, Tool
from agents.presets import TEMPLATE_LANGUAGES, preset_choices

TEXTAREA = {"rows": 3, "spellcheck": "true"}


class NewAgentForm(forms.Form):
    template = forms.ChoiceField(label=_("Template"), choices=preset_choices)
    language = forms.ChoiceField(label=_("Language"), choices=[(lang.value, lang.label) for lang in TEMPLATE_LANGUAGES])
    name = forms.CharField(
        label=_("Name"), max_length=120, required=False, help_text=_("Optional: the template's name")
    )


class AgentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    voice_id = forms.CharField(label=_("Voice"), max_length=64)
    llm = forms.ChoiceField(label=_("Language model"), choices=LLM_CHOICES)
    temperature = forms.FloatField(
        label=_("Temperature"), min_value=0, max_value=1, help_text=_("0 = predictable, 1 = creative")
    )
    max_call_seconds = forms.IntegerField(label=_("Maximum call length (seconds)"), min_value=30, max_value=3600)
    first_message = forms.CharField(
        label=_("First message"),
        required=False,
        widget=forms.Textarea(attrs={**TEXTAREA, "data-variables": "1"}),
        help_text=_("What the agent says when the call is answered."),
    )
    system_prompt = forms.CharField(
        label=_("Instructions (system prompt)"), widget=forms.Textarea(attrs={"rows": 14, "data-variables": "1"})
    )
    voicemail_message = forms.CharField(
        label=_("Voicemail message"),
        required=False,
        widget=forms.Textarea(attrs={**TEXTAREA, "data-variables": "1"}),
        help_text=_("Left when a machine answers."),
    )
    tools = forms.MultipleChoiceField(
        label=_("Tools the agent may use"), choices=Tool.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    calcom_event_type_id = forms.TypedChoiceField(
        label=_("Cal.com event type to book"), coerce=int, empty_value=None, required=False
    )
    default_from_number = forms.ChoiceField(label=_("Call from"), required=False)
    inbound_numbers = forms.MultipleChoiceField(
        label=_("Answer inbound calls on"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self,
        *args: Any,
        voices: list[dict[str, Any]] | None,
        event_types: list[dict[str, Any]],
        numbers: list[str],
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if voices:
            current = self.initial.get("voice_id") or self.data.get("voice_id")
            choices = [
                (v["voice_id"], f"{v['name']} ({v['category']})" if v["category"] else v["name"]) for v in voices
            ]
            if current and current not in [c[0] for c in choices]:
                choices.append((current, _("%(voice)s (not available to this key)") % {"voice": current}))
            self.fields["voice_id"] = forms.ChoiceField(label=_("Voice"), choices=choices)
        else:
            self.fields["voice_id"].help_text = _(
                "The voices could not be listed right now: enter an ElevenLabs voice id."
            )
        self.fields["calcom_event_type_id"].choices = [("", _("Account default"))] + [
            (str(t["id"]), f"{t.get('title') or t.get('slug')} ({t.get('length')} min)") for t in event_types
        ]
        self.fields["default_from_number"].choices = [("", _("None"))] + [(n, n) for n in numbers]
        self.fields["inbound_numbers"].choices = [(n, n) for n in numbers]
        if not numbers:
            help_text = _("Connect Twilio (Integrations) to choose your numbers.")
            self.fields["default_from_number"].help_text = self.fields["inbound_numbers"].help_text = help_text
        if read_only:
            for field in self.fields.values():
                field.disabled = True


class OutcomeForm(forms.Form):
    id = forms.CharField(label=_("Id"), max_length=64)
    # A blank first choice: an untouched extra row must not count as changed (and be required).
    type = forms.ChoiceField(label=_("Type"), choices=[("", "—"), *DataType.choices])
    description = forms.CharField(label=_("What to extract"), max_length=1000)


class CriterionForm(forms.Form):
    id = forms.CharField(label=_("Id"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=120)
    goal = forms.CharField(label=_("A successful call…"), max_length=1000)


# `extra` blank rows let the tenant add one without JavaScript; blank rows are ignored.
OutcomeFormSet = formset_factory(OutcomeForm, extra=2, can_delete=True)
CriterionFormSet = formset_factory(CriterionForm, extra=1, can_delete=True)


def formset_rows(formset: Any) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in form.cleaned_data.items() if key != "DELETE"}
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class AgentSettingsForm(forms.Form):
    no_email_policy = forms.ChoiceField(
        label=_("When a contact has no email"),
        choices=AgentAccountSettings.NoEmailPolicy.choices,
        widget=forms.RadioSelect,
    )
    placeholder_email = forms.EmailField(
        label=_("Placeholder email"),
        required=False,
        help_text=_("Cal.com needs an email to book: this one is used when the caller gives none."),
    )
