"""The operator's billing tools: plans (edited here, mirrored to PayPal by `sync_paypal_plans` or
the action), each account's billing with its PayPal subscription, revenue per month and the
active / trial / past-due / suspended counts, actions to comp a month or move a plan.
Subscriptions and payments are read-only: PayPal is their source."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from billing import selectors, services
from billing.catalog import plans_sync_paypal
from billing.models import BillingProfile, BillingStatus, Payment, Plan, Subscription, UsageRecord
from integrations.providers.base import ProviderError
from prixagent.errors import ApplicationError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "monthly_price",
        "currency",
        "included_minutes",
        "concurrent_calls",
        "agents",
        "contacts",
        "campaigns",
        "overage_price_per_minute",
        "trial_days",
        "is_signup_plan",
        "is_public",
        "paypal_plan_id",
        "paypal_synced_at",
    ]
    list_filter = ["is_public", "is_signup_plan", "currency"]
    search_fields = ["code", "name", "paypal_plan_id"]
    readonly_fields = ["paypal_plan_id", "paypal_product_id", "paypal_synced_at"]
    actions = ["sync_with_paypal"]

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            count = services.plan_refresh_accounts(plan=obj)
            self.message_user(request, f"Limits updated on {count} account(s) on this plan.")
        if obj.is_paid:
            self.message_user(request, "Run “Sync with PayPal” (or manage.py sync_paypal_plans) to update PayPal.")

    @admin.action(description="Sync with PayPal (create or update the PayPal plans)")
    def sync_with_paypal(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        try:
            counts = plans_sync_paypal()
        except ProviderError as exc:
            self.message_user(request, f"PayPal: {exc.message}", messages.ERROR)
            return
        self.message_user(request, ", ".join(f"{n} {outcome}" for outcome, n in counts.items()))


class BillingActionForm(helpers.ActionForm):
    plan = forms.ModelChoiceField(Plan.objects.all(), required=False, label="Plan (for “Move to plan”)")


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "plan",
        "billing_status",
        "paypal_subscription",
        "paid_through",
        "trial_ends_at",
        "comped_until",
        "suspended_by_billing",
    ]
    list_filter = ["account__subscription_status", "plan", "suspended_by_billing"]
    search_fields = ["account__name", "account__slug", "account__email", "subscription__paypal_subscription_id"]
    list_select_related = ["account", "plan", "subscription"]
    readonly_fields = [f.name for f in BillingProfile._meta.fields]
    action_form = BillingActionForm
    actions = ["comp_month", "move_plan", "refresh_from_paypal"]
    change_list_template = "admin/billing/billingprofile/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Billing status", ordering="account__subscription_status")
    def billing_status(self, obj: BillingProfile) -> str:
        status = obj.account.subscription_status
        return BillingStatus(status).label if status in BillingStatus.values else status or "—"

    @admin.display(description="PayPal subscription", ordering="subscription__paypal_subscription_id")
    def paypal_subscription(self, obj: BillingProfile) -> str:
        sub = obj.subscription
        return f"{sub.paypal_subscription_id} ({sub.status})" if sub else "—"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        counts = selectors.status_counts()
        extra = {
            "revenue": selectors.revenue_by_month(),
            "status_counts": [(BillingStatus(key).label, value) for key, value in counts.items()],
        }
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    @admin.action(description="Comp a month (free month, lifts a billing suspension)")
    def comp_month(self, request: HttpRequest, queryset: QuerySet[BillingProfile]) -> None:
        for profile in queryset.select_related("account"):
            try:
                until = services.billing_comp_month(account=profile.account, actor=request.user.email)
            except ApplicationError as exc:
                self.message_user(request, f"{profile.account}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"{profile.account}: comped until {until:%Y-%m-%d}")

    @admin.action(description="Move to plan (choose the plan next to the action)")
    def move_plan(self, request: HttpRequest, queryset: QuerySet[BillingProfile]) -> None:
        plan = Plan.objects.filter(pk=request.POST.get("plan") or None).first()
        if plan is None:
            self.message_user(request, "Choose the plan next to the action menu.", messages.ERROR)
            return
        for profile in queryset.select_related("account"):
            services.billing_move_plan(account=profile.account, plan=plan, actor=request.user.email)
        self.message_user(request, f"{queryset.count()} account(s) moved to {plan}.")

    @admin.action(description="Fetch the subscription from PayPal now")
    def refresh_from_paypal(self, request: HttpRequest, queryset: QuerySet[BillingProfile]) -> None:
        for profile in queryset.select_related("subscription"):
            if profile.subscription is None:
                continue
            try:
                services.subscription_refresh(subscription=profile.subscription)
            except ApplicationError as exc:
                self.message_user(request, f"{profile.account}: {exc.message}", messages.ERROR)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "paypal_subscription_id",
        "account",
        "plan",
        "status",
        "failed_payments",
        "outstanding",
        "next_billing_at",
        "pending_plan",
        "fetched_at",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["paypal_subscription_id", "account__name", "account__slug"]
    list_select_related = ["account", "plan", "pending_plan"]
    date_hierarchy = "created_at"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["paid_at", "account", "kind", "amount", "currency", "reference", "note"]
    list_filter = ["kind", "currency"]
    search_fields = ["reference", "account__name", "account__slug"]
    list_select_related = ["account"]
    date_hierarchy = "paid_at"


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["day", "account", "minutes", "seconds", "call_id"]
    search_fields = ["account__name", "account__slug", "call_id"]
    list_select_related = ["account"]
    date_hierarchy = "day"
