"""API shapes for agents. Serializers check types; `agents.services` checks the business rules
(prompt variables, numbers, voices), so the dashboard and the API refuse the same things."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agents.models import (
    LLM_CHOICES,
    Agent,
    AgentAccountSettings,
    DataType,
    Language,
    Tool,
    ToolInvocation,
)
from agents.presets import PRESETS


class OutcomeSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64, help_text=_("lower_case_id, as it appears in the call's analysis"))
    type = serializers.ChoiceField(choices=DataType.choices)
    description = serializers.CharField(max_length=1000, help_text=_("What the analysis should extract"))


class CriterionSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120)
    goal = serializers.CharField(max_length=1000, help_text=_("What a successful call achieves"))


class SyncSerializer(serializers.Serializer):
    status = serializers.CharField(source="sync_status")
    error = serializers.CharField(source="sync_error")
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(source="sync_attempted_at", allow_null=True)
    elevenlabs_agent_id = serializers.CharField()
    elevenlabs_version = serializers.CharField(source="remote_revision")
    workspace = serializers.SerializerMethodField()
    theirs = serializers.SerializerMethodField(help_text=_("ElevenLabs' version of the fields, when drifted"))

    def get_workspace(self, agent: Agent) -> str | None:
        if agent.workspace_id is None:
            return None
        return "platform" if agent.workspace.is_platform else "tenant"

    def get_theirs(self, agent: Agent) -> dict[str, Any] | None:
        if agent.sync_status != Agent.SyncStatus.DRIFTED or not agent.remote_snapshot:
            return None
        return agent.remote_snapshot.get("fields")


class AgentSerializer(serializers.ModelSerializer):
    """Every field optional on input: the service fills defaults and reports what is missing."""

    language = serializers.ChoiceField(choices=Language.choices, required=False)
    llm = serializers.ChoiceField(choices=LLM_CHOICES, required=False)
    temperature = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    max_call_seconds = serializers.IntegerField(min_value=30, max_value=3600, required=False)
    data_collection = OutcomeSerializer(many=True, required=False)
    evaluation_criteria = CriterionSerializer(many=True, required=False)
    tools = serializers.ListField(child=serializers.ChoiceField(choices=Tool.choices), required=False)
    inbound_numbers = serializers.ListField(
        child=serializers.CharField(max_length=16),
        required=False,
        write_only=True,  # read back in to_representation, from the related rows
        help_text=_("Numbers of your Twilio account whose inbound calls this agent answers"),
    )
    sync = SyncSerializer(source="*", read_only=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "template",
            "language",
            "first_message",
            "system_prompt",
            "voice_id",
            "llm",
            "temperature",
            "max_call_seconds",
            "voicemail_message",
            "data_collection",
            "evaluation_criteria",
            "tools",
            "calcom_event_type_id",
            "default_from_number",
            "inbound_numbers",
            "sync",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "template", "created_at", "updated_at"]
        extra_kwargs = {
            "name": {"required": False},
            "system_prompt": {"required": False},
            "voice_id": {"required": False},
            "first_message": {"required": False, "allow_blank": True},
            "voicemail_message": {"required": False, "allow_blank": True},
            "default_from_number": {"required": False, "allow_blank": True},
        }

    def to_representation(self, agent: Agent) -> dict[str, Any]:
        data = super().to_representation(agent)
        data["inbound_numbers"] = [n.phone_number for n in agent.inbound_numbers.all()]
        return data


class AgentCreateSerializer(AgentSerializer):
    template = serializers.ChoiceField(
        choices=[(slug, p.title) for slug, p in PRESETS.items()],
        required=False,
        help_text=_("Start from a template: fields you send override it"),
    )

    class Meta(AgentSerializer.Meta):
        read_only_fields = ["id", "created_at", "updated_at"]


class TemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    tools = serializers.ListField(child=serializers.CharField())


class VoiceSerializer(serializers.Serializer):
    voice_id = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField())


class VariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class ToolInvocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolInvocation
        fields = [
            "id",
            "created_at",
            "tool",
            "status",
            "arguments",
            "result",
            "duration_ms",
            "call_id",
            "conversation_id",
            "contact",
        ]
        read_only_fields = fields


class AgentSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentAccountSettings
        fields = ["no_email_policy", "placeholder_email"]
        extra_kwargs = {"placeholder_email": {"required": False, "allow_blank": True}}
