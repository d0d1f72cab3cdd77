"""Shared helpers for the integrations tests (connect payloads built from sandbox credentials)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from accounts.models import Account

SECRET_COLUMNS = ("twilio_account_sid", "twilio_auth_token", "ghl_api_key", "elevenlabs_api_key", "calcom_api_key")


def connect_payload(sb: Any, provider: str, **options: Any) -> dict[str, Any]:
    """Fresh, valid credentials for `provider`, created in the sandbox, as the API expects them."""
    if provider == "twilio":
        return sb.twilio.create_account(**options)
    if provider == "ghl":
        location = sb.ghl.create_location(**options)
        return {"api_key": location["token"], "location_id": location["location_id"]}
    if provider == "elevenlabs":
        return {"api_key": sb.elevenlabs.create_key(**options)}
    if provider == "calcom":
        return {"api_key": sb.calcom.create_user(**options)["api_key"]}
    raise ValueError(provider)


def raw_columns(account: Account) -> dict[str, Any]:
    """The credential columns exactly as PostgreSQL holds them (no model field in between)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(SECRET_COLUMNS)} FROM accounts WHERE id = %s", [account.pk])
        row = cursor.fetchone()
    return dict(zip(SECRET_COLUMNS, row, strict=True))


def nothing_stored(account: Account, provider: str) -> bool:
    account.refresh_from_db()
    columns = [c for c in SECRET_COLUMNS if c.startswith(provider)]
    flag = getattr(account, f"{provider}_configured")
    return not flag and all(raw_columns(account)[c] is None for c in columns)


class RequestsSince:
    """The sandbox requests made after this point (sb.requests() is grouped by provider, not by time)."""

    PROVIDERS = ("twilio", "elevenlabs", "ghl", "calcom", "paypal")

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.seen = {p: len(sb.requests(p)) for p in self.PROVIDERS}

    def __call__(self) -> list[Any]:
        return [r for p in self.PROVIDERS for r in self.sb.requests(p)[self.seen[p] :]]
