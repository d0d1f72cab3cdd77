"""Billing: metered usage, plans, PayPal subscriptions, payments, each account's billing state."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UsageRecord(models.Model):
    """One metered call. Unique per call, so a repeated or replayed webhook never counts twice."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="usage_records")
    call_id = models.UUIDField(_("call"), unique=True)
    seconds = models.PositiveIntegerField(_("seconds"))
    # Billed like Twilio bills voice: each call rounded up to the next whole minute.
    minutes = models.PositiveIntegerField(_("minutes"))
    day = models.DateField(_("day (UTC)"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["account", "day"], name="usage_account_day")]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.day}"


class Plan(models.Model):
    """What a tenant can buy. Edited by the operator in the admin; `sync_paypal_plans` mirrors
    each paid plan to a PayPal billing plan. A limit left empty means "no limit"."""

    code = models.SlugField(_("code"), max_length=50, unique=True, help_text=_("Stored on accounts; never change it."))
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=255, blank=True)
    monthly_price = models.DecimalField(_("monthly price"), max_digits=10, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    included_minutes = models.PositiveIntegerField(_("included minutes a month"), null=True, blank=True)
    concurrent_calls = models.PositiveIntegerField(_("concurrent calls"), null=True, blank=True)
    agents = models.PositiveIntegerField(_("agents"), null=True, blank=True)
    contacts = models.PositiveIntegerField(_("contacts"), null=True, blank=True)
    campaigns = models.PositiveIntegerField(_("campaigns"), null=True, blank=True)
    overage_price_per_minute = models.DecimalField(
        _("overage price per minute"),
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Empty: calls stop when the included minutes are used up."),
    )
    trial_days = models.PositiveIntegerField(
        _("free trial (days)"),
        default=0,
        help_text=_(
            "On the plan new accounts start on: how long they may use it. On a paid plan: free days "
            "before PayPal's first charge."
        ),
    )
    payment_failure_threshold = models.PositiveIntegerField(_("failed payments before suspension"), default=3)
    is_signup_plan = models.BooleanField(
        _("new accounts start on this plan"), default=False, help_text=_("At most one plan.")
    )
    is_public = models.BooleanField(_("offered in the dashboard"), default=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    paypal_plan_id = models.CharField(_("PayPal plan id"), max_length=64, blank=True)
    paypal_product_id = models.CharField(_("PayPal product id"), max_length=64, blank=True)
    # What was last sent to PayPal (name, price, ...): an unchanged plan is not sent again.
    paypal_fingerprint = models.JSONField(default=dict, blank=True, editable=False)
    paypal_synced_at = models.DateTimeField(_("synced with PayPal"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort_order", "monthly_price", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_signup_plan"], condition=models.Q(is_signup_plan=True), name="billing_one_signup_plan"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_paid(self) -> bool:
        return self.monthly_price > 0

    def limits(self) -> dict[str, object]:
        """The account's `limits` column for this plan (billing.usage reads it)."""
        values = {
            "monthly_minutes": self.included_minutes,
            "concurrent_calls": self.concurrent_calls,
            "agents": self.agents,
            "contacts": self.contacts,
            "campaigns": self.campaigns,
        }
        limits: dict[str, object] = {key: value for key, value in values.items() if value is not None}
        limits["overage"] = self.overage_price_per_minute is not None
        return limits


class BillingStatus(models.TextChoices):
    """`Account.subscription_status` (the seed's column)."""

    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")  # still usable until the end of the paid period
    ENDED = "ended", _("Ended")  # no plan any more: trial over or subscription ended


class BillingProfile(models.Model):
    """An account's billing state next to the seed's columns (`subscription_plan`,
    `subscription_status`, `limits`), which follow it."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="billing"
    )
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles")
    subscription = models.ForeignKey(
        "billing.Subscription", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trial_ends_at = models.DateTimeField(_("trial ends"), null=True, blank=True)
    paid_through = models.DateTimeField(_("paid through"), null=True, blank=True)
    # A downgrade waits for the end of the period already paid for.
    scheduled_plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scheduled_at = models.DateTimeField(_("scheduled change at"), null=True, blank=True)
    # Set when billing suspended the account: only then does a payment reactivate it (an
    # operator's suspension for another reason is never lifted by a payment).
    suspended_by_billing = models.BooleanField(default=False)
    comped_until = models.DateTimeField(_("comped until"), null=True, blank=True)
    usage_alerts = models.JSONField(default=dict, blank=True)  # {"2026-11": [80, 100]}: emails sent
    overage_billed = models.JSONField(default=list, blank=True)  # months whose overage went to PayPal
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")

    def __str__(self) -> str:
        return f"billing of {self.account_id}"


class Subscription(models.Model):
    """One PayPal subscription (I-…). Rows are kept after cancellation: the history."""

    class Status(models.TextChoices):
        APPROVAL_PENDING = "APPROVAL_PENDING", _("Waiting for approval")
        APPROVED = "APPROVED", _("Approved")
        ACTIVE = "ACTIVE", _("Active")
        SUSPENDED = "SUSPENDED", _("Suspended")
        CANCELLED = "CANCELLED", _("Cancelled")
        EXPIRED = "EXPIRED", _("Expired")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    paypal_subscription_id = models.CharField(_("PayPal subscription id"), max_length=64, unique=True)
    paypal_plan_id = models.CharField(_("PayPal plan id"), max_length=64)
    request_id = models.UUIDField(_("PayPal-Request-Id"), unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.APPROVAL_PENDING)
    failed_payments = models.PositiveIntegerField(_("failed payments"), default=0)
    outstanding = models.DecimalField(_("outstanding balance"), max_digits=10, decimal_places=2, default=0)
    next_billing_at = models.DateTimeField(_("next billing"), null=True, blank=True)
    # A plan change the tenant has asked for and PayPal is waiting for them to approve.
    pending_plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    fetched_at = models.DateTimeField(_("last fetched from PayPal"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="subscription_account_created")]

    def __str__(self) -> str:
        return self.paypal_subscription_id


class Payment(models.Model):
    """Money received (a PayPal sale) or a month the operator gave away (comp)."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Payment")
        COMP = "comp", _("Complimentary month")

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="payments")
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SALE)
    reference = models.CharField(_("reference"), max_length=64, unique=True)  # PayPal sale id, or comp:<uuid>
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    paid_at = models.DateTimeField(_("date"), db_index=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at", "-id"]
        indexes = [models.Index(fields=["account", "-paid_at"], name="payment_account_paid")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.paid_at:%Y-%m-%d}"
