"""Operator view of calls, call settings and tenant webhooks.

Read-mostly: calls change only through Twilio's and ElevenLabs' webhooks (and recovery). The
operator's levers are actions that call the same services: ask Twilio now (recovery for an
unknown attempt, a fetch for a call stuck live), fetch the conversation from ElevenLabs, retry
a tenant webhook delivery. A tenant webhook's secret is never shown, not even masked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls import recovery, tenant_webhooks
from calls.models import Call, CallSettings, Status, TenantWebhook, TenantWebhookAttempt, TenantWebhookDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "direction",
        "far_number",
        "agent",
        "status",
        "outcome",
        "duration_seconds",
        "analysis_status",
        "source",
    ]
    list_filter = ["status", "outcome", "direction", "source", "analysis_status", "voicemail_left", "account__status"]
    search_fields = [
        "id",
        "twilio_call_sid",
        "conversation_id",
        "attempt_key",
        "to_number",
        "from_number",
        "account__slug",
    ]
    list_select_related = ["account", "agent"]
    date_hierarchy = "created_at"
    actions = ["check_at_twilio", "fetch_conversation"]
    exclude = ["transcript"]
    readonly_fields = [f.name for f in Call._meta.fields if f.name != "transcript"] + ["transcript_text"]

    @admin.display(description=_("transcript"))
    def transcript_text(self, call: Call) -> str:
        return "\n".join(f"{t['role']}: {t['message']}" for t in call.transcript if t.get("message"))

    @admin.action(description=_("Ask Twilio now (unknown attempts, calls stuck live)"))
    def check_at_twilio(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        for call in queryset.select_related("account", "agent"):
            with transaction.atomic():
                locked = Call.objects.select_for_update(of=("self",)).select_related("account", "agent").get(pk=call.pk)
                if locked.status in (Status.PENDING, Status.UNKNOWN):
                    outcome = recovery.recover_one(locked)
                elif locked.is_live and locked.twilio_call_sid:
                    outcome = recovery.refresh_one(locked, timezone.now())
                else:
                    outcome = "nothing to do"
            self.message_user(request, f"{call.pk}: {outcome}", messages.INFO)

    @admin.action(description=_("Fetch the conversation from ElevenLabs now"))
    def fetch_conversation(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        for call in queryset.select_related("account", "agent__workspace", "tool_session"):
            outcome = recovery.reconcile_one(call, timezone.now()) if call.is_terminal and call.agent_id else "no agent"
            self.message_user(request, f"{call.pk}: {outcome}", messages.INFO)


@admin.register(CallSettings)
class CallSettingsAdmin(ReadOnlyAdmin):
    list_display = ["account", "machine_detection", "record_calls", "ring_timeout", "updated_at"]
    list_filter = ["machine_detection", "record_calls"]
    search_fields = ["account__name", "account__slug"]
    list_select_related = ["account"]
    readonly_fields = ["account", "machine_detection", "record_calls", "ring_timeout", "inbound_id", "updated_at"]


@admin.register(TenantWebhook)
class TenantWebhookAdmin(ReadOnlyAdmin):
    list_display = ["url", "account", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "account__name", "account__slug"]
    list_select_related = ["account"]
    exclude = ["secret"]  # never shown, not even masked: the tenant rolls a new one if lost
    readonly_fields = ["id", "account", "url", "description", "events", "is_active", "created_at", "updated_at"]


class AttemptInline(admin.TabularInline):
    model = TenantWebhookAttempt
    fields = ["at", "status_code", "error", "duration_ms", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TenantWebhookDelivery)
class TenantWebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "event_type", "endpoint", "state", "attempts", "last_status_code"]
    list_filter = ["state", "event_type"]
    search_fields = ["event_id", "account__slug", "endpoint__url"]
    list_select_related = ["account", "endpoint"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    actions = ["retry_now"]
    readonly_fields = [f.name for f in TenantWebhookDelivery._meta.fields]

    @admin.action(description=_("Retry now (also deliveries that gave up)"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[TenantWebhookDelivery]) -> None:
        retried = queryset.exclude(state=TenantWebhookDelivery.State.DELIVERED).exclude(
            state=TenantWebhookDelivery.State.REFUSED
        )
        ids = list(retried.values_list("pk", flat=True))
        retried.update(state=TenantWebhookDelivery.State.PENDING, next_attempt_at=timezone.now())
        outcomes = [tenant_webhooks.tenant_webhook_deliver(delivery_id=pk) for pk in ids]
        self.message_user(request, ", ".join(outcomes) or str(_("nothing to retry")), messages.INFO)
