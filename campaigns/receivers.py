"""Signal receivers of the campaigns app (connected in `CampaignsConfig.ready`).

- A campaign call ended: its contact moves on (a result or a retry).
- Its analysis came: a booking found afterwards updates the contact's outcome.
- The account was suspended: its campaigns pause (and resume when it is reactivated, if that
  was why they paused). The dialer also checks `Account.status` before every call, so a missed
  signal only delays the pause by one dial.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from billing.signals import account_reactivated, account_suspended
from calls.models import Call
from calls.signals import call_analyzed, call_ended
from campaigns import outcomes
from campaigns.models import Campaign
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)


@receiver(call_ended, dispatch_uid="campaigns.call_ended")
def on_call_ended(sender: type, call: Call, **kwargs: Any) -> None:
    if call.source == Call.Source.CAMPAIGN:
        outcomes.member_apply_call(call)


@receiver(call_analyzed, dispatch_uid="campaigns.call_analyzed")
def on_call_analyzed(sender: type, call: Call, **kwargs: Any) -> None:
    if call.source == Call.Source.CAMPAIGN:
        outcomes.member_apply_analysis(call)


@receiver(account_suspended, dispatch_uid="campaigns.account_suspended")
def on_account_suspended(sender: Any, account: Any, reason: str = "", **kwargs: Any) -> None:
    from campaigns.services import campaign_pause

    for campaign in Campaign.objects.filter(
        account=account, state__in=[Campaign.State.RUNNING, Campaign.State.SCHEDULED]
    ):
        try:
            campaign_pause(
                campaign=campaign,
                reason="account_suspended",
                message=_("Paused: the account is suspended (%(reason)s).") % {"reason": reason or _("billing")},
            )
        except ApplicationError:
            pass


@receiver(account_reactivated, dispatch_uid="campaigns.account_reactivated")
def on_account_reactivated(sender: Any, account: Any, **kwargs: Any) -> None:
    from campaigns.services import campaign_resume

    for campaign in Campaign.objects.filter(
        account=account, state=Campaign.State.PAUSED, state_reason="account_suspended"
    ):
        try:
            campaign_resume(campaign=campaign)
        except ApplicationError as exc:
            logger.info("campaign %s stays paused after reactivation: %s", campaign.pk, exc.message)
