"""Connect, validate, test, sync and disconnect a tenant's provider integrations.

Rules every function here keeps:
- The provider validates credentials BEFORE anything is stored; on failure nothing changes
  on the account (a failed attempt is still written to the audit trail, without the secret).
- A permanent provider error (bad credentials, missing permission, not found) is the
  tenant's to fix: 400 with the provider's reason. A transient one (unreachable, timeout,
  5xx, 429) is nobody's fault yet: 503, nothing stored, nothing marked failing.
- Every change writes an `IntegrationEvent`. Secrets never reach an event, a status row,
  a log line or an error message: provider reasons are scrubbed of the credentials used.
- Only the credentials of the account passed in are ever read or sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account, User
from integrations.models import IntegrationEvent, IntegrationStatus, Provider
from integrations.providers import calcom, elevenlabs, ghl, twilio
from integrations.providers.base import ProviderError
from prixagent import redaction
from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

Actor = User | str  # a user, or "operator" (admin, manage.py) / "system" (background work)
NON_USER_ACTORS = ("operator", "system")
Action = IntegrationEvent.Action
Outcome = IntegrationEvent.Outcome
MAX_REASON = 500
T = TypeVar("T")


@dataclass(frozen=True)
class CredentialField:
    name: str  # the API / form field
    column: str  # the accounts column
    label: str
    secret: bool = True


@dataclass(frozen=True)
class ProviderSpec:
    provider: str
    fields: tuple[CredentialField, ...]
    flag: str  # the accounts `*_configured` column

    @property
    def name(self) -> str:
        return Provider(self.provider).label

    @property
    def secret_fields(self) -> tuple[CredentialField, ...]:
        return tuple(f for f in self.fields if f.secret)


SPECS: dict[str, ProviderSpec] = {
    "twilio": ProviderSpec(
        "twilio",
        (
            CredentialField("account_sid", "twilio_account_sid", "Account SID"),
            CredentialField("auth_token", "twilio_auth_token", "Auth token"),
        ),
        "twilio_configured",
    ),
    "ghl": ProviderSpec(
        "ghl",
        (
            CredentialField("api_key", "ghl_api_key", "Private integration token"),
            CredentialField("location_id", "ghl_location_id", "Location ID", secret=False),
        ),
        "ghl_configured",
    ),
    "elevenlabs": ProviderSpec(
        "elevenlabs", (CredentialField("api_key", "elevenlabs_api_key", "API key"),), "elevenlabs_configured"
    ),
    "calcom": ProviderSpec("calcom", (CredentialField("api_key", "calcom_api_key", "API key"),), "calcom_configured"),
}


@dataclass
class Validation:
    """What a provider told us about valid credentials. Never holds a secret."""

    details: dict[str, Any]
    summary: str
    account_fields: dict[str, Any] = field(default_factory=dict)  # extra non-secret columns


def get_spec(provider: str) -> ProviderSpec:
    try:
        return SPECS[provider]
    except KeyError:
        raise ApplicationError(_("Unknown provider."), code="not_found", status_code=404) from None


# --- errors and scrubbing -------------------------------------------------------------------


def _scrub(text: str, secrets: Iterable[str]) -> str:
    return redaction.scrub(text, secrets)[:MAX_REASON]


def _reason(exc: ProviderError, secrets: Iterable[str]) -> str:
    return _scrub(str(getattr(exc, "message", "") or exc), secrets) or _("no reason given")


def _provider_failure(spec: ProviderSpec, exc: ProviderError, reason: str) -> ApplicationError:
    if not exc.permanent:
        return ApplicationError(
            _("%(provider)s could not be reached (%(reason)s). Nothing was saved; try again in a minute.")
            % {"provider": spec.name, "reason": reason},
            code="provider_unavailable",
            status_code=503,
        )
    if exc.code == "missing_permissions":
        message = _("This %(provider)s key is valid but is missing a permission: %(reason)s")
        return ApplicationError(message % {"provider": spec.name, "reason": reason}, code="missing_permissions")
    return ApplicationError(
        _("Invalid %(provider)s credentials: %(reason)s") % {"provider": spec.name, "reason": reason},
        code="invalid_credentials",
    )


# --- validation, one function per provider ------------------------------------------------


@sensitive_variables()
def _validate_twilio(creds: dict[str, str]) -> Validation:
    info = twilio.validate(creds["account_sid"], creds["auth_token"])
    if info.get("status") not in (None, "active"):
        raise ProviderError(f"the Twilio account is {info['status']}", permanent=True, code="inactive", status=None)
    numbers = twilio.list_numbers(creds["account_sid"], creds["auth_token"])
    details = {
        "friendly_name": info.get("friendly_name", ""),
        "status": info.get("status", ""),
        "type": info.get("type", ""),
        "trial": bool(info.get("trial")),
    }
    summary = f"{details['friendly_name'] or 'account'}, {len(numbers)} number(s)" + (
        ", trial" if details["trial"] else ""
    )
    return Validation(details, summary, {"twilio_phone_numbers": _numbers(numbers)})


def _numbers(numbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("number", "sid", "friendly_name", "capabilities")
    return [{k: n.get(k) for k in keys} for n in numbers]


@sensitive_variables()
def _validate_ghl(creds: dict[str, str]) -> Validation:
    info = ghl.validate(creds["api_key"], creds["location_id"])
    details = {"location_name": info.get("name", ""), "timezone": info.get("timezone", "")}
    return Validation(details, f"location {details['location_name']}", {"ghl_location_id": creds["location_id"]})


@sensitive_variables()
def _validate_elevenlabs(creds: dict[str, str]) -> Validation:
    info = elevenlabs.validate(creds["api_key"])
    details = {"agents_visible": info.get("agents_visible")}
    return Validation(details, f"{details['agents_visible']} agent(s) visible")


@sensitive_variables()
def _validate_calcom(creds: dict[str, str]) -> Validation:
    me = calcom.validate(creds["api_key"])
    types = [
        {k: t.get(k) for k in ("id", "slug", "title", "length")} for t in calcom.list_event_types(creds["api_key"])
    ]
    details = {"username": me.get("username", ""), "time_zone": me.get("time_zone", ""), "event_types": types}
    return Validation(details, f"user {details['username']}, {len(types)} event type(s)")


VALIDATORS: dict[str, Callable[[dict[str, str]], Validation]] = {
    "twilio": _validate_twilio,
    "ghl": _validate_ghl,
    "elevenlabs": _validate_elevenlabs,
    "calcom": _validate_calcom,
}


@sensitive_variables()
def _ask(spec: ProviderSpec, creds: dict[str, str], call: Callable[[dict[str, str]], T]) -> T:
    """Call the provider; translate its error into our 400 / 503 with a scrubbed reason."""
    try:
        return call(creds)
    except ProviderError as exc:
        raise _provider_failure(spec, exc, _reason(exc, creds.values())) from None


def _validate(spec: ProviderSpec, creds: dict[str, str]) -> Validation:
    return _ask(spec, creds, VALIDATORS[spec.provider])


def _list_twilio_numbers(creds: dict[str, str]) -> list[dict[str, Any]]:
    return _numbers(twilio.list_numbers(creds["account_sid"], creds["auth_token"]))


# --- audit trail and status rows -----------------------------------------------------------


def _actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, User):
        # Platform staff act as "operator" in the tenant's trail; the FK still says who.
        return {"actor": actor, "actor_label": actor.email if actor.account_id else "operator"}
    if actor not in NON_USER_ACTORS:
        raise ValueError(f"actor must be a User or one of {NON_USER_ACTORS}")
    return {"actor": None, "actor_label": actor}


def _record(*, account: Account, provider: str, actor: Actor, action: str, outcome: str, message: str) -> None:
    who = _actor_fields(actor)
    IntegrationEvent.objects.create(
        account=account, provider=provider, action=action, outcome=outcome, message=message, **who
    )
    from accounts.services import audit_record  # the account's one audit trail (dashboard, API, admin)

    audit_record(
        account=account,
        actor=actor,
        action="integration.changed",
        target=provider,
        details={"action": action, "outcome": outcome, "message": message},
    )
    logger.info(
        "integration %s %s %s: account=%s actor=%s %s",
        provider,
        action,
        outcome,
        account.slug,
        who["actor_label"],
        message,
    )


def _status(account: Account, provider: str) -> IntegrationStatus:
    status, _created = IntegrationStatus.objects.get_or_create(account=account, provider=provider)
    return status


def _mark_valid(account: Account, provider: str, details: dict[str, Any] | None = None) -> IntegrationStatus:
    status = _status(account, provider)
    status.last_validated_at = timezone.now()
    status.failing, status.failing_since, status.last_error = False, None, ""
    if details is not None:
        status.details = details
    status.save()
    return status


def _succeed(
    *, account: Account, provider: str, actor: Actor, action: str, message: str, details: dict[str, Any] | None = None
) -> IntegrationStatus:
    """The provider accepted the credentials: clear any failure and record what happened."""
    status = _mark_valid(account, provider, details)
    _record(account=account, provider=provider, actor=actor, action=action, outcome=Outcome.OK, message=message)
    return status


def _fail(
    *, account: Account, spec: ProviderSpec, actor: Actor, action: str, error: ApplicationError
) -> ApplicationError:
    """Record a failed test/sync; a permanent failure marks the integration failing."""
    if error.status_code < 500:
        _set_failing(account, spec.provider, error.message)
    _record(
        account=account,
        provider=spec.provider,
        actor=actor,
        action=action,
        outcome=Outcome.FAILED,
        message=error.message,
    )
    return error


def _set_failing(account: Account, provider: str, reason: str) -> bool:
    """Mark failing; returns False when it already was, for the same reason."""
    status = _status(account, provider)
    if status.failing and status.last_error == reason:
        return False
    status.failing, status.last_error = True, reason
    status.failing_since = status.failing_since or timezone.now()
    status.save()
    return True


# --- the public services -------------------------------------------------------------------


def _clean_credentials(spec: ProviderSpec, credentials: dict[str, Any]) -> dict[str, str]:
    creds = {f.name: str(credentials.get(f.name) or "").strip() for f in spec.fields}
    missing = {name: [_("This field may not be blank.")] for name, value in creds.items() if not value}
    if missing:
        raise ApplicationError(_("Some fields are invalid."), fields=missing)
    return creds


@sensitive_variables()
def integration_connect(
    *,
    account: Account,
    provider: str,
    credentials: dict[str, Any],
    actor: Actor,
    default_event_type_id: int | None = None,
) -> IntegrationStatus:
    """Validate `credentials` with the provider, then store them encrypted on the account."""
    spec = get_spec(provider)
    creds = _clean_credentials(spec, credentials)
    for f in spec.secret_fields:
        redaction.remember_secret(creds[f.name])  # any later log line that echoes it is scrubbed
    try:
        validation = _validate(spec, creds)
        if provider == "calcom":
            validation.details["default_event_type_id"] = _pick_event_type(
                validation.details["event_types"], default_event_type_id, _status(account, provider).details
            )
    except ApplicationError as exc:
        _record(
            account=account,
            provider=provider,
            actor=actor,
            action=Action.CONNECT,
            outcome=Outcome.FAILED,
            message=exc.message,
        )
        raise
    with transaction.atomic():
        for f in spec.fields:
            setattr(account, f.column, creds[f.name])
        for column, value in validation.account_fields.items():
            setattr(account, column, value)
        setattr(account, spec.flag, True)
        columns = [f.column for f in spec.fields] + list(validation.account_fields)
        account.save(update_fields=[*columns, spec.flag, "updated_at"])
        return _succeed(
            account=account,
            provider=provider,
            actor=actor,
            action=Action.CONNECT,
            message=validation.summary,
            details=validation.details,
        )


def _require_event_type(types: list[dict[str, Any]], wanted: int) -> None:
    if wanted not in [t["id"] for t in types]:
        raise ApplicationError(
            _("Some fields are invalid."),
            fields={"default_event_type_id": [_("This Cal.com account has no event type with that id.")]},
        )


def _pick_event_type(types: list[dict[str, Any]], wanted: int | None, previous: dict[str, Any]) -> int | None:
    """The wanted event type, else the one chosen before if it still exists, else the only one."""
    if wanted is not None:
        _require_event_type(types, wanted)
        return wanted
    ids = [t["id"] for t in types]
    kept = previous.get("default_event_type_id")
    if kept in ids:
        return kept
    return ids[0] if len(ids) == 1 else None


def _not_connected(spec: ProviderSpec) -> ApplicationError:
    return ApplicationError(
        _("%(provider)s is not connected.") % {"provider": spec.name}, code="not_configured", status_code=409
    )


@sensitive_variables()
def _stored_credentials(account: Account, spec: ProviderSpec) -> dict[str, str]:
    if not getattr(account, spec.flag):
        raise _not_connected(spec)
    try:
        creds = {f.name: getattr(account, f.column) or "" for f in spec.fields}
    except DecryptionError:
        logger.exception("stored %s credentials of account %s cannot be decrypted", spec.provider, account.slug)
        raise ApplicationError(
            _("The stored %(provider)s credentials cannot be read; connect them again.") % {"provider": spec.name},
            code="credentials_unreadable",
        ) from None
    return creds


def _with_stored_credentials(
    account: Account, spec: ProviderSpec, actor: Actor, action: str, call: Callable[[dict[str, str]], T]
) -> T:
    """Run `call` with the account's stored credentials; a failure is recorded (and marks failing)."""
    try:
        return _ask(spec, _stored_credentials(account, spec), call)
    except ApplicationError as exc:
        if exc.code == "not_configured":
            raise
        raise _fail(account=account, spec=spec, actor=actor, action=action, error=exc) from None


