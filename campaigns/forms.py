"""The dashboard's campaign form. It checks shapes; `campaigns.services` decides what is valid
(and its field messages land next to these inputs through `ApplicationError.add_to_form`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from agents.models import Agent
from agents.selectors import twilio_voice_numbers
from campaigns.models import Campaign, RetryOn
from contacts.models import Tag

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
RETRY_LABELS = {
    RetryOn.NO_ANSWER: _("Retry after no answer (minutes)"),
    RetryOn.BUSY: _("Retry after busy (minutes)"),
    RetryOn.VOICEMAIL: _("Retry after voicemail (minutes)"),
    RetryOn.FAILED: _("Retry after a failed call (minutes)"),
}
# Fields that only a draft may change (the services refuse them later; the form hides them).
DRAFT_ONLY = ("agent", "target", "target_tags", "target_filter")


def retry_field(name: str) -> str:
    return f"retry_{name}"


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=Agent.objects.none(), empty_label=None)
    from_numbers = forms.MultipleChoiceField(
        label=_("Caller numbers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Used in turn. None chosen: the agent's default number."),
    )
    target = forms.ChoiceField(label=_("Who to call"), choices=Campaign.Target.choices, widget=forms.RadioSelect)
    target_tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    target_filter = forms.CharField(
        label=_("Contacts filter"),
        required=False,
        max_length=1000,
        help_text=_("The contacts list's filter, as in its address: tag=vip&time_zone=Europe/Madrid"),
    )
    start_date = forms.DateField(label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    window_start = forms.TimeField(
        label=_("Calling from"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("In each contact's local time"),
    )
    window_end = forms.TimeField(
        label=_("Calling until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    calls_per_second = forms.DecimalField(label=_("Calls per second"), max_digits=5, decimal_places=2, min_value=0)
    max_concurrent = forms.IntegerField(label=_("Calls at the same time"), min_value=1)
    max_attempts = forms.IntegerField(label=_("Attempts per contact"), min_value=1)

    def __init__(self, *args: Any, account: Account, campaign: Campaign | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in RetryOn.values:
            self.fields[retry_field(name)] = forms.IntegerField(
                label=RETRY_LABELS[name], required=False, min_value=0, help_text=_("Empty: no retry")
            )
        self.fields["agent"].queryset = Agent.objects.filter(account=account).order_by("name")
        self.fields["target_tags"].queryset = Tag.objects.filter(account=account).order_by("name")
        numbers = twilio_voice_numbers(account)
        chosen = list(campaign.from_numbers) if campaign else []
        self.fields["from_numbers"].choices = [(n, n) for n in dict.fromkeys([*numbers, *chosen])]
        self.campaign = campaign
        if campaign is not None and campaign.state != Campaign.State.DRAFT:
            for name in DRAFT_ONLY:
                del self.fields[name]

    @classmethod
    def initial_for(cls, campaign: Campaign | None, filter_query: str = "") -> dict[str, Any]:
        """The form's starting values: the campaign's, or the model's defaults for a new one."""
        if campaign is None:
            campaign = Campaign()
            if filter_query:
                campaign.target = Campaign.Target.FILTER
        initial = {
            "name": campaign.name,
            "agent": campaign.agent_id,
            "from_numbers": list(campaign.from_numbers),
            "target": campaign.target,
            "target_tags": list(campaign.target_tags.all()) if campaign.pk else [],
            "target_filter": filter_query or _filter_query(campaign),
            "start_date": campaign.start_date,
            "end_date": campaign.end_date,
            "weekdays": list(campaign.weekdays),
            "window_start": campaign.window_start,
            "window_end": campaign.window_end,
            "calls_per_second": campaign.calls_per_second,
            "max_concurrent": campaign.max_concurrent,
            "max_attempts": campaign.max_attempts,
        }
        for name in RetryOn.values:
            initial[retry_field(name)] = (campaign.retry_delays or {}).get(name)
        return initial

    def service_data(self) -> dict[str, Any]:
        """The cleaned form in the services' terms (see campaigns.services.campaign_create)."""
        data = self.cleaned_data
        result: dict[str, Any] = {
            "name": data["name"],
            "from_numbers": list(data["from_numbers"]),
            "start_date": data["start_date"].isoformat() if data["start_date"] else None,
            "end_date": data["end_date"].isoformat() if data["end_date"] else None,
            "weekdays": sorted(data["weekdays"]),
            "window_start": data["window_start"].strftime("%H:%M"),
            "window_end": data["window_end"].strftime("%H:%M"),
            "calls_per_second": str(data["calls_per_second"]),
            "max_concurrent": data["max_concurrent"],
            "max_attempts": data["max_attempts"],
            "retry_delays": {name: data.get(retry_field(name)) for name in RetryOn.values},
        }
        if "agent" in self.fields:
            result["agent"] = str(data["agent"].pk)
            result["target"] = data["target"]
            result["target_tags"] = [tag.pk for tag in data["target_tags"]]
            result["target_filter"] = _filter_dict(data["target_filter"])
        return result

    def add_service_errors(self, fields: dict[str, list[str]], message: str) -> None:
        """The services' field messages next to their inputs (`retry_delays.busy` → its own field)."""
        for name, messages in fields.items():
            field = retry_field(name.split(".", 1)[1]) if name.startswith("retry_delays.") else name
            for text in messages:
                self.add_error(field if field in self.fields else None, text)
        if not fields:
            self.add_error(None, message)


def _filter_dict(query: str) -> dict[str, Any]:
    """ "tag=vip&tag=new&q=acme" → {"tag": ["vip", "new"], "q": "acme"} (the contacts API's params)."""
    parsed = QueryDict(query.lstrip("?"))
    return {key: (values if len(values) > 1 else values[0]) for key, values in parsed.lists()}


def _filter_query(campaign: Campaign) -> str:
    params = QueryDict(mutable=True)
    for key, value in (campaign.target_filter or {}).items():
        params.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return params.urlencode()
