"""Usage emails: the owners hear once per month when 80 % and when 100 % of the plan's minutes
are used (or, with overage, that minutes are now billed extra)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import Account, User
from billing.models import BillingProfile
from billing.usage import limit_value, month_key, usage_minutes

logger = logging.getLogger(__name__)
THRESHOLDS = (80, 100)


def usage_alerts_check(*, account_id: object) -> list[int]:
    """Send the emails whose threshold this month's minutes have crossed; returns the new ones."""
    account = Account.objects.get(pk=account_id)
    allowed = limit_value(account, "monthly_minutes")
    if not allowed:
        return []
    used = usage_minutes(account=account)
    crossed = [t for t in THRESHOLDS if used * 100 >= allowed * t]
    if not crossed:
        return []
    month = month_key(timezone.now())
    with transaction.atomic():
        BillingProfile.objects.get_or_create(account=account)
        profile = BillingProfile.objects.select_for_update().get(account=account)
        sent = set(profile.usage_alerts.get(month, []))
        new = [t for t in crossed if t not in sent]
        if not new:
            return []
        # Only this month's record is kept: the column does not grow forever.
        profile.usage_alerts = {month: sorted(sent | set(new))}
        profile.save(update_fields=["usage_alerts", "updated_at"])
    _send(account, max(new), used, allowed)
    return new


def _send(account: Account, threshold: int, used: int, allowed: int) -> None:
    owners = User.objects.filter(account=account, role=User.Role.OWNER, is_active=True)
    overage = bool((account.limits or {}).get("overage"))
    for owner in owners:
        with translation.override(owner.language or settings.LANGUAGE_CODE):
            context = {"account": account, "threshold": threshold, "used": used, "allowed": allowed, "overage": overage}
            subject = render_to_string("billing/email/usage_subject.txt", context).strip()
            body = render_to_string("billing/email/usage_body.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
    logger.info("usage alert %s%% sent for account %s", threshold, account.slug)
