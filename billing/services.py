"""Billing business logic: plans on accounts, PayPal subscriptions, payments, suspension.

One rule runs through it: **PayPal's current state is the truth.** Every webhook, the return
from the approval page and the nightly reconciliation re-fetch the subscription from PayPal and
hand it to `subscription_sync`, which moves the account to match. So a repeated event, events
in any order, or a missed one all end in the same state, and nothing is applied twice
(payments are unique per PayPal sale id, emails per month and threshold).

Plans reach an account through `plan_apply`, which also writes the seed's columns:
`limits` (what `billing.usage` checks at every door), `subscription_plan` (the plan's code) and
`subscription_status` (a `BillingStatus`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Account, User
from accounts.services import account_set_status
from billing import signals
from billing.models import BillingProfile, BillingStatus, Payment, Plan, Subscription
from billing.usage import usage_minutes
from integrations.providers import paypal
from integrations.providers.base import ProviderError
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

Status = Subscription.Status
LIVE = (Status.APPROVED, Status.ACTIVE, Status.SUSPENDED)  # a subscription that bills, or may again
ID_NAMESPACE = uuid.UUID("6b0d8a52-51b4-4a49-9a0c-5c1f2f1e5b21")  # PayPal-Request-Ids derived from our ids
COMP_PERIOD = timedelta(days=30)


def _unavailable(exc: ProviderError) -> ApplicationError:
    logger.warning("PayPal call failed: %s", exc.message)
    if exc.permanent and exc.status not in (None, 401, 403):
        return ApplicationError(_("PayPal refused the change: %(reason)s") % {"reason": exc.message}, code="paypal")
    return ApplicationError(
        _("PayPal cannot be reached right now. Nothing was charged or changed; please try again in a few minutes."),
        code="provider_unavailable",
        status_code=503,
    )


def _owner_only(actor: User) -> None:
    # Money decisions are the owners': admins manage the product, not the payment method.
    if actor.role != User.Role.OWNER:
        raise ApplicationError(
            _("Only the account's owners can change its subscription."), code="forbidden", status_code=403
        )


# --- plans on accounts ---------------------------------------------------------------------------


def profile_for(account: Account) -> BillingProfile:
    profile, _created = BillingProfile.objects.get_or_create(account=account)
    return profile


def _locked_profile(account: Account) -> BillingProfile:
    profile_for(account)
    return (
        BillingProfile.objects.select_for_update(of=("self",))
        .select_related("plan", "subscription")
        .get(account=account)
    )


def plan_apply(*, account: Account, plan: Plan | None, status: str, profile: BillingProfile | None = None) -> None:
    """Put `account` on `plan` (None: no plan, no limits) with billing status `status`.

    Writes only what changes: most webhooks confirm the state the account is already in."""
    profile = profile or profile_for(account)
    if profile.plan_id != (plan.pk if plan else None):
        profile.plan = plan
        profile.save(update_fields=["plan", "updated_at"])
    wanted = (plan.limits() if plan else {}, plan.code if plan else "", status)
    if (account.limits, account.subscription_plan, account.subscription_status) != wanted:
        account.limits, account.subscription_plan, account.subscription_status = wanted
        account.save(update_fields=["limits", "subscription_plan", "subscription_status", "updated_at"])


def plan_refresh_accounts(*, plan: Plan) -> int:
    """After the operator edits a plan: every account on it gets the new limits."""
    accounts = Account.objects.filter(billing__plan=plan)
    count = 0
    for account in accounts:
        account.limits = plan.limits()
        account.save(update_fields=["limits", "updated_at"])
        count += 1
    return count


def billing_start(*, account: Account) -> None:
    """A new account starts on the operator's sign-up plan (if one is marked)."""
    plan = Plan.objects.filter(is_signup_plan=True).first()
    if plan is None:
        profile_for(account)
        return
    profile = profile_for(account)
    if plan.trial_days:
        profile.trial_ends_at = timezone.now() + timedelta(days=plan.trial_days)
        profile.save(update_fields=["trial_ends_at", "updated_at"])
    plan_apply(account=account, plan=plan, status=BillingStatus.TRIAL if plan.trial_days else BillingStatus.ACTIVE)


