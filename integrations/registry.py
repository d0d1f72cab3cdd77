"""The provider registry: the one place that says what each provider is.

For each provider a tenant connects: its name, the credential fields (API/form name, the
`accounts` column, label, whether it is secret, the real format it must have), the
`*_configured` flag, the extra non-secret columns a connect writes, and the provider module
(`integrations.providers.<name>`) with its client and the hooks the services call:

- `connect_check(credentials) -> Validation` (required): ask the provider; raise ProviderError.
- `apply_connect_options(validation, options, previous_details)`: connect options, e.g. the
  Cal.com default event type.
- `overview_details(account) -> dict`: non-secret facts kept on the account row.

The module is imported on first use, so importing the registry (accounts.models does, for the
columns and flags) does not load the provider SDKs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from types import ModuleType
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Secrets travel in HTTP headers: visible ASCII only (a non-Latin-1 character would fail deep in
# the HTTP client; whitespace or a control character would split or forge a header).
SECRET_FORMAT = re.compile(r"[\x21-\x7e]{8,512}")


@dataclass(frozen=True)
class CredentialField:
    name: str  # the API / form field
    column: str  # the accounts column
    label: Promise | str
    secret: bool = True
    # The provider's real format: identifiers end up in request paths, so nothing else passes.
    pattern: re.Pattern[str] = SECRET_FORMAT
    format_hint: Promise | str = _("printable characters without spaces, as the provider shows it")

    def problem(self, value: str) -> str | None:
        """Why `value` cannot be this field, or None."""
        if self.pattern.fullmatch(value):
            return None
        return str(_("Not a valid %(label)s: expected %(format)s.") % {"label": self.label, "format": self.format_hint})


@dataclass
class Validation:
    """What a provider told us about valid credentials. Never holds a secret."""

    details: dict[str, Any]
    summary: str
    account_fields: dict[str, Any] = field(default_factory=dict)  # extra non-secret columns


@dataclass(frozen=True)
class ProviderSpec:
    provider: str
    name: str
    flag: str  # the accounts `*_configured` column
    fields: tuple[CredentialField, ...]
    account_columns: tuple[str, ...] = ()  # non-secret columns a connect may write
    connect_options: tuple[str, ...] = ()  # extra connect inputs, passed to apply_connect_options

    @property
    def secret_fields(self) -> tuple[CredentialField, ...]:
        return tuple(f for f in self.fields if f.secret)

    @property
    def secret_columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.secret_fields)

    @cached_property
    def module(self) -> ModuleType:
        return import_module(f"integrations.providers.{self.provider}")

    def hook(self, name: str) -> Any:
        """The provider module's hook `name`, or None when it has none."""
        return getattr(self.module, name, None)


def _hex(count: int) -> re.Pattern[str]:
    return re.compile(f"[0-9a-fA-F]{{{count}}}")


PROVIDERS: dict[str, ProviderSpec] = {
    spec.provider: spec
    for spec in (
        ProviderSpec(
            provider="twilio",
            name="Twilio",
            flag="twilio_configured",
            fields=(
                CredentialField(
                    "account_sid",
                    "twilio_account_sid",
                    _("Account SID"),
                    pattern=re.compile(r"AC[0-9a-fA-F]{32}"),
                    format_hint=_("AC followed by 32 hexadecimal characters"),
                ),
                CredentialField(
                    "auth_token",
                    "twilio_auth_token",
                    _("Auth token"),
                    pattern=_hex(32),
                    format_hint=_("32 hexadecimal characters"),
                ),
            ),
            account_columns=("twilio_phone_numbers",),
        ),
        ProviderSpec(
            provider="ghl",
            name="GoHighLevel",
            flag="ghl_configured",
            fields=(
                CredentialField("api_key", "ghl_api_key", _("Private integration token")),
                CredentialField(
                    "location_id",
                    "ghl_location_id",
                    _("Location ID"),
                    secret=False,
                    pattern=re.compile(r"[A-Za-z0-9]{10,40}"),
                    format_hint=_("letters and digits only, e.g. ve9EPM428h8vShlRW1KT"),
                ),
            ),
            account_columns=("ghl_location_id",),
        ),
        ProviderSpec(
            provider="elevenlabs",
            name="ElevenLabs",
            flag="elevenlabs_configured",
            fields=(CredentialField("api_key", "elevenlabs_api_key", _("API key")),),
        ),
        ProviderSpec(
            provider="calcom",
            name="Cal.com",
            flag="calcom_configured",
            fields=(CredentialField("api_key", "calcom_api_key", _("API key")),),
            connect_options=("default_event_type_id",),
        ),
    )
}


def provider_secrets() -> dict[str, tuple[tuple[str, ...], str]]:
    """{provider: (secret columns, configured flag)}: the shape `accounts` code reads."""
    return {name: (spec.secret_columns, spec.flag) for name, spec in PROVIDERS.items()}


def secret_columns() -> tuple[str, ...]:
    return tuple(column for spec in PROVIDERS.values() for column in spec.secret_columns)
