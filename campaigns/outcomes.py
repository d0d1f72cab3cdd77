"""What a finished call does to its campaign contact: a terminal result, or a retry under the
campaign's policy; and the automatic pause when failures spike.

`member_apply_call` runs for every ended campaign call (the `call_ended` signal, and recovery's
sweep for a signal that was lost). It moves the contact only if it is still `dialing` on that
very attempt (`dials` in the attempt key), so running it twice, late, or for a stale attempt
changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils.translation import gettext as _

from calls.models import NOT_ADMITTED, NOT_CREATED, NOT_DIALED, Call, Outcome, Status
from campaigns import clock, pacing
from campaigns.models import Campaign, CampaignContact, MemberState, SkipReason
from integrations.providers import twilio

logger = logging.getLogger(__name__)

REQUEUE = "requeue"  # not an attempt: the call was never offered to the carrier
SPIKE_WINDOW, SPIKE_FAILURES = 20, 10  # half of the last 20 attempts failed
FAILED_RESULTS = frozenset({MemberState.FAILED})
RESULT_OF_OUTCOME = {
    Outcome.BOOKED: MemberState.ANSWERED,
    Outcome.OPTED_OUT: MemberState.ANSWERED,
    Outcome.ANSWERED: MemberState.ANSWERED,
    Outcome.VOICEMAIL: MemberState.VOICEMAIL,
    Outcome.MACHINE: MemberState.VOICEMAIL,
    Outcome.NO_ANSWER: MemberState.NO_ANSWER,
    Outcome.BUSY: MemberState.BUSY,
    Outcome.FAILED: MemberState.FAILED,
    Outcome.CANCELED: MemberState.FAILED,
    Outcome.NOT_PLACED: MemberState.FAILED,
}


def parse_attempt_key(key: str) -> tuple[int, int] | None:
    """`campaign:<member id>:<dial>` → (member id, dial); None for any other call."""
    parts = (key or "").split(":")
    if len(parts) != 3 or parts[0] != "campaign":
        return None
    try:
        return int(parts[1]), int(parts[2])
    except ValueError:
        return None


# Ends that mean the carrier never had the call (see calls.models): queued again without using
# an attempt.
NEVER_RANG = frozenset({NOT_ADMITTED, NOT_DIALED, NOT_CREATED, *twilio.BUSY_CODES})


def result_of(call: Call) -> str:
    if call.status == Status.NOT_PLACED and call.error_code in NEVER_RANG:
        return REQUEUE
    if call.status == Status.COMPLETED and call.outcome in RESULT_OF_OUTCOME:
        return RESULT_OF_OUTCOME[call.outcome]
    return RESULT_OF_OUTCOME.get(call.outcome, MemberState.FAILED)


def member_apply_call(call: Call) -> str | None:
    """Move the call's campaign contact on. Returns the result applied, or None (nothing to do)."""
    parsed = parse_attempt_key(call.attempt_key)
    if parsed is None or not call.is_terminal:
        return None
    member_id, dial = parsed
    result = result_of(call)
    now = clock.now()
    with transaction.atomic():
        member = (
            CampaignContact.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=member_id, account_id=call.account_id, state=MemberState.DIALING, dials=dial)
            .first()
        )
        if member is None:
            return None
        campaign = member.campaign
        member.last_call_id = call.pk
        if result == REQUEUE:
            _requeue(member, campaign, now + timedelta(seconds=5), charge=False)
        elif result == MemberState.ANSWERED:
            _finish(member, MemberState.ANSWERED, now, outcome=call.outcome)
        else:
            _retry_or_finish(member, campaign, result, now)
        member.last_result = result if result != REQUEUE else member.last_result
        member.save()
    if result != REQUEUE:
        _after_attempt(campaign, result)
    return result


def _finish(member: CampaignContact, state: str, now: datetime, *, outcome: str = "", reason: str = "") -> None:
    member.state, member.finished_at, member.claimed_at = state, now, None
    member.outcome = outcome or member.outcome
    member.skip_reason = reason


def _requeue(member: CampaignContact, campaign: Campaign, due: datetime, *, charge: bool) -> None:
    """Back in the queue. `charge=False`: the attempt did not count (the call never rang)."""
    if campaign.state == Campaign.State.CANCELLED:
        _finish(member, MemberState.SKIPPED, clock.now(), reason=SkipReason.CANCELLED)
        return
    member.state, member.claimed_at, member.due_at = MemberState.QUEUED, None, due
    member.not_before = due if charge else member.not_before
    if not charge:
        member.attempts = max(member.attempts - 1, 0)
    if campaign.state in (Campaign.State.RUNNING, Campaign.State.SCHEDULED):
        Campaign.objects.filter(pk=campaign.pk).update(next_due_at=Least(F("next_due_at"), due))
        Campaign.objects.filter(pk=campaign.pk, next_due_at__isnull=True).update(next_due_at=due)


def _retry_or_finish(member: CampaignContact, campaign: Campaign, result: str, now: datetime) -> None:
    minutes = (campaign.retry_delays or {}).get(result)
    if minutes is not None and member.attempts < campaign.max_attempts and campaign.is_active:
        _requeue(member, campaign, now + timedelta(minutes=int(minutes)), charge=True)
    else:
        _finish(member, result, now)


def member_release(member_id: int, dial: int, *, due: datetime | None, reason: str = "") -> bool:
    """Give back a claim that was not dialed (the campaign stopped, the window closed, a pause):
    queued again at `due` without counting an attempt, or skipped with `reason` when `due` is
    None. Only if still dialing that attempt."""
    now = clock.now()
    with transaction.atomic():
        member = (
            CampaignContact.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=member_id, state=MemberState.DIALING, dials=dial)
            .first()
        )
        if member is None:
            return False
        if due is None:
            _finish(member, MemberState.SKIPPED, now, reason=reason)
        else:
            _requeue(member, member.campaign, due, charge=False)
        member.save()
    return True


def _after_attempt(campaign: Campaign, result: str) -> None:
    from campaigns import services

    recent = pacing.record_result(campaign_id=campaign.pk, result=result)
    failures = sum(1 for r in recent if r in FAILED_RESULTS)
    if len(recent) >= SPIKE_WINDOW and failures >= SPIKE_FAILURES:
        try:
            services.campaign_pause(
                campaign=campaign,
                reason="failures",
                message=_("Paused: %(n)d of the last %(total)d calls failed. Check Twilio and the agent, then resume.")
                % {"n": failures, "total": len(recent)},
            )
        except Exception:  # noqa: BLE001 - already paused or over: nothing to do
            logger.info("campaign %s: failure spike, not paused (state %s)", campaign.pk, campaign.state)
    if not CampaignContact.objects.filter(
        campaign=campaign, state__in=[MemberState.QUEUED, MemberState.DIALING]
    ).exists():
        services.campaign_complete(campaign_id=campaign.pk)
    services.campaign_announce(campaign)


def member_apply_analysis(call: Call) -> None:
    """The analysis came later and changed the outcome (a booking found in the transcript)."""
    parsed = parse_attempt_key(call.attempt_key)
    if parsed is None or not call.outcome:
        return
    CampaignContact.objects.filter(pk=parsed[0], last_call_id=call.pk, state=MemberState.ANSWERED).exclude(
        outcome=call.outcome
    ).update(outcome=call.outcome)