def billing_move_plan(*, account: Account, plan: Plan, actor: str = "operator") -> None:
    """Operator: put an account on another plan at once (limits follow; PayPal is not asked)."""
    with transaction.atomic():
        profile = _locked_profile(account)
        profile.scheduled_plan, profile.scheduled_at = None, None
        profile.save(update_fields=["scheduled_plan", "scheduled_at", "updated_at"])
        plan_apply(account=account, plan=plan, status=account.subscription_status or BillingStatus.ACTIVE)
    logger.info("account %s moved to plan %s by %s", account.slug, plan.code, actor)


def billing_comp_month(*, account: Account, actor: str = "operator", now: datetime | None = None) -> datetime:
    """Operator: a month free. Billing does not suspend the account until then; a trial is
    extended; a PayPal subscription is paused at PayPal for the month (reactivated nightly)."""
    now = now or timezone.now()
    with transaction.atomic():
        profile = _locked_profile(account)
        start = max(d for d in (now, profile.comped_until, profile.paid_through, profile.trial_ends_at) if d)
        profile.comped_until = start + COMP_PERIOD
        if profile.trial_ends_at and account.subscription_status == BillingStatus.TRIAL:
            profile.trial_ends_at = profile.comped_until
        profile.save(update_fields=["comped_until", "trial_ends_at", "updated_at"])
        plan = profile.plan
        Payment.objects.create(
            account=account,
            kind=Payment.Kind.COMP,
            reference=f"comp:{uuid.uuid4()}",
            amount=Decimal(0),
            currency=plan.currency if plan else "USD",
            paid_at=now,
            note=_("Complimentary month until %(date)s") % {"date": f"{profile.comped_until:%Y-%m-%d}"},
        )
        if profile.suspended_by_billing:
            _reactivate(account, profile)
        if account.subscription_status in (BillingStatus.ENDED, BillingStatus.SUSPENDED, BillingStatus.PAST_DUE):
            plan_apply(account=account, plan=plan, status=BillingStatus.ACTIVE)
    subscription = profile.subscription
    if subscription and subscription.status == Status.ACTIVE:
        try:
            paypal.subscription_action(
                subscription_id=subscription.paypal_subscription_id, action="suspend", reason="Complimentary month"
            )
        except ProviderError as exc:
            raise _unavailable(exc) from None
        subscription_refresh(subscription=subscription)
    logger.info("account %s comped until %s by %s", account.slug, profile.comped_until, actor)
    return profile.comped_until


# --- subscribing -----------------------------------------------------------------------------------


def _application_context(return_url: str, cancel_url: str) -> dict[str, str]:
    return {
        "brand_name": "PrixAgent",
        "return_url": return_url,
        "cancel_url": cancel_url,
        "user_action": "SUBSCRIBE_NOW",
        "shipping_preference": "NO_SHIPPING",
    }


def _buyable(plan: Plan) -> None:
    if not (plan.is_public and plan.is_paid and plan.paypal_plan_id):
        raise ApplicationError(_("This plan cannot be bought yet."), fields={"plan": [_("Choose another plan.")]})


def current_subscription(account: Account) -> Subscription | None:
    return Subscription.objects.filter(account=account, status__in=LIVE).select_related("plan").first()


