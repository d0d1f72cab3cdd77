"""The in-call tools: what an agent can do while it talks (server tools ElevenLabs calls).

`tool_run` is the only entry point. It runs after the per-call token was checked
(`api_tools`), acts only on the session's account, agent and contact, and always answers:
HTTP 200 with `{"status", "message", ...}` where `message` is a sentence the agent can say
(in the agent's language). A provider error, a timeout or our own bug becomes such an
answer, never a 500, so the conversation goes on. Every run is recorded (`ToolInvocation`).

Cal.com time zones (providers.md §4.2): slots are asked for in the contact's zone, and a
booking sends `start` in UTC with the attendee's IANA zone. `book_appointment` books at most
once per conversation: a pending booking row is committed before Cal.com is called, under a
partial unique index on (account, conversation), so a repeated or concurrent call finds it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from agents import ghl_writes, speech
from agents.models import AgentAccountSettings, Booking, Tool, ToolInvocation, ToolSession
from agents.selectors import _zone, agent_settings_for, calcom_event_types
from contacts.models import DoNotCallEntry
from contacts.services import dnc_add
from integrations.providers import calcom
from integrations.providers.base import ProviderError
from integrations.services import integration_mark_failing
from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

# A caller is waiting on the line: Cal.com gets a few seconds, well inside the tool's own
# response_timeout_secs at ElevenLabs (remote.TOOL_RESPONSE_TIMEOUT_SECS).
CALCOM_TIMEOUT = 4.0
SLOTS_OFFERED = 3
SEARCH_DAYS = 14
MAX_ARGUMENT = 2000
CREDENTIAL_ERRORS = ("invalid_credentials", "permission_denied")


@dataclass
class Answer:
    status: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, **self.data}


# --- shared steps ------------------------------------------------------------------------------


def _text(arguments: dict[str, Any], name: str) -> str:
    value = arguments.get(name)
    return value.strip()[:MAX_ARGUMENT] if isinstance(value, str) else ""


def _zone_of(session: ToolSession) -> ZoneInfo:
    return _zone(session.contact.time_zone if session.contact else "", session.account.time_zone)


def _calendar_unavailable() -> Answer:
    return Answer(
        "unavailable",
        _("I can't reach the calendar right now. Someone from our team will call you back to find a time."),
    )


@sensitive_variables()
def _calcom(session: ToolSession) -> tuple[str, int] | Answer:
    """(api key, event type id) for this session's agent, or the answer to give when there is none."""
    account, agent = session.account, session.agent
    if agent is None or not account.calcom_configured:
        return _calendar_unavailable()
    _types, default = calcom_event_types(account)
    event_type = agent.calcom_event_type_id or default
    if not event_type:
        return _calendar_unavailable()
    try:
        key = account.calcom_api_key or ""
    except DecryptionError:
        logger.exception("Cal.com key of account %s cannot be decrypted", account.slug)
        return _calendar_unavailable()
    return key, int(event_type)


def _provider_failed(session: ToolSession, exc: ProviderError) -> Answer:
    logger.warning("tool: Cal.com failed for account %s: %s", session.account.slug, exc.message)
    if exc.permanent and exc.code in CREDENTIAL_ERRORS:
        integration_mark_failing(account=session.account, provider="calcom", error=exc)
    return _calendar_unavailable()


def _timeout() -> float:
    return min(float(settings.PROVIDER_TIMEOUT_SECONDS), CALCOM_TIMEOUT)


