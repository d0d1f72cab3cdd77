"""The dialer: a tick finds due work, a dispatch claims contacts, a dial places one call.

    beat ─ every second ─▶ campaigns_tick ─▶ campaign_dispatch (one per due campaign, tenants
                                               interleaved) ─▶ campaign_dial (one per claimed contact)

Correctness lives in PostgreSQL, not in the broker, so any number of workers on any number of
machines can run these tasks, twice, late or concurrently:

- A dispatch locks its campaign row (`FOR UPDATE SKIP LOCKED`: a second dispatch of the same
  campaign just returns) and claims due contacts (`FOR UPDATE SKIP LOCKED`): `queued → dialing`,
  `dials + 1`. The claim commits before any task is sent.
- A dial places the call with attempt key `campaign:<member>:<dials>` (`calls.services.call_place`:
  one key, one Twilio call, whoever asks again). Just before, it checks again what may have
  changed since the claim: the campaign still runs, the contact's window is open, the plan has
  minutes, and the tenant's pace (`pacing.admit`, shared through Redis) allows a call now.
- A call's end moves the contact on (`outcomes.member_apply_call`, on `call_ended`).
- `campaigns_recover` re-sends dials whose worker died between claim and call (same key: no
  second call) and applies ends whose signal was lost.

Fair share: each dispatch claims at most a couple of seconds of its campaign's pace, and the tick
sends the dispatches of different tenants interleaved, so one tenant's big campaign takes its
turn with everybody else's instead of filling the queue.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils.translation import gettext as _

from billing.usage import minutes_check
from calls.errors import CallNotPlaced, CallRefused, TwilioBusy
from calls.models import Call
from calls.services import call_place
from campaigns import clock, members, outcomes, pacing, windows
from campaigns.models import Campaign, CampaignContact, MemberState, SkipReason
from contacts.models import Contact
from contacts.phones import E164
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

BLOCK_MAX = 10  # claims per dispatch at most: small blocks interleave tenants in the queue
# Due rows looked at beyond the claim: retries that fell outside their window are moved on a few
# at a time (start, resume and edits already place whole time zones at their next opening).
SCAN_EXTRA = 20
CAMPAIGNS_PER_TICK = 2000
REFRESH_EVERY = timedelta(seconds=60)  # contacts newly matching a running campaign join it
PLAN_RETRY = timedelta(seconds=15)  # the plan's concurrent calls are all in use
SEND_WAIT_LIMIT = 3.0  # seconds a dial may wait at the send-time check before giving its turn back
# Refusals that stop the whole campaign until someone fixes the cause.
PAUSING_REFUSALS = {
    "account_inactive": "account_inactive",
    "twilio_not_connected": "twilio_failing",
    "twilio_failing": "twilio_failing",
    "elevenlabs_failing": "elevenlabs_failing",
    "no_agent": "agent_not_ready",
    "agent_not_ready": "agent_not_ready",
    "no_from_number": "no_from_number",
}


def lease() -> timedelta:
    """How long a claim may stay without its call before recovery dials it again (same key)."""
    return timedelta(seconds=getattr(settings, "CAMPAIGNS_DIAL_LEASE_SECONDS", 120))


# --- the tick ------------------------------------------------------------------------------------


def campaigns_tick() -> dict[str, int]:
    """Find due work; send one dispatch per due campaign. Costs what is due, not what is stored:
    it reads campaigns by the partial index on `next_due_at`, never their contacts."""
    from campaigns.tasks import campaign_dispatch_task

    now = clock.now()
    promoted = Campaign.objects.filter(state=Campaign.State.SCHEDULED, next_due_at__lte=now).update(
        state=Campaign.State.RUNNING, next_due_at=now
    )
    due = list(
        Campaign.objects.filter(state=Campaign.State.RUNNING, next_due_at__lte=now)
        .order_by("next_due_at")
        .values_list("pk", "account_id")[:CAMPAIGNS_PER_TICK]
    )
    for campaign_id in fair_order(due):
        campaign_dispatch_task.delay(str(campaign_id))
    from campaigns.services import campaign_complete

    finished = 0
    for campaign_id in Campaign.objects.filter(state=Campaign.State.RUNNING, next_due_at__isnull=True).values_list(
        "pk", flat=True
    )[:100]:
        finished += campaign_complete(campaign_id=campaign_id)
    return {"promoted": promoted, "dispatched": len(due), "completed": finished}


def fair_order(due: list[tuple[Any, Any]]) -> list[Any]:
    """Campaign ids, one per tenant in turn (round robin), each tenant's oldest-due first."""
    by_account: OrderedDict[Any, list[Any]] = OrderedDict()
    for campaign_id, account_id in due:
        by_account.setdefault(account_id, []).append(campaign_id)
    order: list[Any] = []
    queues = list(by_account.values())
    while queues:
        order += [q.pop(0) for q in queues]
        queues = [q for q in queues if q]
    return order


