"""API shapes for integrations. Credential fields are write-only; responses carry masked hints."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from integrations.models import IntegrationEvent, Provider


def _secret(label: str) -> serializers.CharField:
    return serializers.CharField(
        label=label, write_only=True, max_length=512, trim_whitespace=True, style={"input_type": "password"}
    )


class TwilioCredentialsSerializer(serializers.Serializer):
    account_sid = _secret(_("Account SID"))
    auth_token = _secret(_("Auth token"))


class GhlCredentialsSerializer(serializers.Serializer):
    api_key = _secret(_("Private integration token"))
    location_id = serializers.CharField(label=_("Location ID"), max_length=255, trim_whitespace=True)


class ElevenLabsCredentialsSerializer(serializers.Serializer):
    api_key = _secret(_("API key"))


class CalcomCredentialsSerializer(serializers.Serializer):
    api_key = _secret(_("API key"))
    default_event_type_id = serializers.IntegerField(
        required=False, allow_null=True, help_text=_("Which listed event type the agent books by default.")
    )


CREDENTIAL_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "twilio": TwilioCredentialsSerializer,
    "ghl": GhlCredentialsSerializer,
    "elevenlabs": ElevenLabsCredentialsSerializer,
    "calcom": CalcomCredentialsSerializer,
}


class DefaultEventTypeSerializer(serializers.Serializer):
    default_event_type_id = serializers.IntegerField(allow_null=True)


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


class IntegrationEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = IntegrationEvent
        fields = ["id", "created_at", "actor", "provider", "action", "outcome", "message"]
        read_only_fields = fields
