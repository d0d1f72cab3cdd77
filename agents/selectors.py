"""Reads about agents, for the API, the dashboard, the tools and the calls app.

The calls app uses `agent_dynamic_variables` (what to send with register-call),
`workspace_for_webhook` / `agent_for_remote` + `ElevenLabsWorkspace.webhook_secret` (to verify
and route ElevenLabs' post-call webhook).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, F, Func, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, User
from agents import speech, sync
from agents.models import Agent, AgentAccountSettings, ElevenLabsWorkspace, ToolInvocation, ToolSession
from agents.variables import BUILTIN, TOOL_TOKEN_VARIABLE, custom_variables, placeholder, variables_in
from contacts.models import Contact
from integrations.models import IntegrationStatus
from integrations.providers import elevenlabs
from integrations.providers.base import ProviderError

logger = logging.getLogger(__name__)
VOICES_CACHE_SECONDS = 600


def agents_for_account(account: Account) -> QuerySet[Agent]:
    return Agent.objects.filter(account=account).select_related("workspace")


def get_agent_for_user(user: User, agent_id: object) -> Agent:
    """One agent of the user's account; another account's answers 404 like a missing one."""
    if getattr(user, "account_id", None) is None:
        raise Http404
    try:
        return agents_for_account(user.account).get(pk=agent_id)
    except (Agent.DoesNotExist, ValidationError, ValueError, TypeError):  # a malformed id is a missing one
        raise Http404 from None


def tool_invocations_for_agent(agent: Agent) -> QuerySet[ToolInvocation]:
    return ToolInvocation.objects.filter(account_id=agent.account_id, agent=agent).select_related("contact")


def agent_settings_for(account: Account) -> AgentAccountSettings:
    """The account's agent settings (the defaults until someone saves them)."""
    found = AgentAccountSettings.objects.filter(account=account).first()
    return found or AgentAccountSettings(account=account)


# --- what the editor offers --------------------------------------------------------------------


def contact_custom_field_keys(account: Account) -> list[str]:
    """Every custom field key used by the account's contacts."""
    contacts = Contact.objects.filter(account=account)
    if connection.vendor == "postgresql":
        objects = contacts.annotate(kind=Func(F("custom_fields"), function="jsonb_typeof", output_field=CharField()))
        keys = (
            objects.filter(kind="object")  # jsonb_object_keys fails on anything but an object
            .annotate(key=Func(F("custom_fields"), function="jsonb_object_keys", output_field=CharField()))
            .values_list("key", flat=True)
        )
        return sorted(set(keys))
    return sorted({key for fields in contacts.values_list("custom_fields", flat=True) for key in (fields or {})})


def known_variables(account: Account) -> dict[str, str]:
    """{name: description} of the variables an agent of `account` may use."""
    known = {name: str(description) for name, description in BUILTIN.items()}
    for name, key in custom_variables(contact_custom_field_keys(account)).items():
        known[name] = _("Custom field “%(key)s”") % {"key": key}
    return known


def calcom_event_types(account: Account) -> tuple[list[dict[str, Any]], int | None]:
    """(event types, default id) from the account's last Cal.com validation."""
    if not account.calcom_configured:
        return [], None
    status = IntegrationStatus.objects.filter(account=account, provider="calcom").first()
    details = status.details if status else {}
    return list(details.get("event_types") or []), details.get("default_event_type_id")


def twilio_voice_numbers(account: Account) -> list[str]:
    """The account's Twilio numbers that can place and take calls."""
    numbers = (account.twilio_phone_numbers or []) if account.twilio_configured else []
    return [n["number"] for n in numbers if n.get("number") and (n.get("capabilities") or {}).get("voice", True)]