# --- dispatch ------------------------------------------------------------------------------------


def campaign_dispatch(campaign_id: Any) -> list[tuple[int, int]]:
    """Claim the campaign's due contacts that may be called now, within its caps. Returns the
    claims (member id, dial) after they are committed, and sends a dial task for each."""
    from campaigns.tasks import campaign_dial_task, campaign_dispatch_task

    now = clock.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(pk=campaign_id, state=Campaign.State.RUNNING)
            .first()
        )
        if campaign is None:
            return []  # not running, or another worker is dispatching it right now
        if windows.last_day_over(campaign, now):
            _end_of_schedule(campaign, now)
            claimed: list[tuple[int, int]] = []
        else:
            if campaign.members_refreshed_at is None or now - campaign.members_refreshed_at >= REFRESH_EVERY:
                members_refresh(campaign, now)
            claimed = _claim(campaign, now)
        campaign.next_due_at = CampaignContact.objects.filter(campaign=campaign, state=MemberState.QUEUED).aggregate(
            m=Min("due_at")
        )["m"]
        campaign.save(update_fields=["next_due_at", "members_refreshed_at", "updated_at"])
    for turn, (member_id, dial) in enumerate(claimed):
        # The n-th dial of this block at priority n: tenants interleave in the queue.
        campaign_dial_task.apply_async((member_id, dial), priority=min(turn, 9))
    if len(claimed) == block_size(campaign) and not settings.CELERY_TASK_ALWAYS_EAGER:
        # A full block and a fast pace: the next block after one block's worth of time, not at
        # the next tick (in-process, the tick is the only loop).
        campaign_dispatch_task.apply_async(
            (str(campaign.pk),), countdown=len(claimed) / float(campaign.calls_per_second)
        )
    return claimed


def _claim(campaign: Campaign, now: datetime) -> list[tuple[int, int]]:
    """At most one block: the concurrent-calls room, less the claims not placed yet (so claims
    never race ahead of what the workers actually dial, and no tenant fills the queue)."""
    counts = CampaignContact.objects.filter(campaign=campaign, state=MemberState.DIALING).aggregate(
        dialing=Count("pk"), unplaced=Count("pk", filter=Q(last_call__isnull=True))
    )
    want = min(campaign.max_concurrent - counts["dialing"], block_size(campaign) - counts["unplaced"])
    if want <= 0:
        return []
    due = list(
        CampaignContact.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, state=MemberState.QUEUED, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", "contact_id")[: want + SCAN_EXTRA]
    )
    # Time zones by primary key (a join would let the planner scan the account's contacts).
    zones = dict(Contact.objects.filter(pk__in=[c for _m, c in due]).values_list("pk", "time_zone"))
    rows = [(member_id, zones.get(contact_id, "UTC")) for member_id, contact_id in due]
    ready: list[int] = []
    later: dict[datetime, list[int]] = {}
    never: list[int] = []
    opening: dict[str, datetime | None] = {}
    for member_id, zone in rows:
        if zone not in opening:
            opening[zone] = windows.next_opening(campaign, zone, now)
        when = opening[zone]
        if when is None:
            never.append(member_id)
        elif when == now:
            if len(ready) < want:
                ready.append(member_id)
        else:
            later.setdefault(when, []).append(member_id)
    if never:
        CampaignContact.objects.filter(pk__in=never).update(
            state=MemberState.SKIPPED, skip_reason=SkipReason.WINDOW_CLOSED, finished_at=now
        )
    for when, ids in later.items():
        CampaignContact.objects.filter(pk__in=ids).update(due_at=when)
    if not ready:
        return []
    claimed = CampaignContact.objects.filter(pk__in=ready, state=MemberState.QUEUED)
    claimed.update(
        state=MemberState.DIALING, dials=F("dials") + 1, attempts=F("attempts") + 1, claimed_at=now, updated_at=now
    )
    # The rows are locked by this transaction: nobody changed them between the two statements.
    return list(CampaignContact.objects.filter(pk__in=ready, state=MemberState.DIALING).values_list("pk", "dials"))


