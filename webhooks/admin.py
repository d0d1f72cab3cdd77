"""Incoming webhooks for the operator: what arrived, whether it was signed, what happened; replay."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from webhooks.models import InboundWebhook
from webhooks.services import webhook_replay


@admin.register(InboundWebhook)
class InboundWebhookAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "endpoint", "event_type", "account", "signature_valid", "status"]
    list_filter = ["provider", "status", "signature_valid", "endpoint"]
    search_fields = ["event_id", "account__name", "account__slug"]
    list_select_related = ["account"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    readonly_fields = [f.name for f in InboundWebhook._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: InboundWebhook | None = None) -> bool:
        return False

    @admin.action(description=_("Replay the selected webhooks"))
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundWebhook]) -> None:
        for webhook in queryset:
            try:
                status = webhook_replay(webhook=webhook)
            except ValueError as exc:
                self.message_user(request, f"{webhook.pk}: {exc}", messages.ERROR)
                continue
            level = messages.ERROR if status == InboundWebhook.Status.FAILED else messages.SUCCESS
            self.message_user(request, f"{webhook.pk}: {status}", level)