def voices_for(account: Account) -> list[dict[str, Any]]:
    """The voices the account's ElevenLabs key (or the platform's) can use; cached 10 minutes.

    Raises ProviderError (or sync.NoKey) when they cannot be listed; the editor then falls back
    to a plain voice id field.
    """
    key = sync.key_for(account)
    cache_key = f"agents:voices:{key.fingerprint}"
    voices = cache.get(cache_key)
    if voices is None:
        voices = elevenlabs.voices_list(key.value)
        cache.set(cache_key, voices, VOICES_CACHE_SECONDS)
    return voices


def voices_or_none(account: Account) -> list[dict[str, Any]] | None:
    try:
        return voices_for(account)
    except (ProviderError, sync.NoKey) as exc:
        logger.info("voices not listed for account %s: %s", account.slug, exc)
        return None


# --- what a call sends ---------------------------------------------------------------------------


def _zone(name: str, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def local_time_text(now: datetime, zone: ZoneInfo, language: str) -> str:
    local = now.astimezone(zone)
    lang = "es" if language == "es" else "en"
    weekday, month = speech.DAYS[lang][local.weekday()], speech.MONTHS[lang][local.month - 1]
    if lang == "es":
        return f"{weekday} {local.day} de {month} de {local.year}, {speech.spoken_clock(local, lang)}"
    return f"{weekday}, {month} {local.day}, {local.year}, {speech.spoken_clock(local, lang)}"


def agent_dynamic_variables(
    *, agent: Agent, contact: Contact | None = None, session_token: str | None = None
) -> dict[str, str]:
    """The dynamic variables to send with a call of `agent` (to `contact`, when there is one).

    Every built-in variable and every custom field the agent's texts use gets a value; without
    a contact, sample values stand in, so a test call works. `session_token` (from
    `services.tool_session_open`) is what lets the call's tools act; without one, the tools refuse.
    """
    account = agent.account
    language = agent.language
    if contact is not None and contact.account_id != agent.account_id:
        raise ValueError("the contact belongs to another account")
    zone = _zone(contact.time_zone if contact else "", account.time_zone)
    values: dict[str, str] = {
        "account_name": account.name,
        "local_time": local_time_text(timezone.now(), zone, language),
        "time_zone": zone.key,
    }
    if contact is not None:
        values.update(
            first_name=contact.first_name,
            last_name=contact.last_name,
            full_name=contact.full_name,
            company=contact.company,
            email=contact.email,
            phone=contact.phone,
        )
    else:
        values.update({name: placeholder(name, language) for name in BUILTIN if name not in values})
    used = variables_in(f"{agent.system_prompt}\n{agent.first_message}\n{agent.voicemail_message}")
    fields = custom_variables((contact.custom_fields or {}).keys()) if contact else {}
    for name in used:
        if name not in values and not name.startswith(("system__", "secret__")):
            key = fields.get(name)
            values[name] = "" if key is None else str(contact.custom_fields.get(key, ""))  # type: ignore[union-attr]
    values[TOOL_TOKEN_VARIABLE] = session_token or "none"
    return values


def workspace_for_webhook(public_id: str) -> ElevenLabsWorkspace | None:
    """The workspace a post-call webhook URL names; verify with its `webhook_secret`."""
    return ElevenLabsWorkspace.objects.filter(public_id=public_id).select_related("account").first()


def agent_for_remote(*, workspace: ElevenLabsWorkspace, elevenlabs_agent_id: str) -> Agent | None:
    """The local agent behind an ElevenLabs agent id of that workspace (whose `.account` it is)."""
    if not elevenlabs_agent_id:
        return None
    found = Agent.objects.filter(workspace=workspace, elevenlabs_agent_id=elevenlabs_agent_id)
    return found.select_related("account").first()


# --- tool sessions -------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def live_tool_session(token: str) -> ToolSession | None:
    """The open, unexpired session of an active account that `token` belongs to; else None."""
    if not token or len(token) > 200:
        return None
    session = (
        ToolSession.objects.select_related("account", "agent", "contact")
        .filter(token_hash=token_hash(token), closed_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if session is None or not session.account.is_active:
        return None
    return session
