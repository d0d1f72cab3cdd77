"""Reads of integration state: what the dashboard, the API and the admin show a tenant.

Nothing here returns a secret: stored credentials appear only as masked hints.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account
from integrations.models import IntegrationEvent, IntegrationStatus
from integrations.registry import PROVIDERS, ProviderSpec
from prixagent.errors import ApplicationError


def get_spec(provider: str) -> ProviderSpec:
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise ApplicationError(_("Unknown provider."), code="not_found", status_code=404) from None


def integration_overview(account: Account) -> list[dict[str, Any]]:
    """Everything the tenant may see about its integrations. No secret, only masked hints."""
    statuses = {s.provider: s for s in IntegrationStatus.objects.filter(account=account)}
    return [_item(account, spec, statuses.get(spec.provider)) for spec in PROVIDERS.values()]


def integration_get(account: Account, provider: str) -> dict[str, Any]:
    spec = get_spec(provider)
    return _item(account, spec, IntegrationStatus.objects.filter(account=account, provider=provider).first())


def _item(account: Account, spec: ProviderSpec, status: IntegrationStatus | None) -> dict[str, Any]:
    configured = bool(getattr(account, spec.flag))
    details = dict(status.details) if status and configured else {}
    extra = spec.hook("overview_details")
    if configured and extra is not None:
        details.update(extra(account))
    return {
        "provider": spec.provider,
        "name": spec.name,
        "configured": configured,
        "failing": bool(status and status.failing),
        "last_validated_at": status.last_validated_at if status else None,
        "last_error": status.last_error if status else "",
        "hints": {f.name: account.secret_hint(f.column) for f in spec.secret_fields} if configured else {},
        "details": details,
    }


def integration_events(account: Account, provider: str | None = None) -> QuerySet[IntegrationEvent]:
    """The account's audit trail, newest first (optionally one provider's)."""
    events = IntegrationEvent.objects.filter(account=account)
    return events.filter(provider=provider) if provider else events
