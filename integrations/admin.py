"""Operator view of every tenant's integrations: status, last validation, last error, audit trail.

Nothing here can show a secret: these models hold none, and the credentials on the account
are only ever shown as masked hints.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from integrations import selectors, services
from integrations.models import IntegrationEvent, IntegrationStatus
from integrations.registry import PROVIDERS
from prixagent.errors import ApplicationError

RECENT_EVENTS = 20


class ReadOnlyAdmin(admin.ModelAdmin):
    """State changes only through services (the action below), never by editing rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IntegrationStatus)
class IntegrationStatusAdmin(ReadOnlyAdmin):
    list_display = ["account", "provider", "configured", "failing", "last_validated_at", "short_error"]
    list_filter = ["provider", "failing", "account__status"]
    search_fields = ["account__name", "account__slug", "account__email", "last_error"]
    list_select_related = ["account"]
    date_hierarchy = "last_validated_at"
    actions = ["test_credentials"]
    fields = [
        "account",
        "provider",
        "configured",
        "hints",
        "last_validated_at",
        "failing",
        "failing_since",
        "last_error",
        "details",
        "recent_events",
    ]
    readonly_fields = fields

    @admin.display(boolean=True, description=_("configured"))
    def configured(self, obj: IntegrationStatus) -> bool:
        return bool(getattr(obj.account, PROVIDERS[obj.provider].flag))

    @admin.display(description=_("credentials"))
    def hints(self, obj: IntegrationStatus) -> str:
        item = selectors.integration_get(obj.account, obj.provider)
        return ", ".join(f"{name}: {hint}" for name, hint in item["hints"].items()) or "—"

    @admin.display(description=_("last error"))
    def short_error(self, obj: IntegrationStatus) -> str:
        return obj.last_error[:80]

    @admin.display(description=_("recent events"))
    def recent_events(self, obj: IntegrationStatus) -> str:
        events = selectors.integration_events(obj.account, obj.provider)[:RECENT_EVENTS]
        rows = ((e.created_at, e.actor_label, e.action, e.outcome, e.message) for e in events)
        return format_html_join("", "<div>{} · {} · {} · {} · {}</div>", rows) or "—"

    @admin.action(description=_("Test credentials with the provider"))
    def test_credentials(self, request: HttpRequest, queryset: QuerySet[IntegrationStatus]) -> None:
        for status in queryset.select_related("account"):
            label = f"{status.account.slug} / {status.get_provider_display()}"
            try:
                services.integration_test(account=status.account, provider=status.provider, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{label}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{label}: {_('valid')}", messages.SUCCESS)


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(ReadOnlyAdmin):
    """The append-only audit trail."""

    list_display = ["created_at", "account", "provider", "action", "outcome", "actor_label", "message"]
    list_filter = ["provider", "action", "outcome"]
    search_fields = ["account__name", "account__slug", "actor_label", "message"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = ["created_at", "account", "actor", "actor_label", "provider", "action", "outcome", "message"]
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
