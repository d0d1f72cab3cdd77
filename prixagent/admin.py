"""The outbox for the operator: what is waiting, what was parked and why; resume parked writes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prixagent.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "key", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "account__name", "account__slug"]
    list_select_related = ["account"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["resume"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    @admin.action(description=_("Retry the selected parked messages now"))
    def resume(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = queryset.filter(status=OutboxMessage.Status.PARKED).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), updated_at=timezone.now()
        )
        self.message_user(request, _("%(count)d message(s) will be retried.") % {"count": count}, messages.SUCCESS)