def subscription_start(*, account: Account, plan: Plan, actor: User, return_url: str, cancel_url: str) -> str:
    """Create the PayPal subscription; returns the approval URL to send the owner to.

    The local row is written only after PayPal answered: PayPal down leaves nothing behind.
    """
    _owner_only(actor)
    _buyable(plan)
    if current_subscription(account) is not None:
        raise ApplicationError(_("This account already has a subscription; change its plan instead."))
    request_id = uuid.uuid4()
    body = {
        "plan_id": plan.paypal_plan_id,
        "custom_id": str(account.pk),
        "subscriber": {"email_address": account.email},
        "application_context": _application_context(return_url, cancel_url),
    }
    try:
        created = paypal.subscription_create(body=body, request_id=str(request_id))
        approve = paypal.link(created, "approve")
    except ProviderError as exc:
        raise _unavailable(exc) from None
    Subscription.objects.create(
        account=account,
        plan=plan,
        paypal_subscription_id=created["id"],
        paypal_plan_id=plan.paypal_plan_id,
        request_id=request_id,
        status=created.get("status") if created.get("status") in Status.values else Status.APPROVAL_PENDING,
    )
    logger.info("account %s: subscription %s created for plan %s", account.slug, created["id"], plan.code)
    return approve


def subscription_change(*, account: Account, plan: Plan, actor: User, return_url: str, cancel_url: str) -> str:
    """Upgrade or downgrade: PayPal revises the subscription once the owner approves it.

    An upgrade takes effect as soon as PayPal confirms; a downgrade at the end of the period
    already paid for (see `subscription_sync`)."""
    _owner_only(actor)
    _buyable(plan)
    subscription = current_subscription(account)
    if subscription is None or subscription.status != Status.ACTIVE:
        raise ApplicationError(_("There is no active subscription to change; subscribe instead."))
    if subscription.plan_id == plan.pk:
        raise ApplicationError(_("The account is on this plan already."))
    body = {"plan_id": plan.paypal_plan_id, "application_context": _application_context(return_url, cancel_url)}
    try:
        revised = paypal.subscription_revise(subscription_id=subscription.paypal_subscription_id, body=body)
        approve = paypal.link(revised, "approve")
    except ProviderError as exc:
        raise _unavailable(exc) from None
    subscription.pending_plan = plan
    subscription.save(update_fields=["pending_plan", "updated_at"])
    return approve


def subscription_abandon_change(*, account: Account) -> None:
    """The owner came back from PayPal without approving a plan change."""
    Subscription.objects.filter(account=account, pending_plan__isnull=False).update(pending_plan=None)


def subscription_confirm(*, account: Account, paypal_subscription_id: str) -> Subscription:
    """The owner is back from PayPal's approval page: fetch the subscription and follow it."""
    subscription = Subscription.objects.filter(account=account, paypal_subscription_id=paypal_subscription_id).first()
    if subscription is None:
        raise ApplicationError(_("Unknown subscription."), code="not_found", status_code=404)
    return subscription_refresh(subscription=subscription)


def subscription_cancel(*, account: Account, actor: User, reason: str = "") -> Subscription:
    """Cancel at PayPal. The plan stays until the end of the period already paid for."""
    _owner_only(actor)
    subscription = current_subscription(account)
    if subscription is None:
        raise ApplicationError(_("There is no subscription to cancel."))
    try:
        paypal.subscription_action(
            subscription_id=subscription.paypal_subscription_id,
            action="cancel",
            reason=(reason.strip() or "Cancelled by the customer")[:120],
        )
    except ProviderError as exc:
        raise _unavailable(exc) from None
    return subscription_refresh(subscription=subscription)


