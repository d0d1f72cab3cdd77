"""Operator view of agents, their ElevenLabs sync and what their tools did.

Read-mostly: agents change through the tenant's dashboard or API (so every change is validated
and pushed); the operator's lever is the "re-sync" action, which calls the same service. The
workspace's webhook secret is shown only masked; tool session tokens are never stored at all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agents import sync
from agents.models import Agent, AgentInboundNumber, Booking, ElevenLabsWorkspace, ToolInvocation, ToolSession
from prixagent.crypto import DecryptionError, mask


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InboundNumberInline(admin.TabularInline):
    model = AgentInboundNumber
    fields = ["phone_number"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "language", "sync_status", "workspace_kind", "last_synced_at", "short_error"]
    list_filter = ["sync_status", "language", "sync_error_permanent", "template", "account__status"]
    search_fields = ["name", "account__name", "account__slug", "elevenlabs_agent_id", "sync_error"]
    list_select_related = ["account", "workspace"]
    date_hierarchy = "created_at"
    actions = ["resync"]
    inlines = [InboundNumberInline]
    readonly_fields = [
        "id",
        "account",
        "name",
        "template",
        "language",
        "voice_id",
        "llm",
        "temperature",
        "max_call_seconds",
        "first_message",
        "system_prompt",
        "voicemail_message",
        "data_collection",
        "evaluation_criteria",
        "tools",
        "calcom_event_type_id",
        "default_from_number",
        "workspace",
        "elevenlabs_agent_id",
        "remote_revision",
        "sync_status",
        "sync_error",
        "sync_error_permanent",
        "sync_attempted_at",
        "last_synced_at",
        "remote_snapshot",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields

    @admin.display(description=_("workspace"))
    def workspace_kind(self, agent: Agent) -> str:
        if agent.workspace is None:
            return "—"
        return str(_("platform")) if agent.workspace.is_platform else str(_("tenant"))

    @admin.display(description=_("last sync error"))
    def short_error(self, agent: Agent) -> str:
        return agent.sync_error[:80]

    @admin.action(description=_("Re-sync with ElevenLabs (push PrixAgent's version)"))
    def resync(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        for agent in queryset.select_related("account"):
            done = sync.agent_sync(agent=agent, force=True)
            if done.sync_status == Agent.SyncStatus.SYNCED:
                self.message_user(request, f"{agent.account.slug} / {agent.name}: {_('pushed')}", messages.SUCCESS)
            else:
                self.message_user(request, f"{agent.account.slug} / {agent.name}: {done.sync_error}", messages.ERROR)


@admin.register(ElevenLabsWorkspace)
class ElevenLabsWorkspaceAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "account", "webhook_id", "secret", "tool_count", "updated_at"]
    list_filter = [("account", admin.EmptyFieldListFilter)]
    search_fields = ["account__name", "account__slug", "webhook_id", "public_id"]
    list_select_related = ["account"]
    fields = [
        "id",
        "account",
        "public_id",
        "webhook_id",
        "webhook_url",
        "secret",
        "tool_ids",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("webhook secret"))
    def secret(self, workspace: ElevenLabsWorkspace) -> str:
        try:
            return mask(workspace.webhook_secret) or "—"
        except DecryptionError:
            return str(_("unreadable"))

    @admin.display(description=_("tools"))
    def tool_count(self, workspace: ElevenLabsWorkspace) -> int:
        return len(workspace.tool_ids or {})


@admin.register(ToolSession)
class ToolSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "agent",
        "contact",
        "call_id",
        "conversation_id",
        "created_at",
        "expires_at",
        "closed_at",
    ]
    list_filter = [("closed_at", admin.EmptyFieldListFilter)]
    search_fields = ["account__slug", "conversation_id", "call_id"]
    list_select_related = ["account", "agent", "contact"]
    date_hierarchy = "created_at"
    exclude = ["token_hash"]
    readonly_fields = ["account", "agent", "contact", "call_id", "phone", "conversation_id", "expires_at", "closed_at"]


@admin.register(ToolInvocation)
class ToolInvocationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "agent", "tool", "status", "duration_ms", "conversation_id"]
    list_filter = ["tool", "status"]
    search_fields = ["account__slug", "agent__name", "conversation_id"]
    list_select_related = ["account", "agent"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "account",
        "session",
        "agent",
        "contact",
        "call_id",
        "conversation_id",
        "tool",
        "arguments",
        "result",
        "status",
        "duration_ms",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "agent", "contact", "status", "start_at", "calcom_uid"]
    list_filter = ["status"]
    search_fields = ["account__slug", "calcom_uid", "attendee_email", "conversation_key"]
    list_select_related = ["account", "agent", "contact"]
    date_hierarchy = "start_at"
    fields = [
        "account",
        "agent",
        "contact",
        "session",
        "call_id",
        "conversation_key",
        "status",
        "event_type_id",
        "start_at",
        "time_zone",
        "attendee_name",
        "attendee_email",
        "calcom_uid",
        "error",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
