"""Operator views of every tenant's campaigns and their contacts.

Read-only: a campaign changes through its owner's dashboard and the dialer. The operator's levers
are actions that call the same services (pause, cancel), so an operator's pause is exactly a
tenant's pause. Nothing here is secret (no credentials live on these rows); the campaign page
shows its figures from `campaign_stats` (a few grouped queries, not one per contact).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignContact
from prixagent.errors import ApplicationError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "account",
        "state",
        "agent",
        "calls_per_second",
        "max_concurrent",
        "next_due_at",
        "created_at",
    ]
    list_filter = ["state", "target", "state_reason", "account__status"]
    search_fields = ["id", "name", "account__slug", "account__name", "agent__name"]
    list_select_related = ["account", "agent"]
    date_hierarchy = "created_at"
    actions = ["pause", "cancel"]
    exclude = ["target_tags"]
    readonly_fields = [f.name for f in Campaign._meta.fields] + ["tags", "counts"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).prefetch_related("target_tags")

    @admin.display(description=_("tags"))
    def tags(self, campaign: Campaign) -> str:
        return ", ".join(t.name for t in campaign.target_tags.all()) or "—"

    @admin.display(description=_("contacts by state"))
    def counts(self, campaign: Campaign) -> str:
        stats = selectors.campaign_stats(campaign)
        rows = [(state, n) for state, n in stats["by_state"].items() if n]
        rows += [("attempts", stats["attempts"]), ("calls", stats["calls"]), ("minutes", stats["minutes"])]
        return format_html_join(", ", "{}: {}", rows)

    def _apply(self, request: HttpRequest, queryset: QuerySet[Campaign], verb: str) -> None:
        action = {"pause": services.campaign_pause, "cancel": services.campaign_cancel}[verb]
        done, refused = 0, []
        for campaign in queryset.select_related("account", "agent"):
            try:
                action(campaign=campaign, actor=request.user)
            except ApplicationError as exc:
                refused.append(f"{campaign.name}: {exc.message}")
            else:
                done += 1
        self.message_user(request, f"{verb}: {done} campaign(s).", messages.INFO)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description=_("Pause (the dialer stops placing their calls at once)"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._apply(request, queryset, "pause")

    @admin.action(description=_("Cancel (their queued contacts are skipped)"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._apply(request, queryset, "cancel")


@admin.register(CampaignContact)
class CampaignContactAdmin(ReadOnlyAdmin):
    list_display = ["contact", "campaign", "account", "state", "skip_reason", "outcome", "attempts", "due_at"]
    list_filter = ["state", "skip_reason", "outcome"]
    search_fields = ["contact__phone", "campaign__name", "account__slug"]
    list_select_related = ["contact", "campaign", "account"]
    show_full_result_count = False  # COUNT(*) over every campaign's contacts is not worth it
    readonly_fields = [f.name for f in CampaignContact._meta.fields]
