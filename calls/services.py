"""Placing calls, and the account's call settings. The one door every outbound call goes through.

    call = call_place(account=account, contact=contact, agent=agent, attempt_key="cc:42:1",
                      source="campaign", campaign_ref="42")

The contract (the campaigns app's dialer relies on it):

1. The same `attempt_key` (unique per account, a database constraint) always returns the same
   `Call` and never creates a second Twilio call, whoever asks again and whenever.
2. Before anything is written, the call is refused (`CallRefused`, nothing stored, Twilio not
   asked) when: the account is not active, no agent or an agent not pushed to ElevenLabs, the
   contact is another account's, the number is on the do-not-call list (or the contact is
   flagged), Twilio is not connected or is failing, ElevenLabs is failing, there is no caller
   number of the account's own, or the plan's minutes / concurrent calls are used up.
3. The attempt is committed (status `pending`) **before** Twilio is asked, and the moment Twilio
   is asked is committed too (`dial_started_at`). If the process dies after that, recovery
   (`calls.recovery`) looks the call up at Twilio before anything dials that attempt again.
4. Twilio's answer: the call (`queued`); or `CallNotPlaced` / `TwilioBusy` when Twilio certainly
   did not create it (the row says `not_placed`); or, when the outcome is ambiguous (timeout
   after sending, a 5xx), the call in status `unknown`, for recovery to resolve.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account, User
from agents.models import Agent
from agents.selectors import twilio_voice_numbers
from billing.usage import limit_check, minutes_check
from calls import lifecycle, links
from calls.errors import CallError, CallNotPlaced, CallRefused, TwilioBusy
from calls.models import LIVE, NOT_ADMITTED, Call, CallSettings, Status
from contacts.models import Contact
from contacts.services import dnc_contains, phone_for_account
from integrations.models import IntegrationStatus
from integrations.providers import twilio
from integrations.providers.base import ProviderError
from integrations.services import integration_mark_failing
from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError

__all__ = [
    "CallError",
    "CallNotPlaced",
    "CallRefused",
    "TwilioBusy",
    "call_hang_up",
    "call_place",
    "call_settings_for",
    "call_settings_update",
    "twilio_credentials",
]

logger = logging.getLogger(__name__)

# A call may run this long past the agent's maximum before Twilio cuts it (ElevenLabs ends the
# conversation at the agent's maximum; Twilio's limit is the backstop).
TIME_LIMIT_GRACE = 60
RING_TIMEOUT_RANGE = (10, 60)
CREDENTIAL_ERRORS = ("invalid_credentials", "permission_denied")


# --- settings ----------------------------------------------------------------------------------


def call_settings_for(account: Account) -> CallSettings:
    """The account's call settings, created with the defaults on first use."""
    found = CallSettings.objects.filter(account=account).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return CallSettings.objects.create(account=account)
    except IntegrityError:  # created meanwhile by a concurrent first call
        return CallSettings.objects.get(account=account)


def call_settings_update(
    *, account: Account, machine_detection: bool, record_calls: bool, ring_timeout: int
) -> CallSettings:
    low, high = RING_TIMEOUT_RANGE
    if not isinstance(ring_timeout, int) or not low <= ring_timeout <= high:
        raise ApplicationError(
            _("Some fields are invalid."),
            fields={"ring_timeout": [_("Use %(low)s to %(high)s seconds.") % {"low": low, "high": high}]},
        )
    settings = call_settings_for(account)
    settings.machine_detection, settings.record_calls, settings.ring_timeout = (
        bool(machine_detection),
        bool(record_calls),
        ring_timeout,
    )
    settings.save()
    return settings


# --- refusals (before anything is written) ------------------------------------------------------


def _refused(code: str, message: str, status_code: int = 409) -> CallRefused:
    return CallRefused(message, code=code, status_code=status_code)


@sensitive_variables()
def twilio_credentials(account: Account) -> tuple[str, str]:
    """The account's Twilio SID and token, or `CallRefused` when they cannot be used."""
    if not account.twilio_configured:
        raise _refused("twilio_not_connected", _("Connect your Twilio account before placing calls."))
    try:
        sid, token = account.twilio_account_sid or "", account.twilio_auth_token or ""
    except DecryptionError:
        logger.exception("the Twilio credentials of account %s cannot be decrypted", account.slug)
        raise _refused(
            "twilio_failing", _("Your stored Twilio credentials cannot be read; connect Twilio again.")
        ) from None
    if not sid or not token:
        raise _refused("twilio_not_connected", _("Connect your Twilio account before placing calls."))
    return sid, token