def subscription_pay_now(*, account: Account, actor: User) -> Subscription:
    """Collect the outstanding balance now and resume a subscription PayPal suspended."""
    _owner_only(actor)
    subscription = current_subscription(account)
    if subscription is None:
        raise ApplicationError(_("There is no subscription to pay; choose a plan instead."))
    subscription = subscription_refresh(subscription=subscription)
    try:
        if subscription.outstanding > 0:
            # Derived id: a double click (or a retry) captures once.
            sub_id, failed = subscription.paypal_subscription_id, subscription.failed_payments
            key = f"capture:{sub_id}:{failed}:{subscription.outstanding}"
            captured = paypal.subscription_capture(
                subscription_id=subscription.paypal_subscription_id,
                amount=f"{subscription.outstanding:.2f}",
                currency=subscription.plan.currency,
                request_id=str(uuid.uuid5(ID_NAMESPACE, key)),
            )
            _record_capture(subscription, captured)
        if subscription.status == Status.SUSPENDED:
            paypal.subscription_action(
                subscription_id=subscription.paypal_subscription_id, action="activate", reason="Paid by the customer"
            )
    except ProviderError as exc:
        raise _unavailable(exc) from None
    return subscription_refresh(subscription=subscription)


def _record_capture(subscription: Subscription, captured: dict[str, Any]) -> None:
    gross = (captured.get("amount_with_breakdown") or {}).get("gross_amount") or {}
    if captured.get("id") and gross.get("value"):
        payment_record(
            subscription=subscription,
            reference=str(captured["id"]),
            amount=Decimal(str(gross["value"])),
            currency=str(gross.get("currency_code") or subscription.plan.currency),
            paid_at=timezone.now(),
        )


# --- following PayPal --------------------------------------------------------------------------------


def subscription_refresh(*, subscription: Subscription) -> Subscription:
    """Fetch the subscription from PayPal and make the account follow it."""
    try:
        remote = paypal.subscription_get(subscription.paypal_subscription_id)
    except ProviderError as exc:
        raise _unavailable(exc) from None
    return subscription_sync(subscription=subscription, remote=remote)


@dataclass
class _Remote:
    status: str
    plan_id: str
    failed: int
    outstanding: Decimal
    next_billing_at: datetime | None


def _read(remote: dict[str, Any]) -> _Remote:
    info = remote.get("billing_info") or {}
    outstanding = (info.get("outstanding_balance") or {}).get("value") or "0"
    next_billing = parse_datetime(str(info.get("next_billing_time") or "")) if info.get("next_billing_time") else None
    return _Remote(
        status=str(remote.get("status")),
        plan_id=str(remote.get("plan_id") or ""),
        failed=int(info.get("failed_payments_count") or 0),
        outstanding=Decimal(str(outstanding)),
        next_billing_at=next_billing,
    )


def subscription_sync(*, subscription: Subscription, remote: dict[str, Any]) -> Subscription:
    """Apply PayPal's current state of `subscription` to it and to its account (idempotent)."""
    if str(remote.get("custom_id") or "") not in ("", str(subscription.account_id)):
        logger.error("subscription %s: custom_id does not name its account", subscription.paypal_subscription_id)
        raise ApplicationError(_("This subscription belongs to another account."), code="mismatch")
    state = _read(remote)
    if state.status not in Status.values:
        raise ApplicationError(f"PayPal subscription status {state.status!r} is unknown", code="unexpected")
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=subscription.account_id)
        profile = _locked_profile(account)
        sub = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "pending_plan")
            .get(pk=subscription.pk)
        )
        previous_plan = sub.plan
        _follow_plan(sub, state.plan_id)
        sub.status, sub.failed_payments, sub.outstanding = state.status, state.failed, state.outstanding
        sub.next_billing_at = state.next_billing_at or sub.next_billing_at
        sub.fetched_at = timezone.now()
        sub.save()
        _apply_to_account(account, profile, sub, previous_plan)
    return sub


def _follow_plan(sub: Subscription, paypal_plan_id: str) -> None:
    """A revision the owner approved shows up as another plan id."""
    if not paypal_plan_id or paypal_plan_id == sub.paypal_plan_id:
        return
    plan = Plan.objects.filter(paypal_plan_id=paypal_plan_id).first()
    if plan is None:
        logger.error("subscription %s moved to unknown PayPal plan %s", sub.paypal_subscription_id, paypal_plan_id)
        return
    sub.plan, sub.paypal_plan_id, sub.pending_plan = plan, paypal_plan_id, None


