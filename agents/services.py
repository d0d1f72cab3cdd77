"""Agent business logic: create, edit, delete agents, account settings, per-call tool sessions.

The API, the dashboard, the admin and the calls app call these. Saving an agent commits the
local edit first and then pushes it to ElevenLabs (`agents.sync`): a failed push never loses
the edit, it is shown with its reason and can be retried.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from agents import selectors, sync
from agents.models import (
    LLM_CHOICES,
    Agent,
    AgentAccountSettings,
    AgentInboundNumber,
    DataType,
    Language,
    Tool,
    ToolSession,
)
from agents.presets import PRESETS
from agents.tasks import REMOTE_DELETE_KIND
from agents.variables import NAME_RE, custom_variables, unknown_variables, variables_in
from billing.usage import limit_check
from contacts.models import Contact
from integrations.providers.base import ProviderError
from prixagent.errors import ApplicationError
from prixagent.outbox import outbox_enqueue

logger = logging.getLogger(__name__)

EDITABLE = (
    "name",
    "language",
    "first_message",
    "system_prompt",
    "voice_id",
    "llm",
    "temperature",
    "max_call_seconds",
    "voicemail_message",
    "data_collection",
    "evaluation_criteria",
    "tools",
    "calcom_event_type_id",
    "default_from_number",
)
TEXT_FIELDS = ("system_prompt", "first_message", "voicemail_message")
# ElevenLabs' premade "Rachel": every workspace can use it. Used when ELEVENLABS_VOICE_ID is unset.
FALLBACK_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"
# A session outlives the call's maximum length by this much: dialing, ringing, CPS queueing.
TOOL_SESSION_GRACE = timedelta(hours=1)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


# --- validation ------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ApplicationError(_("Some fields are invalid."), fields=self.fields)


def _check_texts(account: Account, data: dict[str, Any], errors: _Errors) -> None:
    custom = custom_variables(selectors.contact_custom_field_keys(account))
    for field in TEXT_FIELDS:
        text = data.get(field) or ""
        secret = [name for name in variables_in(text) if name.startswith("secret__")]
        for name in secret:
            errors.add(field, _("{{%(name)s}} is a secret variable and cannot be used in text.") % {"name": name})
        for name in unknown_variables(text, custom):
            if name not in secret:
                errors.add(
                    field,
                    _("Unknown variable {{%(name)s}}: use a contact field, a custom field or the account name.")
                    % {"name": name},
                )
    if not (data.get("system_prompt") or "").strip():
        errors.add("system_prompt", _("Write the agent's instructions."))


def _check_outcomes(items: Any, errors: _Errors) -> None:
    if not isinstance(items, list):
        errors.add("data_collection", _("Expected a list of outcomes."))
        return
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.add("data_collection", _("Outcome %(n)s: expected an object.") % {"n": n})
            continue
        ident = str(item.get("id") or "")
        if not NAME_RE.match(ident):
            errors.add(
                "data_collection",
                _("Outcome %(n)s: the id must be lower-case letters, digits and _ (starting with a letter).")
                % {"n": n},
            )
        elif ident in seen:
            errors.add("data_collection", _("Outcome %(n)s: the id %(id)s is used twice.") % {"n": n, "id": ident})
        seen.add(ident)
        if item.get("type") not in DataType.values:
            errors.add("data_collection", _("Outcome %(n)s: choose a type.") % {"n": n})
        if not str(item.get("description") or "").strip():
            errors.add("data_collection", _("Outcome %(n)s: describe what to extract.") % {"n": n})


def _check_criteria(items: Any, errors: _Errors) -> None:
    if not isinstance(items, list):
        errors.add("evaluation_criteria", _("Expected a list of criteria."))
        return
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.add("evaluation_criteria", _("Criterion %(n)s: expected an object.") % {"n": n})
            continue
        ident = str(item.get("id") or "")
        if not NAME_RE.match(ident) or ident in seen:
            errors.add(
                "evaluation_criteria",
                _("Criterion %(n)s: the id must be unique, lower-case letters, digits and _.") % {"n": n},
            )
        seen.add(ident)
        if not str(item.get("name") or "").strip():
            errors.add("evaluation_criteria", _("Criterion %(n)s: give it a name.") % {"n": n})
        if not str(item.get("goal") or "").strip():
            errors.add("evaluation_criteria", _("Criterion %(n)s: say what a successful call achieves.") % {"n": n})


def _check_choices(account: Account, data: dict[str, Any], errors: _Errors) -> None:
    if not str(data.get("name") or "").strip():
        errors.add("name", _("Give the agent a name."))
    if data.get("language") not in Language.values:
        errors.add("language", _("Choose a language."))
    if data.get("llm") not in dict(LLM_CHOICES):
        errors.add("llm", _("Choose one of the offered models."))
    temperature = data.get("temperature")
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 1:
        errors.add("temperature", _("Use a number from 0 to 1."))
    seconds = data.get("max_call_seconds")
    if not isinstance(seconds, int) or not 30 <= seconds <= 3600:
        errors.add("max_call_seconds", _("Use a length from 30 to 3600 seconds."))
    tools = data.get("tools")
    if not isinstance(tools, list) or any(tool not in Tool.values for tool in tools) or len(set(tools)) != len(tools):
        errors.add("tools", _("Choose tools from the list."))
    event_type = data.get("calcom_event_type_id")
    if event_type is not None:
        types, _default = selectors.calcom_event_types(account)
        if event_type not in [t.get("id") for t in types]:
            errors.add("calcom_event_type_id", _("Choose one of your Cal.com event types."))
    number = data.get("default_from_number") or ""
    if number and number not in selectors.twilio_voice_numbers(account):
        errors.add("default_from_number", _("Choose one of your Twilio numbers."))


def _check_voice(account: Account, voice_id: str, errors: _Errors) -> None:
    if not voice_id.strip():
        errors.add("voice_id", _("Choose a voice."))
        return
    voices = selectors.voices_or_none(account)
    # When the voices cannot be listed (ElevenLabs down), the push itself will tell.
    if voices is not None and voice_id not in [v["voice_id"] for v in voices]:
        errors.add("voice_id", _("This voice is not available to your ElevenLabs key."))


def _check_inbound(account: Account, agent: Agent | None, numbers: list[str], errors: _Errors) -> None:
    own = selectors.twilio_voice_numbers(account)
    taken = AgentInboundNumber.objects.filter(account=account, phone_number__in=numbers)
    if agent is not None:
        taken = taken.exclude(agent=agent)
    for number in numbers:
        if number not in own:
            errors.add("inbound_numbers", _("%(number)s is not one of your Twilio numbers.") % {"number": number})
    for entry in taken.select_related("agent"):
        errors.add(
            "inbound_numbers",
            _("%(number)s already answers with the agent “%(agent)s”.")
            % {"number": entry.phone_number, "agent": entry.agent.name},
        )


def agent_validate(
    *, account: Account, data: dict[str, Any], agent: Agent | None = None, inbound_numbers: list[str] | None = None
) -> None:
    """Raise ApplicationError with per-field messages when `data` (all EDITABLE fields) is not valid."""
    errors = _Errors()
    _check_choices(account, data, errors)
    _check_texts(account, data, errors)
    _check_outcomes(data.get("data_collection"), errors)
    _check_criteria(data.get("evaluation_criteria"), errors)
    _check_voice(account, str(data.get("voice_id") or ""), errors)
    if inbound_numbers is not None:
        _check_inbound(account, agent, inbound_numbers, errors)
    errors.raise_if_any()


# --- agents ------------------------------------------------------------------------------------


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    clean = {key: data[key] for key in EDITABLE if key in data}
    for key in ("name", "first_message", "system_prompt", "voicemail_message", "voice_id", "default_from_number"):
        if key in clean:
            clean[key] = str(clean[key] or "").strip()
    for key, fields in (
        ("data_collection", ("id", "type", "description")),
        ("evaluation_criteria", ("id", "name", "goal")),
    ):
        if isinstance(clean.get(key), list):
            clean[key] = [
                {f: str(item.get(f) or "").strip() for f in fields} if isinstance(item, dict) else item
                for item in clean[key]
            ]
    return clean


def _set_inbound(agent: Agent, numbers: list[str]) -> None:
    AgentInboundNumber.objects.filter(agent=agent).exclude(phone_number__in=numbers).delete()
    for number in numbers:
        AgentInboundNumber.objects.get_or_create(account=agent.account, phone_number=number, agent=agent)


def _save(agent: Agent, data: dict[str, Any], inbound_numbers: list[str] | None) -> None:
    for key, value in data.items():
        setattr(agent, key, value)
    agent.sync_status = Agent.SyncStatus.PENDING  # until the push that follows says otherwise
    try:
        with transaction.atomic():
            agent.save()
            if inbound_numbers is not None:
                _set_inbound(agent, inbound_numbers)
    except IntegrityError:
        # Another agent took one of the numbers between the check and the save.
        raise ApplicationError(
            _("Some fields are invalid."),
            fields={"inbound_numbers": [_("One of these numbers was just given to another agent.")]},
        ) from None


def agent_defaults(account: Account) -> dict[str, Any]:
    """The fields a new agent starts with, before a template or the tenant fills the rest."""
    _types, default_event_type = selectors.calcom_event_types(account)
    return {
        "language": Language.EN,
        "first_message": "",
        "voicemail_message": "",
        "voice_id": settings.ELEVENLABS_VOICE_ID or FALLBACK_VOICE_ID,
        "llm": Agent._meta.get_field("llm").default,
        "temperature": Agent._meta.get_field("temperature").default,
        "max_call_seconds": Agent._meta.get_field("max_call_seconds").default,
        "data_collection": [],
        "evaluation_criteria": [],
        "tools": [],
        "calcom_event_type_id": default_event_type,
        "default_from_number": next(iter(selectors.twilio_voice_numbers(account)), ""),
    }


def agent_create(
    *,
    account: Account,
    data: dict[str, Any],
    inbound_numbers: list[str] | None = None,
    template: str = "",
    push: bool = True,
) -> Agent:
    """Create an agent (missing fields take `agent_defaults`), then push it to ElevenLabs."""
    fields = {**agent_defaults(account), **_normalise(data)}
    agent_validate(account=account, data=fields, inbound_numbers=inbound_numbers or [])
    agent = Agent(account=account, template=template)
    with transaction.atomic():
        # One create at a time per account, so two at once cannot both pass the plan's count.
        Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).first()
        limit_check(account=account, key="agents", current=Agent.objects.filter(account=account).count())
        _save(agent, fields, inbound_numbers or [])
    logger.info("agent %s created for account %s", agent.pk, account.slug)
    return sync.agent_sync(agent=agent) if push else agent


def agent_create_from_template(*, account: Account, template: str, language: str, name: str = "") -> Agent:
    preset = PRESETS.get(template)
    if preset is None:
        raise ApplicationError(_("Some fields are invalid."), fields={"template": [_("Choose a template.")]})
    initial = preset.initial(language)
    if name.strip():
        initial["name"] = name.strip()
    return agent_create(account=account, data=initial, template=preset.slug)


def agent_update(*, agent: Agent, data: dict[str, Any], inbound_numbers: list[str] | None = None) -> Agent:
    """Save the edit (all of it, or nothing), then push it. `inbound_numbers` None leaves them."""
    fields = {**{key: getattr(agent, key) for key in EDITABLE}, **_normalise(data)}
    agent_validate(account=agent.account, data=fields, agent=agent, inbound_numbers=inbound_numbers)
    _save(agent, fields, inbound_numbers)
    return sync.agent_sync(agent=agent)


def agent_take_theirs(*, agent: Agent) -> Agent:
    """Copy the version edited at ElevenLabs into PrixAgent, then push (our managed settings back)."""
    _revision, theirs = sync.agent_remote_fields(agent=agent)
    fields = {**{key: getattr(agent, key) for key in EDITABLE}, **_normalise(theirs)}
    if fields.get("language") not in Language.values:
        fields["language"] = agent.language
    if fields.get("llm") not in dict(LLM_CHOICES):
        fields["llm"] = agent.llm
    try:
        agent_validate(account=agent.account, data=fields, agent=agent)
    except ApplicationError as exc:
        raise ApplicationError(
            _("The ElevenLabs version cannot be used as is: %(problems)s Overwrite it, or fix it at ElevenLabs.")
            % {"problems": " ".join(m for messages in exc.fields.values() for m in messages)},
            code="theirs_invalid",
            fields=exc.fields,
        ) from None
    _save(agent, fields, None)
    return sync.agent_sync(agent=agent, force=True)


def agent_overwrite(*, agent: Agent) -> Agent:
    """Push PrixAgent's version over the one edited at ElevenLabs."""
    return sync.agent_sync(agent=agent, force=True)