def _parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _parse_start(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# --- check_availability ------------------------------------------------------------------------


def _pick(starts: list[datetime], *, one_day: bool) -> list[datetime]:
    """Up to three times: the first ones of the asked day, else the first of three different days."""
    if one_day:
        return starts[:SLOTS_OFFERED]
    picked: list[datetime] = []
    for start in starts:
        if all(start.date() != p.date() for p in picked):
            picked.append(start)
        if len(picked) == SLOTS_OFFERED:
            break
    return picked


def _free_slots(
    session: ToolSession, key: str, event_type: int, zone: ZoneInfo, day: date | None
) -> list[datetime] | ProviderError:
    now = timezone.now()
    if day is not None:
        start = max(now, datetime.combine(day, datetime.min.time(), tzinfo=zone))
        end = datetime.combine(day, datetime.max.time(), tzinfo=zone)
    else:
        start, end = now, now + timedelta(days=SEARCH_DAYS)
    try:
        grouped = calcom.available_slots(
            key,
            event_type_id=event_type,
            start=start.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            end=end.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            time_zone=zone.key,
            timeout_s=_timeout(),
        )
    except ProviderError as exc:
        return exc
    starts = []
    for slots in grouped.values():
        for slot in slots:
            moment = _parse_start(str(slot.get("start") or ""))
            if moment is not None and moment > now:
                starts.append(moment.astimezone(zone))
    return sorted(starts)


def _offer(starts: list[datetime], language: str, *, one_day: bool) -> tuple[str, list[dict[str, str]]]:
    now = timezone.now()
    picked = _pick(starts, one_day=one_day)
    slots = [{"start": s.isoformat(), "spoken": speech.spoken_moment(s, now=now, language=language)} for s in picked]
    return speech.spoken_list([s["spoken"] for s in slots], language), slots


def check_availability(session: ToolSession, arguments: dict[str, Any]) -> Answer:
    calendar = _calcom(session)
    if isinstance(calendar, Answer):
        return calendar
    key, event_type = calendar
    raw_day = _text(arguments, "day")
    day = _parse_day(raw_day) if raw_day else None
    if raw_day and day is None:
        return Answer("invalid", _("Which day would suit you?"), {"hint": "day must be YYYY-MM-DD"})
    zone = _zone_of(session)
    found = _free_slots(session, key, event_type, zone, day)
    if isinstance(found, ProviderError):
        return _provider_failed(session, found)
    if not found:
        message = (
            _("I don't see any free times that day. Would another day work?")
            if day
            else _("I don't see any free times in the next two weeks. Someone from our team will call you back.")
        )
        return Answer("no_slots", message, {"slots": [], "time_zone": zone.key})
    language = session.agent.language if session.agent else "en"
    spoken, slots = _offer(found, language, one_day=day is not None)
    return Answer(
        "ok",
        _("I have %(times)s. Which works best for you?") % {"times": spoken},
        {
            "slots": slots,
            "time_zone": zone.key,
        },
    )


# --- book_appointment --------------------------------------------------------------------------


def _conversation_key(session: ToolSession, arguments: dict[str, Any]) -> str:
    # The session's conversation (learnt from its first tool call) wins over the body: within one
    # call the key never changes, whatever a later request claims.
    return session.conversation_id or _text(arguments, "conversation_id")[:100] or f"session:{session.pk}"


def _attendee_email(session: ToolSession, arguments: dict[str, Any]) -> tuple[str, bool] | Answer:
    """(email, is a placeholder) or the question to ask; a given email is saved on the contact."""
    given = _text(arguments, "email")
    if given:
        try:
            validate_email(given)
        except ValidationError:
            return Answer("invalid_email", _("Sorry, could you spell that email address for me again?"))
        if session.contact is not None and not session.contact.email:
            ghl_writes.contact_update(session=session, changes={"email": given})
        return given, False
    if session.contact is not None and session.contact.email:
        return session.contact.email, False
    policy = agent_settings_for(session.account)
    if policy.no_email_policy == AgentAccountSettings.NoEmailPolicy.PLACEHOLDER and policy.placeholder_email:
        return policy.placeholder_email, True
    return Answer("need_email", _("What email address should I send the confirmation to?"))


def _spoken(booking: Booking, language: str) -> str:
    local = booking.start_at.astimezone(ZoneInfo(booking.time_zone))
    return speech.spoken_moment(local, now=timezone.now(), language=language)


def _existing_booking(session: ToolSession, key: str, language: str) -> Answer:
    booking = (
        Booking.objects.filter(account=session.account, conversation_key=key)
        .exclude(status=Booking.Status.FAILED)
        .first()
    )
    if booking is None:  # it failed meanwhile; the caller may simply ask again
        return Answer("in_progress", _("One moment, I'm still working on that booking."))
    when = _spoken(booking, language)
    if booking.status == Booking.Status.BOOKED:
        return Answer(
            "already_booked",
            _("You're already booked for %(when)s.") % {"when": when},
            {"booking": {"start": booking.start_at.isoformat(), "spoken": when}},
        )
    if booking.status == Booking.Status.UNKNOWN:
        return Answer(
            "unconfirmed", _("I've already requested %(when)s for you; our team will confirm it.") % {"when": when}
        )
    return Answer("in_progress", _("One moment, I'm still working on that booking."))


def _attendee(session: ToolSession, arguments: dict[str, Any], email: str, zone: ZoneInfo) -> dict[str, Any]:
    contact, agent = session.contact, session.agent
    name = _text(arguments, "name") or (contact.full_name if contact else "") or _("Caller")
    attendee: dict[str, Any] = {"name": name[:200], "email": email, "timeZone": zone.key}
    phone = contact.phone if contact else session.phone
    if phone:
        attendee["phoneNumber"] = phone
    if agent is not None and agent.language in ("es", "en", "pt", "fr", "de", "it"):
        attendee["language"] = agent.language
    return attendee


def book_appointment(session: ToolSession, arguments: dict[str, Any]) -> Answer:
    calendar = _calcom(session)
    if isinstance(calendar, Answer):
        return calendar
    api_key, event_type = calendar
    language = session.agent.language if session.agent else "en"
    start = _parse_start(_text(arguments, "start"))
    if start is None or start <= timezone.now():
        return Answer(
            "invalid",
            _("Which of the times I mentioned would you like?"),
            {"hint": "start must be a future 'start' value from check_availability"},
        )
    email = _attendee_email(session, arguments)
    if isinstance(email, Answer):
        return email
    address, placeholder = email
    zone = _zone_of(session)
    attendee = _attendee(session, arguments, address, zone)
    key = _conversation_key(session, arguments)
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                account=session.account,
                session=session,
                agent=session.agent,
                contact=session.contact,
                call_id=session.call_id,
                conversation_key=key,
                event_type_id=event_type,
                start_at=start,
                time_zone=zone.key,
                attendee_name=attendee["name"],
                attendee_email=address,
            )
    except IntegrityError:
        return _existing_booking(session, key, language)
    return _book(session, booking, api_key, attendee, language, placeholder)


