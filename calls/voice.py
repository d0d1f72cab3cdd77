"""What a caller hears when Twilio asks our voice webhook: the agent, a voicemail, or a goodbye.

- A person (or no verdict): ElevenLabs register-call for the call's agent, with the contact's
  dynamic variables, the call's tool token (`secret__prix_tool_token`, from a tool session
  opened now) and our call id (`user_id` and `prix_call_id`, echoed back in the post-call
  webhook); its TwiML (`<Connect><Stream …/>`) goes back to Twilio as is.
- A machine, after the beep (`DetectMessageEnd`), when the agent has a voicemail message: the
  message spoken in the agent's ElevenLabs voice (text-to-speech, played from a signed URL),
  falling back to Twilio's `<Say>` in the agent's language; then hang up.
- Anything that cannot work (no agent, ElevenLabs down): a short apology in the agent's
  language and hang up, and the call records why. Twilio gets valid TwiML in every case.

No provider call here holds the call's row lock: the TwiML is produced first, the call updated
after (status callbacks for the same call are not kept waiting on ElevenLabs).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from agents import remote, sync
from agents.models import Agent, AgentInboundNumber, ToolSession
from agents.selectors import agent_dynamic_variables
from agents.services import tool_session_close, tool_session_open
from agents.variables import VARIABLE_RE
from billing.usage import limit_check, minutes_check
from calls import lifecycle, links
from calls.models import LIVE, Call, CallAudio, Status
from contacts.models import Contact
from contacts.services import contact_get_or_create_inbound
from integrations.providers import elevenlabs
from integrations.providers.base import ProviderError
from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

SAY_LANGUAGE = {"en": "en-US", "es": "es-MX", "pt": "pt-BR", "fr": "fr-FR", "de": "de-DE", "it": "it-IT"}
SORRY = {
    "en": "Sorry, we can't take this call right now. Please try again later. Goodbye.",
    "es": "Lo sentimos, no podemos atender esta llamada en este momento. Inténtelo más tarde. Adiós.",
}
TTS_TIMEOUT = 6.0  # a machine is recording silence meanwhile; <Say> is the fallback


def twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def say(text: str, language: str) -> str:
    return f"<Say language={quoteattr(SAY_LANGUAGE.get(language, 'en-US'))}>{escape(text)}</Say>"


def hangup() -> str:
    return twiml("<Hangup/>")


def sorry(language: str) -> str:
    return twiml(say(SORRY.get(language, SORRY["en"]), language), "<Hangup/>")


def reject() -> str:
    return twiml('<Reject reason="busy"/>')


def render(text: str, values: dict[str, str]) -> str:
    """`{{variables}}` filled in (the voicemail message is spoken by us, not by ElevenLabs)."""
    return VARIABLE_RE.sub(lambda m: str(values.get(m.group(1), "")), text).strip()


@sensitive_variables()
def agent_key(agent: Agent) -> str:
    """The ElevenLabs key of the workspace the agent lives in (the tenant's or the platform's)."""
    workspace = agent.workspace
    if workspace is not None and workspace.is_platform:
        key = settings.ELEVENLABS_API_KEY
    else:
        key = sync.key_for(agent.account).value
    if not key:
        raise sync.NoKey("no ElevenLabs key")
    return key


# --- a person answered: the agent takes the call ------------------------------------------------


@sensitive_variables()
def connect_agent(call: Call) -> tuple[str, ToolSession | None]:
    """The TwiML connecting the call to its agent, and the call's tool session (None: an apology)."""
    agent = call.agent
    language = agent.language if agent else "en"
    if agent is None or not agent.is_ready_for_calls:
        lifecycle.call_note_error(call_id=call.pk, code="no_agent", message="no agent is ready to take the call")
        return sorry(language), None
    session, token = tool_session_open(
        account=call.account,
        agent=agent,
        contact=call.contact,
        call_id=call.pk,
        phone="" if call.contact else call.far_number,
    )
    variables = agent_dynamic_variables(agent=agent, contact=call.contact, session_token=token)
    variables["prix_call_id"] = str(call.pk)
    try:
        answer = elevenlabs.register_call(
            agent_key(agent),
            agent_id=agent.elevenlabs_agent_id,
            from_number=call.from_number,
            to_number=call.to_number,
            direction="outbound" if call.is_outbound else "inbound",
            client_data={"dynamic_variables": variables, "user_id": str(call.pk)},
        )
    except (ProviderError, sync.NoKey, DecryptionError) as exc:
        reason = getattr(exc, "message", None) or str(exc)
        logger.warning("call %s: the agent could not be connected: %s", call.pk, reason)
        tool_session_close(session=session)
        lifecycle.call_note_error(call_id=call.pk, code="agent_unavailable", message=reason)
        return sorry(language), None
    return answer, session