def integration_test(*, account: Account, provider: str, actor: Actor) -> IntegrationStatus:
    """Validate the stored credentials again. A rejection marks the integration failing."""
    spec = get_spec(provider)
    validation = _with_stored_credentials(account, spec, actor, Action.TEST, VALIDATORS[provider])
    if provider == "calcom":
        validation.details["default_event_type_id"] = _pick_event_type(
            validation.details["event_types"], None, _status(account, provider).details
        )
    with transaction.atomic():
        for column, value in validation.account_fields.items():
            setattr(account, column, value)
        if validation.account_fields:
            account.save(update_fields=[*validation.account_fields, "updated_at"])
        return _succeed(
            account=account,
            provider=provider,
            actor=actor,
            action=Action.TEST,
            message=validation.summary,
            details=validation.details,
        )


def integration_disconnect(*, account: Account, provider: str, actor: Actor) -> None:
    """Wipe the ciphertext and the flag. Idempotent: disconnecting twice records nothing new."""
    spec = get_spec(provider)
    if not getattr(account, spec.flag) and all(account.__dict__.get(f.column) in (None, "") for f in spec.fields):
        return
    with transaction.atomic():
        for f in spec.fields:
            setattr(account, f.column, None if f.secret else "")
        columns = [f.column for f in spec.fields]
        if provider == "twilio":
            account.twilio_phone_numbers = []
            columns.append("twilio_phone_numbers")
        setattr(account, spec.flag, False)
        account.save(update_fields=[*columns, spec.flag, "updated_at"])
        IntegrationStatus.objects.filter(account=account, provider=provider).delete()
        _record(
            account=account, provider=provider, actor=actor, action=Action.DISCONNECT, outcome=Outcome.OK, message=""
        )


