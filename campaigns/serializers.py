"""API shapes for campaigns, their preview, figures and contacts.

Input serializers check types and sizes only; `campaigns.services` checks meaning (the agent and
tags are the account's, numbers are its Twilio numbers, the window and dates make sense, the plan
allows another campaign) and answers 400 with field messages. The account is never an input.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from campaigns.models import Campaign, CampaignContact, RetryOn
from prixagent.serializers import CachedFieldsModelSerializer


class NamedSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class CampaignSerializer(CachedFieldsModelSerializer):
    agent = serializers.SerializerMethodField()
    target_tags = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "agent",
            "from_numbers",
            "target",
            "target_tags",
            "target_filter",
            "start_date",
            "end_date",
            "weekdays",
            "window_start",
            "window_end",
            "calls_per_second",
            "max_concurrent",
            "max_attempts",
            "retry_delays",
            "state",
            "state_label",
            "state_reason",
            "state_message",
            "started_at",
            "ended_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_agent(self, campaign: Campaign) -> dict[str, str]:
        return {"id": str(campaign.agent_id), "name": campaign.agent.name}

    def get_target_tags(self, campaign: Campaign) -> list[dict[str, Any]]:
        # `.all()` reads the list's prefetch (campaigns_for): no query per campaign.
        return [{"id": tag.pk, "name": tag.name} for tag in campaign.target_tags.all()]


class RetryDelaysSerializer(serializers.Serializer):
    """Minutes before another attempt after each result; null: no retry after it."""

    no_answer = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    busy = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    voicemail = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    failed = serializers.IntegerField(min_value=0, allow_null=True, required=False)


WRITE_FIELDS = (
    "name",
    "agent",
    "from_numbers",
    "target",
    "target_tags",
    "target_filter",
    "start_date",
    "end_date",
    "weekdays",
    "window_start",
    "window_end",
    "calls_per_second",
    "max_concurrent",
    "max_attempts",
    "retry_delays",
)


class CampaignWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    agent = serializers.UUIDField(help_text=_("One of your agents"))
    from_numbers = serializers.ListField(
        child=serializers.CharField(max_length=16),
        max_length=50,
        required=False,
        help_text=_("Your Twilio numbers to call from, in turn (empty: the agent's default number)"),
    )
    target = serializers.ChoiceField(choices=Campaign.Target.choices, required=False)
    target_tags = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100, required=False, help_text=_("Tag ids")
    )
    target_filter = serializers.DictField(
        required=False, help_text=_("The contacts list's filter parameters (q, tag, time_zone, source…)")
    )
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        max_length=7,
        required=False,
        help_text=_("0 = Monday"),
    )
    window_start = serializers.TimeField(required=False, help_text=_("HH:MM in each contact's local time"))
    window_end = serializers.TimeField(required=False, help_text=_("HH:MM in each contact's local time"))
    calls_per_second = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    max_concurrent = serializers.IntegerField(min_value=1, required=False)
    max_attempts = serializers.IntegerField(min_value=1, required=False)
    retry_delays = RetryDelaysSerializer(required=False)

    def service_data(self) -> dict[str, Any]:
        """The validated input in the services' terms: ISO dates, "HH:MM" times, str ids."""
        data: dict[str, Any] = {}
        for name, value in self.validated_data.items():
            if name in ("start_date", "end_date"):
                value = value.isoformat() if value else None
            elif name in ("window_start", "window_end"):
                value = value.strftime("%H:%M")
            elif name in ("agent", "calls_per_second"):
                value = str(value)
            elif name == "retry_delays":
                value = {key: value.get(key) for key in RetryOn.values if key in value}
            data[name] = value
        return data


class PreviewSerializer(serializers.Serializer):
    class NotCallableSerializer(serializers.Serializer):
        do_not_call = serializers.IntegerField()
        outside_window = serializers.IntegerField()
        invalid_number = serializers.IntegerField()
        already_reached = serializers.IntegerField()

    total = serializers.IntegerField()
    callable_now = serializers.IntegerField()
    callable_later = serializers.IntegerField(help_text=_("Outside their window now, inside it later"))
    not_callable = NotCallableSerializer()
    calls_per_second = serializers.CharField()
    estimated_seconds = serializers.IntegerField(allow_null=True)
    estimated_finish = serializers.DateTimeField(allow_null=True)


class StatsSerializer(serializers.Serializer):
    contacts = serializers.IntegerField()
    done = serializers.IntegerField()
    progress = serializers.FloatField(allow_null=True, help_text=_("Share of contacts in a final state"))
    by_state = serializers.DictField(child=serializers.IntegerField(), help_text=_("Contacts per state"))
    by_outcome = serializers.DictField(child=serializers.IntegerField(), help_text=_("Answered contacts per outcome"))
    attempts = serializers.IntegerField()
    calls = serializers.IntegerField()
    answered = serializers.IntegerField()
    answer_rate = serializers.FloatField(allow_null=True, help_text=_("Answered by a person / calls that rang"))
    bookings = serializers.IntegerField()
    minutes = serializers.IntegerField(help_text=_("Billable minutes (each call rounded up)"))
    cost = serializers.DictField(child=serializers.CharField(), help_text=_("Twilio's price per currency"))


class CampaignMemberSerializer(serializers.ModelSerializer):
    contact = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    last_call = serializers.SerializerMethodField()

    class Meta:
        model = CampaignContact
        fields = [
            "id",
            "contact",
            "state",
            "state_label",
            "skip_reason",
            "outcome",
            "attempts",
            "due_at",
            "last_result",
            "last_call",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_contact(self, member: CampaignContact) -> dict[str, Any]:
        contact = member.contact
        return {"id": contact.pk, "name": contact.full_name, "phone": contact.phone, "time_zone": contact.time_zone}

    def get_last_call(self, member: CampaignContact) -> dict[str, Any] | None:
        call = member.last_call
        return {"id": str(call.pk), "status": call.status, "outcome": call.outcome} if call else None