def agent_delete(*, agent: Agent) -> None:
    """Delete the agent here and at ElevenLabs (already gone there is fine).

    When ElevenLabs cannot be reached right now, the remote delete goes to the outbox (retried
    with backoff), committed with the local delete: no agent is left behind at ElevenLabs that
    nobody can see any more.
    """
    remote_id, workspace = agent.elevenlabs_agent_id, agent.workspace
    later = False
    try:
        sync.agent_remote_delete(account=agent.account, workspace=workspace, elevenlabs_agent_id=remote_id)
    except sync.NoKey:
        logger.warning("agent %s deleted without an ElevenLabs key to delete it there", agent.pk)
    except ProviderError as exc:
        if exc.permanent:  # a refused key: the tenant cannot reach that agent any more either
            logger.warning("agent %s: ElevenLabs refused the delete (%s); deleted here only", agent.pk, exc.message)
        else:
            later = True
    with transaction.atomic():
        if later:
            outbox_enqueue(
                account=agent.account,
                kind=REMOTE_DELETE_KIND,
                key=f"agent:{agent.pk}",
                payload={"elevenlabs_agent_id": remote_id, "workspace_id": str(workspace.pk) if workspace else None},
            )
        agent.delete()
    logger.info("agent %s of account %s deleted%s", agent.pk, agent.account_id, " (ElevenLabs later)" if later else "")


