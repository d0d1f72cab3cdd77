"""API shapes for integrations. Credential fields are write-only; responses carry masked hints."""

from __future__ import annotations

from functools import cached_property

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from integrations.models import IntegrationEvent, Provider
from integrations.registry import PROVIDERS, CredentialField, ProviderSpec
from prixagent.serializers import CachedFieldsModelSerializer

# The formats themselves are checked once, by the service (integrations.registry): the same
# rule then holds for the API, the dashboard and `manage.py set_credentials`.


def _credential(f: CredentialField) -> serializers.CharField:
    style = {"input_type": "password"} if f.secret else {}
    return serializers.CharField(
        label=f.label, write_only=f.secret, max_length=512, trim_whitespace=True, style=style, help_text=f.format_hint
    )


CONNECT_OPTIONS: dict[str, serializers.Field] = {
    "default_event_type_id": serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text=_("Which listed event type the agent books by default."),
    ),
}


def credentials_serializer(spec: ProviderSpec) -> type[serializers.Serializer]:
    """The PUT body of one provider, built from its registry entry."""
    fields: dict[str, serializers.Field] = {f.name: _credential(f) for f in spec.fields}
    fields.update({name: CONNECT_OPTIONS[name] for name in spec.connect_options})
    name = "".join(part.title() for part in spec.name.replace(".", " ").split())
    return type(f"{name}CredentialsSerializer", (serializers.Serializer,), fields)


CREDENTIAL_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    provider: credentials_serializer(spec) for provider, spec in PROVIDERS.items()
}


class DefaultEventTypeSerializer(serializers.Serializer):
    default_event_type_id = serializers.IntegerField(allow_null=True, min_value=1)


class IntegrationSerializer(serializers.Serializer):
    """One provider's state, from `services.integration_overview`."""

    provider = serializers.ChoiceField(choices=Provider.choices)
    name = serializers.CharField()
    configured = serializers.BooleanField()
    failing = serializers.BooleanField()
    last_validated_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    hints = serializers.DictField(child=serializers.CharField(), help_text=_("Masked secrets, e.g. ••••abcd"))
    details = serializers.DictField(help_text=_("Non-secret facts from the provider"))


class TwilioNumbersSerializer(serializers.Serializer):
    numbers = serializers.ListField(child=serializers.DictField())


class IntegrationEventSerializer(CachedFieldsModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = IntegrationEvent
        fields = ["id", "created_at", "actor", "provider", "action", "outcome", "message"]
        read_only_fields = fields

    # The list serves 50 events a page: one dict per event instead of DRF's seven field
    # lookups per event (same output; tests compare it with the field-by-field rendering).
    def to_representation(self, event: IntegrationEvent) -> dict[str, object]:
        return {
            "id": event.id,
            "created_at": self._created_at.to_representation(event.created_at),
            "actor": event.actor_label,
            "provider": event.provider,
            "action": event.action,
            "outcome": event.outcome,
            "message": event.message,
        }

    @cached_property
    def _created_at(self) -> serializers.DateTimeField:
        return self.fields["created_at"]
