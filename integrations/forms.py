"""Dashboard connect forms. Secret inputs never render a value back (PasswordInput)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.registry import PROVIDERS, CredentialField, ProviderSpec


def _field(f: CredentialField) -> forms.CharField:
    attrs = {"autocomplete": "off", "spellcheck": "false"}
    widget = forms.PasswordInput(render_value=False, attrs=attrs) if f.secret else forms.TextInput(attrs=attrs)
    # The format is checked by the service (integrations.registry), for every way in alike.
    return forms.CharField(label=f.label, max_length=512, strip=True, widget=widget)


class ConnectForm(forms.Form):
    """The credentials form of one provider."""


def connect_form(spec: ProviderSpec) -> type[ConnectForm]:
    return type(f"{spec.provider.title()}Form", (ConnectForm,), {f.name: _field(f) for f in spec.fields})


CONNECT_FORMS: dict[str, type[ConnectForm]] = {provider: connect_form(spec) for provider, spec in PROVIDERS.items()}


class DefaultEventTypeForm(forms.Form):
    default_event_type_id = forms.TypedChoiceField(
        label=_("Default event type"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: object, event_types: list[dict[str, object]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", _("None"))] + [(str(t["id"]), f"{t['title']} ({t['length']} min)") for t in event_types]
        self.fields["default_event_type_id"].choices = choices