# --- account settings -----------------------------------------------------------------------


def agent_settings_update(
    *, account: Account, no_email_policy: str, placeholder_email: str = ""
) -> AgentAccountSettings:
    placeholder_email = placeholder_email.strip()
    if no_email_policy not in AgentAccountSettings.NoEmailPolicy.values:
        raise ApplicationError(_("Some fields are invalid."), fields={"no_email_policy": [_("Choose a policy.")]})
    if no_email_policy == AgentAccountSettings.NoEmailPolicy.PLACEHOLDER and not placeholder_email:
        raise ApplicationError(
            _("Some fields are invalid."),
            fields={"placeholder_email": [_("Enter the address to book with when a contact has no email.")]},
        )
    found, _created = AgentAccountSettings.objects.update_or_create(
        account=account, defaults={"no_email_policy": no_email_policy, "placeholder_email": placeholder_email}
    )
    return found


# --- tool sessions ----------------------------------------------------------------------------


def tool_session_open(
    *,
    account: Account,
    agent: Agent,
    contact: Contact | None = None,
    call_id: Any = None,
    phone: str = "",
    ttl: timedelta | None = None,
) -> tuple[ToolSession, str]:
    """Open a call's tool session; returns it and its token, in plaintext, this once.

    Send the token as the `secret__prix_tool_token` dynamic variable (`agent_dynamic_variables`).
    Only its SHA-256 is stored. `phone` is the far end's number when there is no contact.
    """
    if agent.account_id != account.pk or (contact is not None and contact.account_id != account.pk):
        raise ValueError("agent and contact must belong to the session's account")
    if phone and not E164.match(phone):
        raise ValueError("phone must be E.164")
    token = f"pxt_{secrets.token_urlsafe(32)}"
    ttl = ttl if ttl is not None else timedelta(seconds=agent.max_call_seconds) + TOOL_SESSION_GRACE
    session = ToolSession.objects.create(
        account=account,
        agent=agent,
        contact=contact,
        call_id=call_id,
        phone=phone or (contact.phone if contact else ""),
        token_hash=selectors.token_hash(token),
        expires_at=timezone.now() + ttl,
    )
    return session, token


def tool_session_close(*, session: ToolSession) -> None:
    """The call is over: its token stops working. Idempotent."""
    ToolSession.objects.filter(pk=session.pk, closed_at__isnull=True).update(closed_at=timezone.now())
    session.refresh_from_db(fields=["closed_at"])