def twilio_sync_numbers(*, account: Account, actor: Actor) -> list[dict[str, Any]]:
    """Re-read the tenant's Twilio phone numbers into `twilio_phone_numbers`."""
    numbers = _with_stored_credentials(account, SPECS["twilio"], actor, Action.SYNC, _list_twilio_numbers)
    with transaction.atomic():
        account.twilio_phone_numbers = numbers
        account.save(update_fields=["twilio_phone_numbers", "updated_at"])
        _succeed(
            account=account, provider="twilio", actor=actor, action=Action.SYNC, message=f"{len(numbers)} number(s)"
        )
    return numbers


def calcom_set_default_event_type(*, account: Account, event_type_id: int | None, actor: Actor) -> IntegrationStatus:
    """Choose which of the listed Cal.com event types the agent books by default."""
    if not account.calcom_configured:
        raise _not_connected(SPECS["calcom"])
    status = _status(account, "calcom")
    if event_type_id is not None:
        _require_event_type(status.details.get("event_types", []), event_type_id)
    with transaction.atomic():
        status.details = {**status.details, "default_event_type_id": event_type_id}
        status.save(update_fields=["details", "updated_at"])
        _record(
            account=account,
            provider="calcom",
            actor=actor,
            action=Action.CONFIGURE,
            outcome=Outcome.OK,
            message=f"default event type {event_type_id}",
        )
    return status