def _check_providers_healthy(account: Account) -> None:
    """Twilio places the call and ElevenLabs answers it: either marked failing refuses the call."""
    status = (
        IntegrationStatus.objects.filter(account=account, provider__in=("twilio", "elevenlabs"), failing=True)
        .order_by("provider")  # Twilio first: without it nothing rings at all
        .last()
    )
    if status is None:
        return
    if status.provider == "twilio":
        raise _refused(
            "twilio_failing",
            _("Twilio refused your credentials (%(reason)s). Fix them on the Integrations page.")
            % {"reason": status.last_error or _("no reason given")},
        )
    raise _refused(
        "elevenlabs_failing",
        _("ElevenLabs is failing for your account (%(reason)s). Fix it on the Integrations page.")
        % {"reason": status.last_error or _("no reason given")},
    )


def _check_agent(account: Account, agent: Agent | None) -> Agent:
    if agent is None or agent.account_id != account.pk:  # another account's agent is no agent
        raise _refused("no_agent", _("Choose one of your agents to make the call."))
    if not agent.is_ready_for_calls:
        raise _refused(
            "agent_not_ready",
            _("The agent “%(name)s” is not live at ElevenLabs yet; push it from its page first.")
            % {"name": agent.name},
        )
    return agent


def _from_number(account: Account, agent: Agent, from_number: str | None) -> str:
    own = twilio_voice_numbers(account)
    chosen = (from_number or "").strip() or agent.default_from_number or (own[0] if own else "")
    if not chosen or chosen not in own:
        raise _refused("no_from_number", _("Choose one of your Twilio numbers to call from."))
    return chosen


def _to_number(account: Account, contact: Contact | None, to_number: str | None) -> str:
    if contact is not None:
        if contact.account_id != account.pk:
            raise _refused("no_contact", _("This contact does not exist."), status_code=404)
        return contact.phone
    try:
        return phone_for_account(account=account, raw=to_number or "", field="to_number")
    except ApplicationError as exc:
        raise CallRefused(
            " ".join(m for ms in exc.fields.values() for m in ms) or exc.message, code="invalid_number"
        ) from None


def _check_reachable(account: Account, contact: Contact | None, number: str) -> None:
    if (contact is not None and contact.do_not_call) or dnc_contains(account=account, phone=number):
        raise _refused("do_not_call", _("%(number)s is on your do-not-call list.") % {"number": number})


def _check_plan(account: Account) -> None:
    try:
        minutes_check(account=account)
    except ApplicationError as exc:
        raise _refused("plan_limit", exc.message, status_code=403) from None


# --- placing ------------------------------------------------------------------------------------


def call_place(
    *,
    account: Account,
    contact: Contact | None,
    agent: Agent | None,
    attempt_key: str,
    from_number: str | None = None,
    to_number: str | None = None,
    source: str = Call.Source.CAMPAIGN,
    campaign_ref: str | None = None,
    created_by: User | None = None,
    admit: Callable[[], bool] | None = None,
) -> Call:
    """Place one call (see the module docstring for the contract).

    `contact` is who to call; without one (a test call to the user's own phone) `to_number` is.
    `from_number` defaults to the agent's caller number, else the account's first number.
    `admit`, when given, is asked in the transaction that commits the moment Twilio is asked
    (the campaign dialer locks its campaign there and says whether it still runs): False ends
    the attempt as `not_placed` (code `not_admitted`) without asking Twilio.
    """
    attempt_key = (attempt_key or "").strip()[:200]
    if not attempt_key:
        raise ValueError("attempt_key is required")
    existing = Call.objects.filter(account=account, attempt_key=attempt_key).first()
    if existing is not None:
        return existing  # the same attempt: never a second dial
    call = _write_attempt(
        account=account,
        contact=contact,
        agent=agent,
        attempt_key=attempt_key,
        from_number=from_number,
        to_number=to_number,
        source=source,
        campaign_ref=campaign_ref or "",
        created_by=created_by,
    )
    if call.dial_started_at is not None or call.status != Status.PENDING:
        return call  # a concurrent request with the same key wrote it first and is dialing
    return _dial(call, admit)


def _write_attempt(*, account: Account, agent: Agent | None, **fields: Any) -> Call:
    """Check everything that can refuse the call, then commit the attempt (status `pending`)."""
    if not account.is_active:
        raise _refused("account_inactive", _("This account is not active; calls are paused."), status_code=403)
    agent = _check_agent(account, agent)
    twilio_credentials(account)
    _check_providers_healthy(account)
    to = _to_number(account, fields["contact"], fields.pop("to_number"))
    _check_reachable(account, fields["contact"], to)
    caller = _from_number(account, agent, fields.pop("from_number"))
    _check_plan(account)
    settings = call_settings_for(account)
    try:
        with transaction.atomic():
            # One placement at a time per account: the concurrency limit counts live calls, and
            # two placements at once must not both see room for one more.
            Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).first()
            existing = Call.objects.filter(account=account, attempt_key=fields["attempt_key"]).first()
            if existing is not None:
                return existing
            live = Call.objects.filter(account=account, status__in=LIVE).count()
            try:
                limit_check(account=account, key="concurrent_calls", current=live)
            except ApplicationError as exc:
                raise _refused("plan_limit", exc.message, status_code=403) from None
            return Call.objects.create(
                account=account,
                agent=agent,
                to_number=to,
                from_number=caller,
                direction=Call.Direction.OUTBOUND,
                record=settings.record_calls,
                ring_timeout=settings.ring_timeout,
                machine_detection=_machine_detection(settings, agent),
                timeline=[{"status": Status.PENDING, "at": timezone.now().isoformat()}],
                **fields,
            )
    except IntegrityError:  # the same attempt key, committed by a concurrent request
        return Call.objects.get(account=account, attempt_key=fields["attempt_key"])


