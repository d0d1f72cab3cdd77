"""A call's life after it was placed: the state machine, and what happens when it changes.

Every change is made under the call's row lock, so repeated and concurrent deliveries (Twilio
retries, an operator's replay, recovery racing a late callback) serialise on the row:

- Status moves up `STATUS_RANK` only, ordered by Twilio's `SequenceNumber` when it has one; a
  terminal status never changes. Facts that come late (duration, recording, price) only fill
  what is still empty.
- Entering `in-progress`: `call.started` to the tenant's webhooks.
- Entering a terminal status: the tool session closes, the minutes are metered (once per call,
  `billing.usage`), `call.ended` goes to the tenant's webhooks, `call_ended` is sent to listeners
  after commit, and, when no conversation happened, the outcome goes to GoHighLevel.
- The post-call analysis (`call_apply_conversation`): transcript, summary, outcomes, evaluation;
  `call.analyzed`; `call_analyzed`; the outcome to GoHighLevel (once: an idempotent outbox key).

Live pages hear about every change through `realtime_publish` (after commit).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.models import Booking, Tool, ToolInvocation, ToolSession
from agents.services import tool_session_close
from billing.usage import usage_record_call
from calls import signals
from calls.models import STATUS_RANK, TERMINAL, TWILIO_STATUSES, Analysis, Call, Outcome, Status, TenantEvent
from contacts.models import DoNotCallEntry
from realtime.events import realtime_publish

logger = logging.getLogger(__name__)

MACHINE_PREFIXES = ("machine", "fax")
RECONCILE_AFTER = timedelta(minutes=5)
# What a Twilio status can change on a call (saved when changed, nothing else).
TWILIO_FACTS = (
    "twilio_call_sid",
    "status",
    "status_sequence",
    "answered_by",
    "duration_seconds",
    "recording_sid",
    "recording_duration",
    "price",
    "price_unit",
    "answered_at",
    "ended_at",
    "timeline",
    "tool_session_id",
    "voicemail_left",
)
MAX_TRANSCRIPT_TURNS = 500
MAX_MESSAGE = 4000
NO_CONVERSATION = frozenset({Outcome.VOICEMAIL, Outcome.MACHINE})


class StaleEvent(Exception):
    """A callback that names another call's SID: ignored, nothing changes."""


def _locked(call_id: Any) -> Call:
    # No joins: most changes need nothing else; the ending loads what it needs.
    return Call.objects.select_for_update().get(pk=call_id)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def is_machine(answered_by: str) -> bool:
    return (answered_by or "").startswith(MACHINE_PREFIXES)


def _note(call: Call, status: str, now: datetime, **extra: Any) -> None:
    call.timeline = [*call.timeline, {"status": status, "at": now.isoformat(), **extra}][-50:]


# --- what happened, in one word ------------------------------------------------------------------


def _opted_out(call: Call) -> bool:
    said_stop = ToolInvocation.objects.filter(
        account_id=call.account_id, call_id=call.pk, tool=Tool.OPT_OUT, status="ok"
    ).exists()
    if said_stop:
        return True
    since = call.answered_at or call.created_at
    return DoNotCallEntry.objects.filter(
        account_id=call.account_id, phone=call.far_number, source=DoNotCallEntry.Source.OPT_OUT, created_at__gte=since
    ).exists()


def _booked(call: Call) -> bool:
    return Booking.objects.filter(
        account_id=call.account_id, call_id=call.pk, status__in=(Booking.Status.BOOKED, Booking.Status.UNKNOWN)
    ).exists()


def outcome_for(call: Call) -> str:
    """The call's outcome from its status and what its tools did (opting out outranks a booking:
    it is the promise we must keep)."""
    by_status = {
        Status.NOT_PLACED: Outcome.NOT_PLACED,
        Status.CANCELED: Outcome.CANCELED,
        Status.BUSY: Outcome.BUSY,
        Status.NO_ANSWER: Outcome.NO_ANSWER,
        Status.FAILED: Outcome.FAILED,
    }
    if call.status in by_status:
        return by_status[call.status]
    if call.status not in (Status.COMPLETED, Status.IN_PROGRESS):
        return ""
    if _opted_out(call):
        return Outcome.OPTED_OUT
    if _booked(call):
        return Outcome.BOOKED
    if call.voicemail_left:
        return Outcome.VOICEMAIL
    if is_machine(call.answered_by):
        return Outcome.MACHINE
    return Outcome.ANSWERED