def _book(
    session: ToolSession, booking: Booking, api_key: str, attendee: dict[str, Any], language: str, placeholder: bool
) -> Answer:
    when = _spoken(booking, language)
    try:
        created = calcom.booking_create(
            api_key,
            event_type_id=booking.event_type_id,
            start_utc=booking.start_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            attendee=attendee,
            metadata={"prix_booking": str(booking.pk), "prix_conversation": booking.conversation_key},
            timeout_s=_timeout(),
        )
    except ProviderError as exc:
        return _booking_failed(session, booking, exc, when, language)
    booking.status, booking.calcom_uid = Booking.Status.BOOKED, str(created.get("uid") or "")[:64]
    booking.save(update_fields=["status", "calcom_uid", "updated_at"])
    ghl_writes.note_add(
        session=session,
        body=_("Appointment booked by the voice agent for %(when)s (Cal.com %(uid)s).")
        % {"when": booking.start_at.isoformat(), "uid": booking.calcom_uid},
        key=f"booking:{booking.pk}",
    )
    message = (
        _("You're booked for %(when)s.")
        if placeholder
        else _("You're booked for %(when)s. You'll get a confirmation by email.")
    )
    return Answer(
        "booked", message % {"when": when}, {"booking": {"start": booking.start_at.isoformat(), "spoken": when}}
    )


def _booking_failed(session: ToolSession, booking: Booking, exc: ProviderError, when: str, language: str) -> Answer:
    if exc.code == "timeout":
        # Cal.com may have booked it: keep the row live so this conversation never books again.
        booking.status, booking.error = Booking.Status.UNKNOWN, exc.message[:1000]
        booking.save(update_fields=["status", "error", "updated_at"])
        return Answer(
            "unconfirmed",
            _("I couldn't confirm %(when)s just now; our team will confirm it with you.") % {"when": when},
        )
    booking.status, booking.error = Booking.Status.FAILED, exc.message[:1000]
    booking.save(update_fields=["status", "error", "updated_at"])
    if exc.permanent and exc.status in (400, 409):
        return _slot_taken(session, booking, language)
    return _provider_failed(session, exc)


def _slot_taken(session: ToolSession, booking: Booking, language: str) -> Answer:
    """The slot went between offer and booking (a race, providers.md §4.2): offer others."""
    calendar = _calcom(session)
    if isinstance(calendar, Answer):
        return calendar
    key, event_type = calendar
    zone = ZoneInfo(booking.time_zone)
    found = _free_slots(session, key, event_type, zone, booking.start_at.astimezone(zone).date())
    if isinstance(found, ProviderError) or not found:
        found = _free_slots(session, key, event_type, zone, None)
    if isinstance(found, ProviderError) or not found:
        return Answer(
            "slot_taken", _("That time was just taken. Someone from our team will call you back to find another.")
        )
    spoken, slots = _offer(found, language, one_day=False)
    return Answer(
        "slot_taken",
        _("That time was just taken. I can offer %(times)s instead.") % {"times": spoken},
        {"slots": slots, "time_zone": zone.key},
    )