def _apply_to_account(account: Account, profile: BillingProfile, sub: Subscription, previous_plan: Plan) -> None:
    current = profile.subscription
    if current is not None and current.pk != sub.pk and current.status in LIVE and sub.status not in LIVE:
        return  # an old subscription's news: the account follows its current one
    now = timezone.now()
    if sub.status in (Status.ACTIVE, Status.APPROVED):
        _on_active(account, profile, sub, previous_plan, now)
    elif sub.status == Status.SUSPENDED:
        _on_suspended(account, profile, sub, now)
    elif sub.status in (Status.CANCELLED, Status.EXPIRED) and current is not None and current.pk == sub.pk:
        profile.scheduled_plan, profile.scheduled_at = None, None
        profile.save(update_fields=["scheduled_plan", "scheduled_at", "updated_at"])
        if account.subscription_status not in (BillingStatus.ENDED, BillingStatus.SUSPENDED):
            _set_status(account, BillingStatus.CANCELLED)
    elif sub.status in (Status.CANCELLED, Status.EXPIRED) and sub.next_billing_at and sub.next_billing_at > now:
        # Paid, then cancelled before we saw it active (events out of order, or missed): the
        # period paid for is still the customer's.
        profile.subscription, profile.paid_through, profile.trial_ends_at = sub, sub.next_billing_at, None
        profile.save()
        plan_apply(account=account, plan=sub.plan, status=BillingStatus.CANCELLED)


def _on_active(account: Account, profile: BillingProfile, sub: Subscription, previous: Plan, now: datetime) -> None:
    newly_current = profile.subscription_id != sub.pk
    profile.subscription = sub
    if sub.next_billing_at:
        profile.paid_through = sub.next_billing_at
    profile.trial_ends_at = None
    if newly_current or profile.plan is None:
        plan = sub.plan
    elif sub.plan.pk != previous.pk and sub.plan.monthly_price < previous.monthly_price:
        # Downgrade: keep what was paid for until the period ends (applied nightly).
        plan = profile.plan
        profile.scheduled_plan, profile.scheduled_at = sub.plan, profile.paid_through or now
    elif sub.plan.pk != previous.pk:
        plan = sub.plan  # upgrade: at once
        profile.scheduled_plan, profile.scheduled_at = None, None
    else:
        plan = profile.plan
    profile.save()
    threshold = sub.plan.payment_failure_threshold
    if sub.failed_payments and threshold and sub.failed_payments >= threshold and not _comped(profile, now):
        _suspend(account, profile, _payment_reason(sub))
        plan_apply(account=account, plan=plan, status=BillingStatus.SUSPENDED, profile=profile)
        return
    status = BillingStatus.PAST_DUE if sub.failed_payments else BillingStatus.ACTIVE
    plan_apply(account=account, plan=plan, status=status, profile=profile)
    if not sub.failed_payments and profile.suspended_by_billing:
        _reactivate(account, profile)


def _on_suspended(account: Account, profile: BillingProfile, sub: Subscription, now: datetime) -> None:
    if profile.subscription_id is None:
        profile.subscription = sub
        profile.save(update_fields=["subscription", "updated_at"])
    if _comped(profile, now):
        return  # paused at PayPal for a complimentary month: the account keeps working
    _suspend(account, profile, _payment_reason(sub))
    _set_status(account, BillingStatus.SUSPENDED)


def _comped(profile: BillingProfile, now: datetime) -> bool:
    return bool(profile.comped_until and profile.comped_until > now)


def _payment_reason(sub: Subscription) -> str:
    return _(
        "PayPal could not collect the payment for your %(plan)s plan (%(count)s failed attempts). "
        "Pay the outstanding balance on the Billing page to reactivate the account."
    ) % {"plan": sub.plan.name, "count": sub.failed_payments}