# --- after-commit announcements -----------------------------------------------------------------


def summary(call: Call) -> dict[str, Any]:
    """What live pages and tenant webhooks are told about a call (never a secret)."""
    return {
        "id": str(call.pk),
        "status": call.status,
        "status_label": str(call.get_status_display()),
        "outcome": call.outcome,
        "outcome_label": str(call.get_outcome_display()) if call.outcome else "",
        "direction": call.direction,
        "to": call.to_number,
        "from": call.from_number,
        "contact_id": call.contact_id,
        "agent_id": str(call.agent_id) if call.agent_id else None,
        "answered_by": call.answered_by,
        "voicemail_left": call.voicemail_left,
        "duration_seconds": call.duration_seconds,
        "analysis_status": call.analysis_status,
        "created_at": call.created_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
    }


def _announce(call: Call) -> None:
    realtime_publish(account_id=call.account_id, type="call.updated", data=summary(call))


def _send_after_commit(signal: Any, call_id: Any) -> None:
    def send() -> None:
        fresh = Call.objects.select_related("account", "agent", "contact").get(pk=call_id)
        for receiver, result in signal.send_robust(sender=Call, call=fresh):
            if isinstance(result, Exception):
                logger.error("%s receiver %r failed for call %s: %r", signal, receiver, call_id, result)

    transaction.on_commit(send)


def _tenant_event(call: Call, event: str) -> None:
    from calls.tenant_webhooks import tenant_event_emit  # the event payloads import this module

    tenant_event_emit(call=call, event=event)


def _outcome_to_crm(call: Call) -> None:
    """The outcome goes to GoHighLevel once the call ended and its analysis is settled."""
    from calls.crm import crm_outcome_enqueue  # the outbox handler imports this module

    if call.is_terminal and call.analysis_status != Analysis.WAITING:
        crm_outcome_enqueue(call=call)


# --- creation and dialing outcomes --------------------------------------------------------------


@transaction.atomic(savepoint=False)  # inside a webhook's transaction: no savepoint round trips
def call_created(*, call_id: Any, sid: str, status: str) -> Call:
    """Twilio created the call: keep its SID (an early callback may have done so already)."""
    call = _locked(call_id)
    now = timezone.now()
    if not call.twilio_call_sid:
        call.twilio_call_sid = sid
    if call.status in (Status.PENDING, Status.UNKNOWN):
        # Only a live status can come back from a create; anything else, Twilio's callbacks tell.
        call.status = status if status in TWILIO_STATUSES and status not in TERMINAL else Status.QUEUED
        _note(call, call.status, now)
    call.save()
    _announce(call)
    return call


@transaction.atomic(savepoint=False)
def call_mark_unknown(*, call_id: Any, reason: str) -> Call:
    call = _locked(call_id)
    if call.status == Status.PENDING:
        call.status, call.error_code, call.error_message = Status.UNKNOWN, "unknown_outcome", reason[:500]
        _note(call, Status.UNKNOWN, timezone.now())
        call.save()
        _announce(call)
    return call


@transaction.atomic(savepoint=False)
def call_mark_not_placed(*, call_id: Any, code: str, reason: str) -> Call:
    """Twilio certainly has no such call: the attempt ends here (`call_ended` is sent)."""
    call = _locked(call_id)
    if call.status in (Status.PENDING, Status.UNKNOWN):
        call.error_code, call.error_message = code[:40], reason[:500]
        _enter(call, Status.NOT_PLACED, timezone.now())
        call.save()
        _after_change(call, entered_terminal=True, answered=False)
    return call


# --- Twilio's callbacks ---------------------------------------------------------------------------


def _bind_sid(call: Call, sid: str) -> None:
    if not sid:
        return
    if call.twilio_call_sid and call.twilio_call_sid != sid:
        raise StaleEvent(f"callback for {sid}, the call is {call.twilio_call_sid}")
    if not call.twilio_call_sid:
        if Call.objects.filter(twilio_call_sid=sid).exclude(pk=call.pk).exists():
            raise StaleEvent(f"{sid} belongs to another call")
        call.twilio_call_sid = sid


