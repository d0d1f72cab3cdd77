"""Shared helpers for the integrations tests (connect payloads built from sandbox credentials)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from accounts.models import Account
from integrations.registry import PROVIDERS, secret_columns

SECRET_COLUMNS = secret_columns()


def _ghl(sb: Any, **options: Any) -> dict[str, Any]:
    location = sb.ghl.create_location(**options)
    return {"api_key": location["token"], "location_id": location["location_id"]}


# How the sandbox makes fresh, valid credentials for each provider (the sandbox's side of the
# registry: what a tenant would copy from the provider's console).
SANDBOX_CREDENTIALS = {
    "twilio": lambda sb, **o: sb.twilio.create_account(**o),
    "ghl": _ghl,
    "elevenlabs": lambda sb, **o: {"api_key": sb.elevenlabs.create_key(**o)},
    "calcom": lambda sb, **o: {"api_key": sb.calcom.create_user(**o)["api_key"]},
}
assert set(SANDBOX_CREDENTIALS) == set(PROVIDERS), "every registered provider needs sandbox credentials"


def connect_payload(sb: Any, provider: str, **options: Any) -> dict[str, Any]:
    """Fresh, valid credentials for `provider`, created in the sandbox, as the API expects them."""
    return SANDBOX_CREDENTIALS[provider](sb, **options)


def raw_columns(account: Account) -> dict[str, Any]:
    """The credential columns exactly as PostgreSQL holds them (no model field in between)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(SECRET_COLUMNS)} FROM accounts WHERE id = %s", [account.pk])
        row = cursor.fetchone()
    return dict(zip(SECRET_COLUMNS, row, strict=True))


def nothing_stored(account: Account, provider: str) -> bool:
    account.refresh_from_db()
    spec = PROVIDERS[provider]
    columns = spec.secret_columns
    flag = getattr(account, spec.flag)
    return not flag and all(raw_columns(account)[c] is None for c in columns)


class RequestsSince:
    """The sandbox requests made after this point (sb.requests() is grouped by provider, not by time)."""

    PROVIDERS = ("twilio", "elevenlabs", "ghl", "calcom", "paypal")

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.seen = {p: len(sb.requests(p)) for p in self.PROVIDERS}

    def __call__(self) -> list[Any]:
        return [r for p in self.PROVIDERS for r in self.sb.requests(p)[self.seen[p] :]]