# --- a machine answered: the voicemail ------------------------------------------------------------


def _audio(call: Call, agent: Agent, text: str) -> CallAudio:
    model = remote.TTS_MODEL_ENGLISH if agent.language == "en" else remote.TTS_MODEL_MULTILINGUAL
    fingerprint = hashlib.sha256(f"{agent.voice_id}|{model}|{agent.language}|{text}".encode()).hexdigest()
    found = CallAudio.objects.filter(account_id=call.account_id, fingerprint=fingerprint).first()
    if found is not None:
        return found
    audio = elevenlabs.speech(
        agent_key(agent),
        voice_id=agent.voice_id,
        text=text,
        model_id=model,
        language_code="" if agent.language == "en" else agent.language,
        timeout_s=TTS_TIMEOUT,
    )
    try:
        with transaction.atomic():
            return CallAudio.objects.create(account_id=call.account_id, fingerprint=fingerprint, audio=audio)
    except IntegrityError:
        return CallAudio.objects.get(account_id=call.account_id, fingerprint=fingerprint)


def voicemail(call: Call) -> str:
    agent = call.agent
    assert agent is not None
    text = render(agent.voicemail_message, agent_dynamic_variables(agent=agent, contact=call.contact))
    try:
        spoken = f"<Play>{escape(links.audio_url(_audio(call, agent, text)))}</Play>"
    except (ProviderError, sync.NoKey, DecryptionError) as exc:
        logger.info("call %s: voicemail with Twilio's voice (%s)", call.pk, getattr(exc, "message", exc))
        spoken = say(text, agent.language)
    return twiml(spoken, "<Hangup/>")


# --- the voice webhook --------------------------------------------------------------------------


def call_voice_twiml(*, call: Call, params: dict[str, Any]) -> str:
    """The TwiML for Twilio's request of the call's voice URL; the call updated accordingly."""
    answered_by = str(params.get("AnsweredBy") or "")
    state = {k: params[k] for k in ("CallSid", "CallStatus", "AnsweredBy") if params.get(k)}
    if call.is_terminal:
        return hangup()
    agent = call.agent
    if lifecycle.is_machine(answered_by):
        leaves_message = agent is not None and agent.voicemail_message.strip() and answered_by != "machine_start"
        answer = voicemail(call) if leaves_message else hangup()
        lifecycle.call_apply_twilio(call_id=call.pk, params=state, voicemail=bool(leaves_message))
        return answer
    answer, session = connect_agent(call)
    lifecycle.call_apply_twilio(call_id=call.pk, params=state, session=session)
    return answer


# --- inbound calls ------------------------------------------------------------------------------


def _inbound_contact(account: Account, phone: str) -> Contact | None:
    """The contact calling in; an unknown caller becomes one (source "inbound")."""
    try:
        return contact_get_or_create_inbound(account=account, phone=phone)
    except ApplicationError:
        return None  # a withheld or odd caller id: the call goes on without a contact


def _inbound_refusal(account: Account, agent: Agent | None) -> str | None:
    """TwiML refusing the call, or None when it can be taken."""
    if not account.is_active:
        return reject()
    language = agent.language if agent else "en"
    if agent is None or not agent.is_ready_for_calls:
        return sorry(language)
    try:
        minutes_check(account=account)
        live = Call.objects.filter(account=account, status__in=LIVE).count()
        limit_check(account=account, key="concurrent_calls", current=live)
    except ApplicationError:
        return sorry(language)
    return None


def inbound_voice_twiml(*, account: Account, params: dict[str, Any]) -> str:
    """A call to one of the account's numbers: the agent assigned to that number answers."""
    sid, to, caller = (str(params.get(k) or "") for k in ("CallSid", "To", "From"))
    entry = AgentInboundNumber.objects.filter(account=account, phone_number=to).select_related("agent").first()
    agent = entry.agent if entry else None
    refusal = _inbound_refusal(account, agent)
    if refusal is not None:
        logger.info("inbound call %s to %s of %s refused", sid, to, account.slug)
        return refusal
    call, _created = Call.objects.get_or_create(
        account=account,
        attempt_key=f"inbound:{sid}",
        defaults={
            "agent": agent,
            "contact": _inbound_contact(account, caller),
            "direction": Call.Direction.INBOUND,
            "source": Call.Source.INBOUND,
            "to_number": to[:16],
            "from_number": caller[:16],
            "twilio_call_sid": sid,
            "status": Status.PENDING,
        },
    )
    if call.is_terminal:
        return hangup()
    answer, session = connect_agent(call)
    lifecycle.call_apply_twilio(call_id=call.pk, params={"CallSid": sid, "CallStatus": "in-progress"}, session=session)
    return answer
