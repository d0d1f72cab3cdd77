"""API shapes for calls, call settings and tenant webhooks. Never a secret, a Twilio URL or a token:
the recording is our own URL; a webhook's secret appears once, in the answer that created it."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agents.models import Booking, ToolInvocation
from calls.models import Call, CallSettings, TenantEvent, TenantWebhook, TenantWebhookAttempt, TenantWebhookDelivery
from prixagent.serializers import CachedFieldsModelSerializer


class PartySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class CallSerializer(CachedFieldsModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    contact = serializers.SerializerMethodField()
    agent = serializers.SerializerMethodField()
    minutes = serializers.IntegerField(read_only=True)
    has_recording = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "status",
            "status_label",
            "outcome",
            "outcome_label",
            "direction",
            "source",
            "campaign_ref",
            "attempt_key",
            "to_number",
            "from_number",
            "contact",
            "agent",
            "answered_by",
            "voicemail_left",
            "duration_seconds",
            "minutes",
            "price",
            "price_unit",
            "analysis_status",
            "has_recording",
            "error_code",
            "error_message",
            "created_at",
            "answered_at",
            "ended_at",
        ]
        read_only_fields = fields

    def get_contact(self, call: Call) -> dict[str, Any] | None:
        contact = call.contact
        return {"id": contact.pk, "name": contact.full_name, "phone": contact.phone} if contact else None

    def get_agent(self, call: Call) -> dict[str, Any] | None:
        return {"id": str(call.agent.pk), "name": call.agent.name} if call.agent else None

    def get_has_recording(self, call: Call) -> bool:
        return bool(call.recording_sid)


class ToolCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolInvocation
        fields = ["tool", "arguments", "result", "status", "duration_ms", "created_at"]


class BookingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Booking
        fields = ["id", "status", "start_at", "time_zone", "attendee_name", "attendee_email", "event_type_id"]


class CallDetailSerializer(CallSerializer):
    tool_calls = serializers.SerializerMethodField()
    bookings = serializers.SerializerMethodField()
    recording_url = serializers.SerializerMethodField()

    class Meta(CallSerializer.Meta):
        fields = [
            *CallSerializer.Meta.fields,
            "twilio_call_sid",
            "conversation_id",
            "summary",
            "summary_title",
            "call_successful",
            "outcomes",
            "evaluation",
            "transcript",
            "termination_reason",
            "timeline",
            "tool_calls",
            "bookings",
            "recording_url",
        ]
        read_only_fields = fields

    def get_tool_calls(self, call: Call) -> list[dict[str, Any]]:
        from calls.selectors import call_tool_invocations

        return ToolCallSerializer(call_tool_invocations(call), many=True).data

    def get_bookings(self, call: Call) -> list[dict[str, Any]]:
        from calls.selectors import call_bookings

        return BookingSerializer(call_bookings(call), many=True).data

    def get_recording_url(self, call: Call) -> str | None:
        """Our own URL (streamed with the account's Twilio credentials), never Twilio's."""
        return reverse("api:call-recording", args=[call.pk]) if call.recording_sid else None


class CallCreateSerializer(serializers.Serializer):
    contact = serializers.IntegerField(required=False, help_text=_("The contact to call"))
    to_number = serializers.CharField(
        required=False, max_length=40, help_text=_("Without a contact: a number to call (a test call)")
    )
    agent = serializers.UUIDField(help_text=_("The agent that talks"))
    from_number = serializers.CharField(required=False, max_length=16, help_text=_("One of your Twilio numbers"))
    attempt_key = serializers.CharField(
        required=False,
        max_length=150,
        help_text=_("The same key never places a second call (the Idempotency-Key header works too)"),
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("contact" in data) == ("to_number" in data):
            raise serializers.ValidationError({"contact": [_("Give either a contact or a number to call.")]})
        return data


class CallSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallSettings
        fields = ["machine_detection", "record_calls", "ring_timeout"]


class TenantWebhookSerializer(CachedFieldsModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=TenantEvent.choices), allow_empty=False)

    class Meta:
        model = TenantWebhook
        fields = ["id", "url", "description", "events", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TenantWebhookCreatedSerializer(TenantWebhookSerializer):
    secret = serializers.SerializerMethodField(
        help_text=_("Shown only in this answer: keep it to check the signatures")
    )

    class Meta(TenantWebhookSerializer.Meta):
        fields = [*TenantWebhookSerializer.Meta.fields, "secret"]

    def get_secret(self, endpoint: TenantWebhook) -> str:
        return self.context["secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = TenantWebhookAttempt
        fields = ["at", "status_code", "error", "duration_ms", "response_excerpt"]


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = TenantWebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "call",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "attempt_log",
        ]