def _machine_detection(settings: CallSettings, agent: Agent) -> str:
    """`DetectMessageEnd` (synchronous: the voice webhook knows "machine" and leaves the message
    after the beep) when the agent has a voicemail message; else `Enable`, asynchronous, so a
    person who answers hears the agent at once and a machine is hung up on when detected."""
    if not settings.machine_detection:
        return ""
    return "DetectMessageEnd" if agent.voicemail_message.strip() else "Enable"


@sensitive_variables()
def _dial(call: Call, admit: Callable[[], bool] | None = None) -> Call:
    account = call.account
    sid, token = twilio_credentials(account)
    # Committed before the request: from here on, recovery must ask Twilio before anyone dials
    # this attempt again (the request may reach Twilio even if this process dies now).
    with transaction.atomic():
        admitted = admit is None or admit()
        marked = admitted and Call.objects.filter(
            pk=call.pk, status=Status.PENDING, dial_started_at__isnull=True
        ).update(dial_started_at=timezone.now())
    if not admitted:
        return lifecycle.call_mark_not_placed(
            call_id=call.pk, code=NOT_ADMITTED, reason="Stopped before dialing (its campaign is not running)."
        )
    if not marked:
        return Call.objects.get(pk=call.pk)
    asynchronous = call.machine_detection == "Enable"
    try:
        created = twilio.call_create(
            sid,
            token,
            to=call.to_number,
            from_=call.from_number,
            url=links.voice_url(call),
            status_callback=links.status_url(call),
            ring_timeout=call.ring_timeout,
            time_limit=(call.agent.max_call_seconds if call.agent else 600) + TIME_LIMIT_GRACE,
            record=call.record,
            machine_detection=call.machine_detection,
            async_amd_callback=links.amd_url(call) if asynchronous else "",
        )
    except ProviderError as exc:
        return _dial_failed(call, exc)
    return lifecycle.call_created(call_id=call.pk, sid=created["sid"], status=created.get("status") or "queued")


def _dial_failed(call: Call, exc: ProviderError) -> Call:
    if exc.code == twilio.UNKNOWN_OUTCOME:
        logger.warning("call %s: Twilio's answer was lost (%s); recovery will check", call.pk, exc.message)
        return lifecycle.call_mark_unknown(call_id=call.pk, reason=exc.message)
    if exc.permanent and exc.code in CREDENTIAL_ERRORS:
        integration_mark_failing(account=call.account, provider="twilio", error=exc)
    ended = lifecycle.call_mark_not_placed(call_id=call.pk, code=exc.code, reason=exc.message)
    logger.info("call %s not placed: %s", call.pk, exc.message)
    if exc.code in twilio.BUSY_CODES:
        raise TwilioBusy(_("Twilio is busy right now; the call was not placed."), code="twilio_busy", call=ended)
    message = (
        _("Twilio could not be reached; the call was not placed.")
        if not exc.permanent
        else _("Twilio refused the call: %(reason)s") % {"reason": exc.message}
    )
    code = "twilio_failing" if exc.code in CREDENTIAL_ERRORS else f"twilio_{exc.code}"
    raise CallNotPlaced(message, code=code, call=ended, transient=not exc.permanent)


def new_attempt_key(prefix: str) -> str:
    """A fresh key for a one-off call (a form renders it, so a double submit is the same attempt)."""
    return f"{prefix}:{uuid.uuid4()}"


@sensitive_variables()
def call_hang_up(*, call: Call) -> Call:
    """End a live call at Twilio (its status callback then brings the final status)."""
    if not call.is_live or not call.twilio_call_sid:
        raise ApplicationError(_("This call is not in progress."), code="not_live", status_code=409)
    sid, token = twilio_credentials(call.account)
    try:
        twilio.call_hangup(sid, token, call.twilio_call_sid)
    except ProviderError as exc:
        raise ApplicationError(
            _("Twilio could not end the call: %(reason)s") % {"reason": exc.message},
            code="provider_unavailable",
            status_code=503,
        ) from None
    return call
