"""Prompt variables: `{{first_name}}` and friends in an agent's prompt, first and voicemail messages.

They become ElevenLabs dynamic variables: the calls app sends their values with every call
(`selectors.agent_dynamic_variables`), and the agent carries placeholders for each, so a test
call without a contact works too. A variable PrixAgent cannot fill is refused on save (an
ElevenLabs conversation with a missing variable fails to start).

Names: the built-ins below, every custom field key of the account's contacts (lower-cased,
other characters turned into `_`), and the ElevenLabs `system__*` variables an agent may read.
`secret__*` variables are never allowed in text: they exist so the LLM does not see them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

VARIABLE_RE = re.compile(r"\{\{\s*([^{}\s]*)\s*\}\}")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TOOL_TOKEN_VARIABLE = "secret__prix_tool_token"

BUILTIN = {
    "first_name": _("The contact's first name"),
    "last_name": _("The contact's last name"),
    "full_name": _("The contact's full name"),
    "company": _("The contact's company"),
    "email": _("The contact's email"),
    "phone": _("The contact's phone number"),
    "account_name": _("Your business name"),
    "local_time": _("The contact's local date and time"),
    "time_zone": _("The contact's time zone"),
}
SYSTEM = {
    "system__time_utc": _("The current time (UTC), from ElevenLabs"),
    "system__caller_id": _("The calling number, from ElevenLabs"),
    "system__called_number": _("The called number, from ElevenLabs"),
    "system__call_duration_secs": _("Seconds since the call started, from ElevenLabs"),
}

# Sample values for calls without a contact (an ElevenLabs test call, a PrixAgent test call).
PLACEHOLDERS = {
    "en": {"first_name": "Alex", "last_name": "Taylor", "company": "Example Inc.", "email": "alex@example.com"},
    "es": {"first_name": "Alex", "last_name": "García", "company": "Empresa Ejemplo", "email": "alex@example.com"},
}


def custom_variable_name(key: str) -> str:
    """A contact custom field key as a variable name: `Budget (USD)` → `budget_usd`."""
    name = re.sub(r"[^a-z0-9]+", "_", key.strip().lower()).strip("_")
    if name and not name[0].isalpha():
        name = f"cf_{name}"
    return name[:64]


def custom_variables(keys: Iterable[str]) -> dict[str, str]:
    """{variable name: custom field key} for the keys that make valid, non-built-in names."""
    names: dict[str, str] = {}
    for key in keys:
        name = custom_variable_name(key)
        if NAME_RE.match(name) and name not in BUILTIN and not name.startswith(("system__", "secret__")):
            names.setdefault(name, key)
    return names


def variables_in(text: str) -> list[str]:
    """The variable names used in `text`, in order of first use, without repeats."""
    return list(dict.fromkeys(match.group(1) for match in VARIABLE_RE.finditer(text or "")))


def unknown_variables(text: str, known: Iterable[str]) -> list[str]:
    allowed = set(known) | set(BUILTIN) | set(SYSTEM)
    return [name for name in variables_in(text) if name not in allowed]


def placeholder(name: str, language: str) -> str:
    samples = PLACEHOLDERS.get(language, PLACEHOLDERS["en"])
    if name in samples:
        return samples[name]
    if name == "full_name":
        return f"{samples['first_name']} {samples['last_name']}"
    return ""
