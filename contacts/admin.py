"""Operator views of every tenant's contacts, imports, do-not-call lists and GoHighLevel syncs.

Read-mostly: rows are not edited here (the tenant owns its data); the actions call the same
services as the dashboard, so the do-not-call list and the contact flags stay in step.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contacts import ghl_sync, imports, services
from contacts.models import Contact, DoNotCallEntry, GhlSyncState, ImportJob, Tag
from prixagent.errors import ApplicationError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "phone", "account", "source", "time_zone", "do_not_call", "consent_status", "created_at"]
    list_filter = ["source", "do_not_call", "consent_status", "time_zone_source", "ghl_push_pending"]
    search_fields = ["phone", "email", "first_name", "last_name", "company", "account__slug", "account__name"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) over every tenant's contacts is not worth it
    exclude = ["tags", "search_text"]
    readonly_fields = ["tag_names"]
    actions = ["add_to_dnc", "remove_from_dnc"]

    @admin.display(description="tags")
    def tag_names(self, contact: Contact) -> str:
        return ", ".join(t.name for t in contact.tags.all()) or "—"

    @admin.action(description="Add to the account's do-not-call list")
    def add_to_dnc(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset.select_related("account"):
            services.dnc_add(account=contact.account, phone=contact.phone, reason="Operator", added_by="operator")
        self.message_user(request, f"{queryset.count()} number(s) on the do-not-call list.")

    @admin.action(description="Remove from the account's do-not-call list")
    def remove_from_dnc(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset.select_related("account"):
            services.dnc_remove(account=contact.account, phone=contact.phone)
        self.message_user(request, f"{queryset.count()} number(s) off the do-not-call list.")


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "created_at"]
    search_fields = ["name", "account__slug", "account__name"]
    list_select_related = ["account"]


@admin.register(DoNotCallEntry)
class DoNotCallEntryAdmin(ReadOnlyAdmin):
    list_display = ["phone", "account", "source", "reason", "added_by", "created_at"]
    list_filter = ["source"]
    search_fields = ["phone", "account__slug", "account__name", "reason"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"

    def delete_model(self, request: HttpRequest, obj: DoNotCallEntry) -> None:
        services.dnc_remove(account=obj.account, phone=obj.phone)  # also clears the contact's flag

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DoNotCallEntry]) -> None:
        for entry in queryset.select_related("account"):
            services.dnc_remove(account=entry.account, phone=entry.phone)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "file_name",
        "account",
        "kind",
        "status",
        "rows_read",
        "created",
        "updated",
        "skipped",
        "invalid",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "kind", "policy"]
    search_fields = ["file_name", "account__slug", "account__name", "created_by_label"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    exclude = ["preview"]  # the tenant's data: only the figures are the operator's business
    actions = ["resume", "cancel"]

    @admin.action(description="Resume (interrupted imports)")
    def resume(self, request: HttpRequest, queryset: QuerySet[ImportJob]) -> None:
        for job in queryset:
            try:
                imports.import_job_resume(job=job)
            except ApplicationError as exc:
                self.message_user(request, f"{job.file_name}: {exc.message}", level=messages.WARNING)

    @admin.action(description="Cancel (keeps imported rows, deletes the file)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[ImportJob]) -> None:
        for job in queryset:
            imports.import_job_cancel(job=job)


@admin.register(GhlSyncState)
class GhlSyncStateAdmin(ReadOnlyAdmin):
    list_display = ["account", "status", "last_finished_at", "pulled", "pushed", "quota_reset_at", "message"]
    list_filter = ["status"]
    search_fields = ["account__slug", "account__name"]
    list_select_related = ["account"]
    actions = ["sync_now"]

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[GhlSyncState]) -> None:
        for state in queryset.select_related("account"):
            try:
                ghl_sync.ghl_sync_enqueue(account=state.account, reason="operator")
            except ApplicationError as exc:
                self.message_user(request, f"{state.account.slug}: {exc.message}", level=messages.WARNING)
