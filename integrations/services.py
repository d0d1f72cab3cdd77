"""Connect, validate, test, sync and disconnect a tenant's provider integrations.

Rules every function here keeps:
- The provider validates credentials BEFORE anything is stored; on failure nothing changes
  on the account (a failed attempt is still written to the audit trail, without the secret).
- A permanent provider error (bad credentials, missing permission, not found) is the
  tenant's to fix: 400 with the provider's reason. A transient one (unreachable, timeout,
  5xx, 429, an unreadable answer) is nobody's fault yet: 503, nothing stored, nothing marked
  failing.
- Every change writes an `IntegrationEvent` (`integrations.audit`). Secrets never reach an
  event, a status row, a log line or an error message: provider reasons are scrubbed of the
  credentials used. Functions that hold decrypted secrets are `sensitive_variables`, so a
  crash report (a DEBUG page, the admin emails) shows their locals as stars.
- Only the credentials of the account passed in are ever read or sent.

What differs per provider (which columns, which formats, how to validate, connect options)
lives in the registry (`integrations.registry`) and the provider modules, not here.
Reads are in `integrations.selectors`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from integrations.audit import Actor, integration_event_record
from integrations.models import IntegrationEvent, IntegrationStatus
from integrations.providers.base import ProviderError
from integrations.registry import PROVIDERS, ProviderSpec, Validation
from integrations.selectors import get_spec, integration_get, integration_overview
from prixagent import redaction
from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)

Action = IntegrationEvent.Action
Outcome = IntegrationEvent.Outcome
MAX_REASON = 500
T = TypeVar("T")

__all__ = [
    "calcom_set_default_event_type",
    "integration_connect",
    "integration_disconnect",
    "integration_get",
    "integration_mark_failing",
    "integration_overview",
    "integration_test",
    "twilio_sync_numbers",
]


# --- errors and scrubbing -------------------------------------------------------------------


def _scrub(text: str, secrets: Iterable[str]) -> str:
    return redaction.scrub(text, secrets)[:MAX_REASON]


@sensitive_variables()
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


@sensitive_variables()
def _ask(spec: ProviderSpec, creds: dict[str, str], call: Callable[[dict[str, str]], T]) -> T:
    """Call the provider; translate its error into our 400 / 503 with a scrubbed reason."""
    try:
        return call(creds)
    except ProviderError as exc:
        raise _provider_failure(spec, exc, _reason(exc, creds.values())) from None


# --- audit trail and status rows -----------------------------------------------------------


def _record(*, account: Account, provider: str, actor: Actor, action: str, outcome: str, message: str) -> None:
    integration_event_record(
        account=account, provider=provider, actor=actor, action=action, outcome=outcome, message=message
    )
    from accounts.services import audit_record  # the account's one audit trail (dashboard, API, admin)

    audit_record(
        account=account,
        actor=actor,
        action="integration.changed",
        target=provider,
        details={"action": action, "outcome": outcome, "message": message},
    )


def _status(account: Account, provider: str) -> IntegrationStatus:
    status, _created = IntegrationStatus.objects.get_or_create(account=account, provider=provider)
    return status


def _previous_details(account: Account, provider: str) -> dict[str, Any]:
    status = IntegrationStatus.objects.filter(account=account, provider=provider).first()
    return status.details if status else {}


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


# --- connect -----------------------------------------------------------------------------


@sensitive_variables()
def _clean_credentials(spec: ProviderSpec, credentials: dict[str, Any]) -> dict[str, str]:
    """Every field present and in the provider's real format (registry), before any request."""
    creds = {f.name: str(credentials.get(f.name) or "").strip() for f in spec.fields}
    problems: dict[str, list[str]] = {}
    for f in spec.fields:
        if not creds[f.name]:
            problems[f.name] = [_("This field may not be blank.")]
        elif (problem := f.problem(creds[f.name])) is not None:
            problems[f.name] = [problem]
    if problems:
        labels = ", ".join(str(f.label) for f in spec.fields if f.name in problems)
        raise ApplicationError(_("Some fields are invalid: %(fields)s.") % {"fields": labels}, fields=problems)
    return creds


@sensitive_variables()
def _validate_new(
    account: Account, spec: ProviderSpec, credentials: dict[str, Any], options: dict[str, Any]
) -> tuple[dict[str, str], Validation]:
    creds = _clean_credentials(spec, credentials)
    validation = _ask(spec, creds, spec.module.connect_check)
    apply_options = spec.hook("apply_connect_options")
    if apply_options is not None:
        apply_options(validation, options, _previous_details(account, spec.provider))
    return creds, validation


@sensitive_variables()
def integration_connect(
    *,
    account: Account,
    provider: str,
    credentials: dict[str, Any],
    actor: Actor,
    default_event_type_id: int | None = None,
) -> IntegrationStatus:
    """Validate `credentials` with the provider, then store them encrypted on the account.

    The secrets reach the log scrubber only once stored (the encrypted field registers them on
    save): values a provider rejected are never registered.
    """
    spec = get_spec(provider)
    options = {"default_event_type_id": default_event_type_id}
    try:
        creds, validation = _validate_new(account, spec, credentials, options)
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
        columns = {f.column for f in spec.fields} | set(validation.account_fields)
        account.save(update_fields=[*sorted(columns), spec.flag, "updated_at"])
        return _succeed(
            account=account,
            provider=provider,
            actor=actor,
            action=Action.CONNECT,
            message=validation.summary,
            details=validation.details,
        )


# --- stored credentials: test, sync, failing ---------------------------------------------


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


@sensitive_variables()
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
    validation = _with_stored_credentials(account, spec, actor, Action.TEST, spec.module.connect_check)
    apply_options = spec.hook("apply_connect_options")
    if apply_options is not None:
        apply_options(validation, {}, _previous_details(account, provider))
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
        for column in spec.account_columns:
            setattr(account, column, Account._meta.get_field(column).get_default())
        columns = {f.column for f in spec.fields} | set(spec.account_columns)
        setattr(account, spec.flag, False)
        account.save(update_fields=[*sorted(columns), spec.flag, "updated_at"])
        IntegrationStatus.objects.filter(account=account, provider=provider).delete()
        _record(
            account=account, provider=provider, actor=actor, action=Action.DISCONNECT, outcome=Outcome.OK, message=""
        )


def twilio_sync_numbers(*, account: Account, actor: Actor) -> list[dict[str, Any]]:
    """Re-read the tenant's Twilio phone numbers into `twilio_phone_numbers`."""
    spec = PROVIDERS["twilio"]
    numbers = _with_stored_credentials(account, spec, actor, Action.SYNC, spec.module.phone_numbers)
    with transaction.atomic():
        account.twilio_phone_numbers = numbers
        account.save(update_fields=["twilio_phone_numbers", "updated_at"])
        _succeed(
            account=account, provider="twilio", actor=actor, action=Action.SYNC, message=f"{len(numbers)} number(s)"
        )
    return numbers


def calcom_set_default_event_type(*, account: Account, event_type_id: int | None, actor: Actor) -> IntegrationStatus:
    """Choose which of the listed Cal.com event types the agent books by default."""
    spec = PROVIDERS["calcom"]
    if not account.calcom_configured:
        raise _not_connected(spec)
    status = _status(account, "calcom")
    if event_type_id is not None:
        spec.module.require_event_type(status.details.get("event_types", []), event_type_id)
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


@sensitive_variables()
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