def _set_status(account: Account, status: str) -> None:
    account.subscription_status = status
    account.save(update_fields=["subscription_status", "updated_at"])


def _suspend(account: Account, profile: BillingProfile, reason: str) -> None:
    if account.status == Account.Status.SUSPENDED:
        return  # already (by us or by the operator): never take over an operator's suspension
    if account.status == Account.Status.CANCELLED:
        return
    account_set_status(account=account, change="suspend", reason=reason, actor="billing")
    profile.suspended_by_billing = True
    profile.save(update_fields=["suspended_by_billing", "updated_at"])
    transaction.on_commit(lambda: signals.account_suspended.send(sender=Account, account=account, reason=reason))
    logger.info("account %s suspended by billing", account.slug)


def _reactivate(account: Account, profile: BillingProfile) -> None:
    profile.suspended_by_billing = False
    profile.save(update_fields=["suspended_by_billing", "updated_at"])
    if account.status != Account.Status.SUSPENDED:
        return
    account_set_status(account=account, change="reactivate", actor="billing")
    transaction.on_commit(lambda: signals.account_reactivated.send(sender=Account, account=account))
    logger.info("account %s reactivated by billing", account.slug)


def payment_record(
    *, subscription: Subscription, reference: str, amount: Decimal, currency: str, paid_at: datetime
) -> bool:
    """Keep one received payment; False when it is known already (same PayPal sale id)."""
    _payment, created = Payment.objects.get_or_create(
        reference=reference[:64],
        defaults={
            "account_id": subscription.account_id,
            "subscription": subscription,
            "amount": amount,
            "currency": currency[:3],
            "paid_at": paid_at,
            "note": subscription.plan.name,
        },
    )
    return created


def sale_record(*, subscription: Subscription, sale: dict[str, Any]) -> bool:
    """A `PAYMENT.SALE.COMPLETED` resource (a verified webhook) as a payment."""
    amount = sale.get("amount") or {}
    if sale.get("state") not in (None, "completed") or not sale.get("id") or not amount.get("total"):
        return False
    paid_at = parse_datetime(str(sale.get("create_time") or "")) or timezone.now()
    return payment_record(
        subscription=subscription,
        reference=str(sale["id"]),
        amount=Decimal(str(amount["total"])),
        currency=str(amount.get("currency") or subscription.plan.currency),
        paid_at=paid_at,
    )


# --- nightly ----------------------------------------------------------------------------------------


@dataclass
class ReconcileResult:
    fetched: int = 0
    payments_found: int = 0
    failed: int = 0
    ended: int = 0
    downgraded: int = 0
    resumed: int = 0
    overage_billed: int = 0


def billing_reconcile(*, now: datetime | None = None) -> ReconcileResult:
    """Fetch every live subscription (a missed webhook is caught here), record payments PayPal
    has and we do not, then apply what is due by date: ended trials and cancelled periods,
    scheduled downgrades, the end of a complimentary month."""
    now = now or timezone.now()
    result = ReconcileResult()
    for subscription in Subscription.objects.filter(status__in=LIVE).select_related("plan"):
        try:
            _reconcile_one(subscription, now, result)
        except (ApplicationError, ProviderError) as exc:
            result.failed += 1
            logger.warning("reconcile %s failed: %s", subscription.paypal_subscription_id, exc)
    for profile in BillingProfile.objects.select_related("account", "plan", "scheduled_plan", "subscription"):
        _apply_dates(profile, now, result)
        try:
            result.overage_billed += int(overage_bill(account=profile.account, now=now))
        except ApplicationError as exc:
            result.failed += 1
            logger.warning("overage for %s not billed yet: %s", profile.account.slug, exc.message)
    logger.info("billing reconciliation: %s", result)
    return result