def _facts(call: Call, params: dict[str, Any]) -> None:
    """Details that only fill what is still empty (a repeat or a late callback changes nothing)."""
    answered_by = str(params.get("AnsweredBy") or "")[:32]
    if answered_by and not call.answered_by:
        call.answered_by = answered_by
    duration = _int(params.get("CallDuration") if params.get("CallDuration") is not None else params.get("Duration"))
    if duration is not None and call.duration_seconds is None and call.is_terminal:
        call.duration_seconds = max(duration, 0)
    recording = str(params.get("RecordingSid") or "")
    if recording.startswith("RE") and not call.recording_sid:
        call.recording_sid = recording[:64]
        call.recording_duration = _int(params.get("RecordingDuration"))
    price = str(params.get("Price") or params.get("price") or "")
    if price and not call.price:
        call.price, call.price_unit = price[:20], str(params.get("PriceUnit") or params.get("price_unit") or "")[:8]


def _enter(call: Call, status: str, now: datetime) -> None:
    call.status = status
    if status == Status.IN_PROGRESS and call.answered_at is None:
        call.answered_at = now
    if status in TERMINAL:
        call.ended_at = call.ended_at or now
        if status == Status.COMPLETED and call.answered_at is None:
            call.answered_at = now  # answered and over before the in-progress callback came
    _note(call, status, now)


@transaction.atomic(savepoint=False)
def call_apply_twilio(
    *, call_id: Any, params: dict[str, Any], session: ToolSession | None = None, voicemail: bool = False
) -> Call:
    """Apply one Twilio status (a callback, or a fetch by recovery). Idempotent and monotonic.

    The voice webhook also hands over, in the same write, the tool session it opened for the
    agent, or that it left the voicemail message on a machine.
    """
    call = _locked(call_id)
    before = [getattr(call, name) for name in TWILIO_FACTS]
    if session is not None:
        call.tool_session = session
    if voicemail and not call.voicemail_left:
        call.voicemail_left = True
        _note(call, "voicemail", timezone.now())
    _bind_sid(call, str(params.get("CallSid") or ""))
    status = str(params.get("CallStatus") or "")
    sequence = _int(params.get("SequenceNumber"))
    moved = (
        status in TWILIO_STATUSES
        and not call.is_terminal
        and STATUS_RANK[status] > STATUS_RANK[call.status]
        and (sequence is None or sequence > call.status_sequence)
    )
    if moved:
        _enter(call, status, timezone.now())
    if sequence is not None and sequence > call.status_sequence:
        call.status_sequence = sequence
    _facts(call, params)
    if moved and call.is_terminal and call.duration_seconds is None:
        call.duration_seconds = 0
    changed = [
        name.removesuffix("_id") if name == "tool_session_id" else name
        for name, old in zip(TWILIO_FACTS, before, strict=True)
        if getattr(call, name) != old
    ]
    if changed:  # a repeat or a stale callback writes nothing
        call.save(update_fields=[*changed, "updated_at"])
    if moved:
        _after_change(call, entered_terminal=call.is_terminal, answered=status == Status.IN_PROGRESS)
    return call


@transaction.atomic(savepoint=False)
def call_apply_answered_by(*, call_id: Any, params: dict[str, Any]) -> Call:
    """The asynchronous machine-detection verdict (the AMD callback)."""
    call = _locked(call_id)
    _bind_sid(call, str(params.get("CallSid") or ""))
    _facts(call, {"AnsweredBy": params.get("AnsweredBy")})
    call.save()
    if call.is_terminal:
        call.outcome = outcome_for(call)
        call.save(update_fields=["outcome", "updated_at"])
    _announce(call)
    return call


@transaction.atomic(savepoint=False)
def call_note_error(*, call_id: Any, code: str, message: str) -> Call:
    call = _locked(call_id)
    call.error_code, call.error_message = code[:40], message[:500]
    call.save(update_fields=["error_code", "error_message", "updated_at"])
    _announce(call)
    return call


def _after_change(call: Call, *, entered_terminal: bool, answered: bool) -> None:
    """Effects of a status change, inside the transaction that made it (call is locked)."""
    if answered:
        _tenant_event(call, TenantEvent.CALL_STARTED)
    if entered_terminal:
        _on_ended(call)
    _announce(call)