# --- opt_out, add_note, update_contact ------------------------------------------------------


def opt_out(session: ToolSession, arguments: dict[str, Any]) -> Answer:
    phone = session.contact.phone if session.contact else session.phone
    if not phone:
        return Answer("no_number", _("Understood. I've let the team know you don't want to be called again."))
    agent_name = session.agent.name if session.agent else "agent"
    try:
        dnc_add(
            account=session.account,
            phone=phone,
            reason=_text(arguments, "reason")[:255] or "Asked not to be called during a call",
            source=DoNotCallEntry.Source.OPT_OUT,
            added_by=f"voice agent: {agent_name}"[:255],
        )
    except ApplicationError:
        logger.warning("tool opt_out: session %s has an unusable number", session.pk)
        return Answer("no_number", _("Understood. I've let the team know you don't want to be called again."))
    return Answer("ok", _("Understood. We won't call you again. Have a good day."))


def add_note(session: ToolSession, arguments: dict[str, Any]) -> Answer:
    note = _text(arguments, "note")
    if not note:
        return Answer("invalid", _("What would you like me to note?"), {"hint": "note is required"})
    ghl_writes.note_add(session=session, body=note, key=None)
    return Answer("ok", _("I've noted that for the team."))


def update_contact(session: ToolSession, arguments: dict[str, Any]) -> Answer:
    changes = {name: _text(arguments, name)[:100] for name in ("first_name", "last_name", "company")}
    changes = {name: value for name, value in changes.items() if value}
    email = _text(arguments, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return Answer("invalid_email", _("Sorry, could you spell that email address for me again?"))
        changes["email"] = email
    if not changes:
        return Answer("invalid", _("What should I update?"), {"hint": "send first_name, last_name, email or company"})
    if session.contact is None:
        ghl_writes.note_add(session=session, body=f"Caller details: {changes}", key=None)
        return Answer("ok", _("Thanks, I've passed your details to the team."))
    ghl_writes.contact_update(session=session, changes=changes)
    return Answer("ok", _("Thanks, I've updated your details."))


HANDLERS: dict[str, Callable[[ToolSession, dict[str, Any]], Answer]] = {
    Tool.CHECK_AVAILABILITY: check_availability,
    Tool.BOOK_APPOINTMENT: book_appointment,
    Tool.OPT_OUT: opt_out,
    Tool.ADD_NOTE: add_note,
    Tool.UPDATE_CONTACT: update_contact,
}


# --- the entry point ---------------------------------------------------------------------------


def _learn_conversation(session: ToolSession, arguments: dict[str, Any]) -> None:
    conversation = _text(arguments, "conversation_id")[:64]
    if conversation and not session.conversation_id:
        ToolSession.objects.filter(pk=session.pk, conversation_id="").update(conversation_id=conversation)
        session.conversation_id = conversation


def _stored(arguments: dict[str, Any]) -> dict[str, Any]:
    return {str(k)[:64]: (v[:MAX_ARGUMENT] if isinstance(v, str) else v) for k, v in list(arguments.items())[:20]}


def tool_run(*, session: ToolSession, tool: str, arguments: dict[str, Any]) -> Answer:
    """Run `tool` for a live session and record it. Always returns an Answer (never raises)."""
    started = time.perf_counter()
    language = session.agent.language if session.agent and session.agent.language in ("es", "en") else "en"
    with translation.override(language):
        try:
            _learn_conversation(session, arguments)
            answer = HANDLERS[tool](session, arguments)
        except Exception:  # noqa: BLE001 - a bug of ours must not end the conversation with a 500
            logger.exception("tool %s failed for session %s", tool, session.pk)
            answer = Answer("error", _("Sorry, something went wrong on my side. Our team will follow up with you."))
    ToolInvocation.objects.create(
        account=session.account,
        session=session,
        agent=session.agent,
        contact=session.contact,
        call_id=session.call_id,
        conversation_id=session.conversation_id,
        tool=tool,
        arguments=_stored(arguments),
        result=answer.body(),
        status=answer.status,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    return answer