def block_size(campaign: Campaign) -> int:
    """One second of the campaign's pace, at most BLOCK_MAX."""
    return max(1, min(BLOCK_MAX, math.ceil(float(campaign.calls_per_second))))


def _end_of_schedule(campaign: Campaign, now: datetime) -> None:
    """The last day is over everywhere: whoever is still queued was outside their window."""
    CampaignContact.objects.filter(campaign=campaign, state=MemberState.QUEUED).update(
        state=MemberState.SKIPPED, skip_reason=SkipReason.WINDOW_CLOSED, finished_at=now
    )


def members_schedule(campaign: Campaign, now: datetime, *, only_due: bool = True) -> int:
    """Move queued contacts whose window is closed to its next opening, one update per time zone
    (so a freshly started campaign does not make the dispatch look at them one by one)."""
    queued = CampaignContact.objects.filter(campaign=campaign, state=MemberState.QUEUED)
    if only_due:
        queued = queued.filter(due_at__lte=now)
    zones = queued.values_list("contact__time_zone").annotate(n=Count("pk")).order_by()
    moved = 0
    for zone, _n in zones:
        when = windows.next_opening(campaign, zone, now)
        in_zone = queued.filter(contact__in=Contact.objects.filter(account_id=campaign.account_id, time_zone=zone))
        if when is None:
            moved += in_zone.update(state=MemberState.SKIPPED, skip_reason=SkipReason.WINDOW_CLOSED, finished_at=now)
        elif when != now:
            moved += in_zone.update(due_at=when)
    return moved


def members_refresh(campaign: Campaign, now: datetime) -> int:
    """Take in contacts that newly match the targeting (created or tagged since)."""
    added = members.members_add(campaign=campaign, due_at=now)
    campaign.members_refreshed_at = now
    if added:
        members_schedule(campaign, now)
    return added


# --- dial ----------------------------------------------------------------------------------------


def _still_running(campaign_id: Any) -> bool:
    """Asked inside the transaction that commits "Twilio is being asked": a share lock on the
    campaign, so a pause either committed before (no dial) or waits for this to commit."""
    table = Campaign._meta.db_table
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT state FROM {table} WHERE id = %s{lock}",  # noqa: S608 - the table name is ours
            [Campaign._meta.pk.get_db_prep_value(campaign_id, connection)],
        )
        row = cursor.fetchone()
    return bool(row) and row[0] == Campaign.State.RUNNING


def _admit(campaign: Campaign, ticket: str) -> bool:
    """The last check before the request leaves for Twilio: the campaign still runs, and the
    tenant's calls *sent* in the last second are under its cap. The early admission in
    `campaign_dial` spaces the dials; this one makes the cap exact at the moment of sending, even
    when a busy worker took longer than usual between the two (it waits a few milliseconds)."""
    if not _still_running(campaign.pk):
        return False
    deadline = time.monotonic() + SEND_WAIT_LIMIT
    while wait := pacing.admit_send(
        account_id=campaign.account_id, calls_per_second=campaign.calls_per_second, ticket=ticket
    ):
        if time.monotonic() + wait / 1000 > deadline:
            return False  # not placed (`not_admitted`): queued again without using an attempt
        time.sleep(wait / 1000)
    return True


def _pause(campaign: Campaign, reason: str, message: str) -> None:
    from campaigns.services import campaign_pause

    try:
        campaign_pause(campaign=campaign, reason=reason, message=message)
    except ApplicationError:
        pass  # already paused, cancelled or completed


def campaign_dial(member_id: int, dial: int, *, eager_wait: bool = False) -> str:
    """Place the call of one claim (see the module docstring). Returns what happened, in a word."""
    member = (
        CampaignContact.objects.select_related("campaign", "campaign__account", "campaign__agent", "contact")
        .filter(pk=member_id)
        .first()
    )
    if member is None or member.state != MemberState.DIALING or member.dials != dial:
        return "stale"  # already dialed and ended, released, or a later attempt
    campaign, contact = member.campaign, member.contact
    account = campaign.account
    if campaign.state != Campaign.State.RUNNING:
        reason = SkipReason.CANCELLED if campaign.state == Campaign.State.CANCELLED else ""
        outcomes.member_release(member_id, dial, due=None if reason else clock.now(), reason=reason)
        return "not running"
    now = clock.now()
    when = windows.next_opening(campaign, contact.time_zone, now)
    if when != now:
        outcomes.member_release(member_id, dial, due=when, reason=SkipReason.WINDOW_CLOSED)
        return "window closed"
    if not E164.match(contact.phone or ""):
        outcomes.member_release(member_id, dial, due=None, reason=SkipReason.INVALID_NUMBER)
        return "invalid number"
    while wait := pacing.admit(
        account_id=account.pk, calls_per_second=campaign.calls_per_second, ticket=f"{member_id}:{dial}"
    ):
        if not eager_wait:
            from campaigns.tasks import campaign_dial_task

            campaign_dial_task.apply_async((member_id, dial), countdown=wait / 1000)
            return "paced"
        time.sleep(wait / 1000)
    return _place(member, dial)