def integration_mark_failing(*, account: Account, provider: str, error: str | ProviderError) -> None:
    """Real work got a permanent provider error: show it to tenant and operator, stop retrying.

    Repeating the same error (a campaign hitting it on every call) records it only once.
    """
    spec = get_spec(provider)
    reason = _scrub(str(getattr(error, "message", "") or error), _stored_secrets(account, spec))
    if _set_failing(account, spec.provider, reason):
        _record(
            account=account,
            provider=provider,
            actor="system",
            action=Action.FAILURE,
            outcome=Outcome.FAILED,
            message=reason,
        )


@sensitive_variables()
def _stored_secrets(account: Account, spec: ProviderSpec) -> list[str]:
    """The account's stored secrets for `spec`, to scrub them out of a provider's message."""
    try:
        return [getattr(account, f.column) or "" for f in spec.secret_fields]
    except DecryptionError:
        return []


# --- reads ---------------------------------------------------------------------------------


def integration_overview(account: Account) -> list[dict[str, Any]]:
    """Everything the tenant may see about its four integrations. No secret, only masked hints."""
    statuses = {s.provider: s for s in IntegrationStatus.objects.filter(account=account)}
    overview = []
    for provider, spec in SPECS.items():
        status = statuses.get(provider)
        configured = bool(getattr(account, spec.flag))
        details = dict(status.details) if status and configured else {}
        if provider == "twilio" and configured:
            details["numbers"] = account.twilio_phone_numbers
        if provider == "ghl" and configured:
            details["location_id"] = account.ghl_location_id
        overview.append(
            {
                "provider": provider,
                "name": spec.name,
                "configured": configured,
                "failing": bool(status and status.failing),
                "last_validated_at": status.last_validated_at if status else None,
                "last_error": status.last_error if status else "",
                "hints": {f.name: account.secret_hint(f.column) for f in spec.secret_fields} if configured else {},
                "details": details,
            }
        )
    return overview


def integration_get(account: Account, provider: str) -> dict[str, Any]:
    get_spec(provider)
    return next(item for item in integration_overview(account) if item["provider"] == provider)