def _reconcile_one(subscription: Subscription, now: datetime, result: ReconcileResult) -> None:
    subscription = subscription_refresh(subscription=subscription)
    result.fetched += 1
    start = (now - timedelta(days=35)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        transactions = paypal.subscription_transactions(
            subscription_id=subscription.paypal_subscription_id, start=start, end=end
        )
    except ProviderError as exc:
        raise _unavailable(exc) from None
    for item in transactions:
        gross = (item.get("amount_with_breakdown") or {}).get("gross_amount") or {}
        if item.get("status") != "COMPLETED" or not item.get("id") or not gross.get("value"):
            continue
        found = payment_record(
            subscription=subscription,
            reference=str(item["id"]),
            amount=Decimal(str(gross["value"])),
            currency=str(gross.get("currency_code") or subscription.plan.currency),
            paid_at=parse_datetime(str(item.get("time") or "")) or now,
        )
        result.payments_found += int(found)


def _apply_dates(profile: BillingProfile, now: datetime, result: ReconcileResult) -> None:
    account = profile.account
    status = account.subscription_status
    comped = _comped(profile, now)
    if profile.scheduled_plan and profile.scheduled_at and profile.scheduled_at <= now:
        with transaction.atomic():
            plan_apply(account=account, plan=profile.scheduled_plan, status=status)
            profile.scheduled_plan, profile.scheduled_at = None, None
            profile.save(update_fields=["scheduled_plan", "scheduled_at", "updated_at"])
        result.downgraded += 1
    trial_over = status == BillingStatus.TRIAL and profile.trial_ends_at and profile.trial_ends_at <= now
    period_over = status == BillingStatus.CANCELLED and (profile.paid_through is None or profile.paid_through <= now)
    if (trial_over or period_over) and not comped:
        reason = (
            _("Your free trial has ended. Choose a plan on the Billing page to keep using PrixAgent.")
            if trial_over
            else _("Your subscription has ended. Choose a plan on the Billing page to keep using PrixAgent.")
        )
        with transaction.atomic():
            _suspend(account, profile, reason)
            _set_status(account, BillingStatus.ENDED)
        result.ended += 1
    sub = profile.subscription
    if not comped and profile.comped_until and sub and sub.status == Status.SUSPENDED and not sub.failed_payments:
        try:
            paypal.subscription_action(
                subscription_id=sub.paypal_subscription_id, action="activate", reason="Complimentary month over"
            )
            subscription_refresh(subscription=sub)
            result.resumed += 1
        except (ProviderError, ApplicationError) as exc:
            logger.warning("resuming %s after a comp failed: %s", sub.paypal_subscription_id, exc)


def _previous_month(now: datetime) -> str:
    first = now.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def overage_bill(*, account: Account, now: datetime | None = None) -> bool:
    """Once the month is over: minutes past the plan, at the plan's overage price, added to the
    PayPal subscription's outstanding balance (billed with the next cycle). Once per month."""
    now = now or timezone.now()
    month = _previous_month(now)
    with transaction.atomic():
        profile = _locked_profile(account)
        plan, sub = profile.plan, profile.subscription
        if month in (profile.overage_billed or []) or plan is None or plan.overage_price_per_minute is None:
            return False
        if sub is None or sub.status != Status.ACTIVE or plan.included_minutes is None:
            return False
        extra = usage_minutes(account=account, month=month) - plan.included_minutes
        if extra > 0:
            amount = (plan.overage_price_per_minute * extra).quantize(Decimal("0.01"))
            try:
                paypal.subscription_add_outstanding(
                    subscription_id=sub.paypal_subscription_id, amount=f"{amount:.2f}", currency=plan.currency
                )
            except ProviderError as exc:
                raise _unavailable(exc) from None
            logger.info("account %s: %s overage minutes in %s billed (%s)", account.slug, extra, month, amount)
        profile.overage_billed = [*(profile.overage_billed or [])[-11:], month]
        profile.save(update_fields=["overage_billed", "updated_at"])
    return extra > 0