def _place(member: CampaignContact, dial: int) -> str:
    campaign, account = member.campaign, member.campaign.account
    numbers = campaign.from_numbers or []
    try:
        call = call_place(
            account=account,
            contact=member.contact,
            agent=campaign.agent,
            attempt_key=member.attempt_key(dial),
            from_number=numbers[member.pk % len(numbers)] if numbers else None,
            source=Call.Source.CAMPAIGN,
            campaign_ref=str(campaign.pk),
            admit=lambda: _admit(campaign, f"{member.pk}:{dial}"),
        )
    except TwilioBusy:
        waited = pacing.backoff(account_id=account.pk)
        logger.info("campaign %s: Twilio is busy for account %s; backing off %d ms", campaign.pk, account.slug, waited)
        return "twilio busy"  # the call ended `not_placed`; its end requeues the contact
    except CallNotPlaced:
        return "not placed"  # its end (failed) runs the retry policy
    except CallRefused as exc:
        return _refused(member, dial, exc)
    CampaignContact.objects.filter(pk=member.pk, dials=dial).update(last_call=call)
    if call.is_terminal:
        outcomes.member_apply_call(call)  # ended at once (e.g. stopped by a pause): no need to wait
    return "placed"


def _refused(member: CampaignContact, dial: int, exc: CallRefused) -> str:
    campaign = member.campaign
    if exc.code == "do_not_call":
        outcomes.member_release(member.pk, dial, due=None, reason=SkipReason.DO_NOT_CALL)
    elif exc.code == "invalid_number":
        outcomes.member_release(member.pk, dial, due=None, reason=SkipReason.INVALID_NUMBER)
    elif exc.code == "no_contact":
        outcomes.member_release(member.pk, dial, due=None, reason=SkipReason.REMOVED)
    elif exc.code == "plan_limit":
        try:
            minutes_check(account=campaign.account)
        except ApplicationError as minutes:
            _pause(campaign, "plan_limit", minutes.message)
            outcomes.member_release(member.pk, dial, due=clock.now())
        else:  # the plan's concurrent calls are all in use: try again shortly
            outcomes.member_release(member.pk, dial, due=clock.now() + PLAN_RETRY)
    else:
        _pause(campaign, PAUSING_REFUSALS.get(exc.code, exc.code), _("Paused: %(reason)s") % {"reason": exc.message})
        outcomes.member_release(member.pk, dial, due=clock.now())
    return exc.code


# --- recovery ------------------------------------------------------------------------------------


def campaigns_recover() -> dict[str, int]:
    """Claims older than the lease: re-send the dial when no call exists for the attempt (its
    worker died: the same key cannot dial twice), apply the end when the call is over (its
    signal was lost). Calls still live are left to the calls app's own recovery."""
    from campaigns.tasks import campaign_dial_task

    counts = {"redialed": 0, "applied": 0}
    stale = list(
        CampaignContact.objects.filter(state=MemberState.DIALING, claimed_at__lt=clock.now() - lease()).values_list(
            "pk", "account_id", "dials"
        )[:1000]
    )
    if not stale:
        return counts
    keys = {f"campaign:{pk}:{dial}": (pk, dial) for pk, _account, dial in stale}
    calls = {
        c.attempt_key: c
        for c in Call.objects.filter(attempt_key__in=list(keys), account_id__in={a for _p, a, _d in stale})
    }
    for key, (pk, dial) in keys.items():
        call = calls.get(key)
        if call is None:
            CampaignContact.objects.filter(pk=pk, state=MemberState.DIALING, dials=dial).update(claimed_at=clock.now())
            campaign_dial_task.delay(pk, dial)
            counts["redialed"] += 1
        elif call.is_terminal:
            counts["applied"] += outcomes.member_apply_call(call) is not None
    return counts
