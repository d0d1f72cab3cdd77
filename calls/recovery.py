"""Recovery and reconciliation: what happens when a process or a webhook goes missing.

Periodic (`calls.tasks`), each safe to run twice at once (rows are claimed with
`SELECT … FOR UPDATE SKIP LOCKED` and every change goes through `calls.lifecycle`):

- `call_recover_unknown`: attempts whose Twilio outcome is unknown: the process died between
  asking Twilio and writing its answer (`pending` with `dial_started_at`), or Twilio's answer was
  lost (`unknown`). Once the create request is certainly over, the call is looked up **at
  Twilio** (`GET Calls.json?To=&From=&StartTime>=`, and the still-queued ones): found, it is
  bound and followed; not found, the attempt is `not_placed` and may be dialed again. Never two
  calls for one attempt. An attempt that never reached the point of asking is `not_placed` at once.
- `calls_refresh_stale`: live calls whose final status callback never came are fetched from
  Twilio and settled.
- `calls_reconcile_analysis`: answered calls whose post-call webhook never came: the
  conversation is fetched from ElevenLabs (`GET /v1/convai/conversations?agent_id=&user_id=`
  then `GET …/{id}`); after a day of looking, the analysis is marked missing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents import sync
from calls import lifecycle, voice
from calls.errors import CallRefused
from calls.models import NOT_CREATED, NOT_DIALED, Analysis, Call, Status
from integrations.providers import elevenlabs, twilio
from integrations.providers.base import ProviderError
from prixagent.crypto import DecryptionError

logger = logging.getLogger(__name__)

NEVER_DIALED_AFTER = timedelta(minutes=2)  # `pending` without `dial_started_at`: it died before asking
CLOCK_SKEW = timedelta(minutes=2)  # between our clock and Twilio's `date_created`
STALE_GRACE = timedelta(minutes=10)  # past ring timeout + maximum length: the last callback is late
ANALYSIS_GIVE_UP = timedelta(hours=24)
ANALYSIS_MAX_WAIT = timedelta(hours=2)
BATCH = 50


def request_over_after() -> timedelta:
    """How long after asking Twilio its create request is certainly finished (or dead)."""
    return timedelta(seconds=2 * float(settings.PROVIDER_TIMEOUT_SECONDS) + 30)


def _claim(queryset: Any) -> Call | None:
    return queryset.select_for_update(skip_locked=True, of=("self",)).select_related("account", "agent").first()


# --- unknown attempts ------------------------------------------------------------------------------


def _twilio_params(found: dict[str, Any]) -> dict[str, Any]:
    params = {"CallSid": found["sid"], "CallStatus": found.get("status") or "queued"}
    for key, name in (("duration", "CallDuration"), ("answered_by", "AnsweredBy"), ("price", "Price")):
        if found.get(key) not in (None, ""):
            params[name] = found[key]
    if found.get("price_unit"):
        params["PriceUnit"] = found["price_unit"]
    return params


def twilio_matches(call: Call) -> list[dict[str, Any]]:
    """Calls at Twilio that can be this attempt: same numbers, created around when we asked,
    not bound to another call of ours. Earliest first."""
    sid, token = _credentials(call)
    asked = call.dial_started_at or call.created_at
    since = (asked - CLOCK_SKEW).date()
    started = twilio.calls_list(sid, token, to=call.to_number, from_=call.from_number, since=since)
    queued = twilio.calls_list(sid, token, to=call.to_number, from_=call.from_number, status="queued")
    window_end = asked + request_over_after() + CLOCK_SKEW
    candidates = {
        c["sid"]: c
        for c in [*started, *queued]
        if c.get("date_created") is None or asked - CLOCK_SKEW <= c["date_created"] <= window_end
    }
    taken = set(
        Call.objects.filter(twilio_call_sid__in=list(candidates))
        .exclude(pk=call.pk)
        .values_list("twilio_call_sid", flat=True)
    )
    found = [c for s, c in candidates.items() if s not in taken]
    return sorted(found, key=lambda c: (c.get("date_created") or asked, c["sid"]))


def _credentials(call: Call) -> tuple[str, str]:
    from calls.services import twilio_credentials

    return twilio_credentials(call.account)


def recover_one(call: Call) -> str:
    if call.dial_started_at is None:
        lifecycle.call_mark_not_placed(
            call_id=call.pk, code=NOT_DIALED, reason="the attempt stopped before Twilio was asked"
        )
        return "not_placed"
    try:
        matches = twilio_matches(call)
    except (ProviderError, CallRefused) as exc:
        logger.warning("call %s: recovery could not ask Twilio: %s", call.pk, getattr(exc, "message", exc))
        return "deferred"
    if not matches:
        lifecycle.call_mark_not_placed(
            call_id=call.pk, code=NOT_CREATED, reason="Twilio has no such call: it was never placed"
        )
        return "not_placed"
    lifecycle.call_apply_twilio(call_id=call.pk, params=_twilio_params(matches[0]))
    logger.info("call %s recovered at Twilio as %s", call.pk, matches[0]["sid"])
    return "recovered"


def call_recover_unknown(*, now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Resolve attempts whose Twilio outcome is unknown (see the module docstring)."""
    now = now or timezone.now()
    due = Call.objects.filter(
        Q(status__in=(Status.PENDING, Status.UNKNOWN), dial_started_at__lt=now - request_over_after())
        | Q(status=Status.PENDING, dial_started_at__isnull=True, created_at__lt=now - NEVER_DIALED_AFTER)
    ).order_by("created_at")
    counts: dict[str, int] = {}
    seen: set[Any] = set()
    for _turn in range(limit):
        with transaction.atomic():
            call = _claim(due.exclude(pk__in=seen))
            if call is None:
                break
            seen.add(call.pk)
            outcome = recover_one(call)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# --- live calls whose last callback never came ---------------------------------------------------


