"""Dashboard connect forms. Secret inputs never render a value back (PasswordInput)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


def _secret(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=512,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class ConnectForm(forms.Form):
    """The credentials form of one provider."""


class TwilioForm(ConnectForm):
    account_sid = _secret(_("Account SID"))
    auth_token = _secret(_("Auth token"))


class GhlForm(ConnectForm):
    api_key = _secret(_("Private integration token"))
    location_id = forms.CharField(label=_("Location ID"), max_length=255, strip=True)


class ElevenLabsForm(ConnectForm):
    api_key = _secret(_("API key"))


class CalcomForm(ConnectForm):
    api_key = _secret(_("API key"))


CONNECT_FORMS: dict[str, type[ConnectForm]] = {
    "twilio": TwilioForm,
    "ghl": GhlForm,
    "elevenlabs": ElevenLabsForm,
    "calcom": CalcomForm,
}


class DefaultEventTypeForm(forms.Form):
    default_event_type_id = forms.TypedChoiceField(
        label=_("Default event type"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: object, event_types: list[dict[str, object]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", _("None"))] + [(str(t["id"]), f"{t['title']} ({t['length']} min)") for t in event_types]
        self.fields["default_event_type_id"].choices = choices