def _on_ended(call: Call) -> None:
    call.outcome = outcome_for(call)
    talked = call.answered_at is not None and call.outcome not in NO_CONVERSATION and call.agent_id is not None
    if call.analysis_status == Analysis.NONE and talked and call.status == Status.COMPLETED:
        # ElevenLabs posts the analysis shortly after the call; reconciliation looks it up if not.
        call.analysis_status = Analysis.WAITING
        call.analysis_check_at = (call.ended_at or timezone.now()) + RECONCILE_AFTER
    call.save(update_fields=["outcome", "analysis_status", "analysis_check_at", "updated_at"])
    if call.tool_session_id:
        tool_session_close(session=call.tool_session)
    if call.twilio_call_sid:  # Twilio placed it: meter it (no minutes when nobody answered)
        usage_record_call(
            account=call.account, call_id=call.pk, seconds=call.duration_seconds or 0, ended_at=call.ended_at
        )
    _tenant_event(call, TenantEvent.CALL_ENDED)
    _outcome_to_crm(call)
    _send_after_commit(signals.call_ended, call.pk)


# --- the tool session and the conversation ---------------------------------------------------


def _tool_entries(turn: dict[str, Any]) -> list[dict[str, Any]]:
    results = {r.get("request_id"): r for r in turn.get("tool_results") or [] if isinstance(r, dict)}
    entries = []
    for called in turn.get("tool_calls") or []:
        if not isinstance(called, dict):
            continue
        result = results.get(called.get("request_id")) or {}
        entries.append(
            {
                "name": str(called.get("tool_name") or "")[:64],
                "params": str(called.get("params_as_json") or "")[:MAX_MESSAGE],
                "result": str(result.get("result_value") or "")[:MAX_MESSAGE],
                "error": bool(result.get("is_error")),
            }
        )
    return entries


def transcript_from(raw: Any) -> list[dict[str, Any]]:
    """ElevenLabs' transcript as the call page shows it: who said what, when, which tools ran."""
    turns = []
    for turn in (raw if isinstance(raw, list) else [])[:MAX_TRANSCRIPT_TURNS]:
        if not isinstance(turn, dict):
            continue
        role = "agent" if turn.get("role") == "agent" else "user"
        message = turn.get("message")
        turns.append(
            {
                "role": role,
                "message": str(message)[:MAX_MESSAGE] if message else "",
                "at": _int(turn.get("time_in_call_secs")),
                "tools": _tool_entries(turn),
            }
        )
    return turns


def _results(raw: Any, keep: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        return {}
    found = {}
    for key, value in list(raw.items())[:50]:
        if isinstance(value, dict):
            found[str(key)[:64]] = {name: value.get(name) for name in keep if name in value}
    return found


@transaction.atomic(savepoint=False)
def call_apply_conversation(*, call_id: Any, data: dict[str, Any]) -> Call:
    """Store ElevenLabs' post-call data (webhook or reconciliation). Idempotent per call."""
    call = _locked(call_id)
    first = call.analysis_status != Analysis.RECEIVED
    analysis = data.get("analysis") if isinstance(data.get("analysis"), dict) else {}
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    call.conversation_id = str(data.get("conversation_id") or call.conversation_id)[:64]
    call.transcript = transcript_from(data.get("transcript"))
    call.summary = str(analysis.get("transcript_summary") or "")[:10000]
    call.summary_title = str(analysis.get("call_summary_title") or "")[:200]
    call.call_successful = str(analysis.get("call_successful") or "")[:10]
    call.outcomes = _results(analysis.get("data_collection_results"), ("value", "rationale"))
    call.evaluation = _results(analysis.get("evaluation_criteria_results"), ("result", "rationale"))
    call.termination_reason = str(metadata.get("termination_reason") or "")[:200]
    call.analysis_status = Analysis.FAILED if data.get("status") == "failed" else Analysis.RECEIVED
    call.analyzed_at = call.analyzed_at or timezone.now()
    if call.is_terminal:
        call.outcome = outcome_for(call)
    call.save()
    if call.tool_session_id:
        tool_session_close(session=call.tool_session)
    if first:
        _tenant_event(call, TenantEvent.CALL_ANALYZED)
        _send_after_commit(signals.call_analyzed, call.pk)
    _outcome_to_crm(call)
    _announce(call)
    return call


@transaction.atomic(savepoint=False)
def call_mark_analysis_missing(*, call_id: Any) -> Call:
    """ElevenLabs never sent (nor has) the conversation: stop waiting; the outcome goes out without."""
    call = _locked(call_id)
    if call.analysis_status == Analysis.WAITING:
        call.analysis_status = Analysis.MISSING
        call.save(update_fields=["analysis_status", "updated_at"])
        _outcome_to_crm(call)
        _announce(call)
    return call


def calls_waiting_for_analysis() -> Q:
    return Q(analysis_status=Analysis.WAITING, status=Status.COMPLETED)