def _quiet_too_long(call: Call, now: datetime) -> bool:
    longest = call.ring_timeout + (call.agent.max_call_seconds if call.agent else 3600)
    return (call.answered_at or call.created_at) + timedelta(seconds=longest) + STALE_GRACE < now


def calls_refresh_stale(*, now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    now = now or timezone.now()
    due = Call.objects.filter(
        status__in=(Status.QUEUED, Status.INITIATED, Status.RINGING, Status.IN_PROGRESS),
        updated_at__lt=now - STALE_GRACE,
    ).exclude(twilio_call_sid="")
    counts: dict[str, int] = {}
    seen: set[Any] = set()
    for _turn in range(limit):
        with transaction.atomic():
            call = _claim(due.exclude(pk__in=seen).order_by("updated_at"))
            if call is None:
                break
            seen.add(call.pk)
            outcome = refresh_one(call, now) if _quiet_too_long(call, now) else "waiting"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def refresh_one(call: Call, now: datetime) -> str:
    try:
        sid, token = _credentials(call)
        found = twilio.call_fetch(sid, token, call.twilio_call_sid)
    except (ProviderError, CallRefused) as exc:
        logger.warning("call %s: could not fetch it from Twilio: %s", call.pk, getattr(exc, "message", exc))
        return "deferred"
    settled = lifecycle.call_apply_twilio(call_id=call.pk, params=_twilio_params(found))
    if not settled.is_terminal:
        Call.objects.filter(pk=call.pk).update(updated_at=now)  # still live at Twilio: look again later
        return "live"
    return "settled"


# --- post-call analysis that never came ----------------------------------------------------------


def _conversation(call: Call) -> dict[str, Any] | None:
    """The finished conversation of the call at ElevenLabs, or None (not there, or not done yet)."""
    agent = call.agent
    if agent is None or not agent.elevenlabs_agent_id:
        return None
    key = voice.agent_key(agent)
    known = call.conversation_id or (call.tool_session.conversation_id if call.tool_session else "")
    ids = (
        [known]
        if known
        else elevenlabs.conversation_ids_for_user(
            key,
            agent_id=agent.elevenlabs_agent_id,
            user_id=str(call.pk),
            since_unix=int(call.created_at.timestamp()) - 60,
        )
    )
    for conversation_id in ids:
        data = elevenlabs.conversation_get(key, conversation_id)
        if data.get("status") in ("done", "failed"):
            return data
    return None


def reconcile_one(call: Call, now: datetime) -> str:
    try:
        data = _conversation(call)
    except (ProviderError, sync.NoKey, DecryptionError) as exc:
        logger.warning("call %s: ElevenLabs conversation not fetched: %s", call.pk, getattr(exc, "message", exc))
        data = None
    if data is not None:
        lifecycle.call_apply_conversation(call_id=call.pk, data=data)
        return "reconciled"
    if call.ended_at and call.ended_at < now - ANALYSIS_GIVE_UP:
        lifecycle.call_mark_analysis_missing(call_id=call.pk)
        return "missing"
    wait = min(lifecycle.RECONCILE_AFTER * 2**call.analysis_checks, ANALYSIS_MAX_WAIT)
    Call.objects.filter(pk=call.pk).update(analysis_check_at=now + wait, analysis_checks=call.analysis_checks + 1)
    return "waiting"


def calls_reconcile_analysis(*, now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    now = now or timezone.now()
    due = Call.objects.filter(lifecycle.calls_waiting_for_analysis(), analysis_check_at__lte=now).order_by(
        "analysis_check_at"
    )
    counts: dict[str, int] = {}
    seen: set[Any] = set()
    for _turn in range(limit):
        with transaction.atomic():
            call = (
                due.exclude(pk__in=seen)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("account", "agent__workspace", "tool_session")
                .first()
            )
            if call is None:
                break
            seen.add(call.pk)
            outcome = reconcile_one(call, now) if call.analysis_status == Analysis.WAITING else "done"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
