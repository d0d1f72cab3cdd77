"""Account and user business logic: sign-up, email verification, the account, sessions, the
audit trail, operator tools. The team (roles, invitations) is in `accounts.members`.
Views, API, admin and commands all call these.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import PROVIDER_SECRETS, Account, AuditEvent, User
from contacts.phones import country_for_language
from prixagent.errors import ApplicationError
from prixagent.redaction import redact
from prixagent.security_log import security_event
from prixagent.throttling import client_ip

logger = logging.getLogger(__name__)

Actor = User | str  # a user, or "operator" (admin, manage.py) / "system" (background work)
EMAIL_LINK_MAX_AGE = 3 * 86400
_EMAIL_SALT = "accounts.email-confirm"


# --- Audit trail ---------------------------------------------------------------------------------

_SECRET_WORDS = ("password", "secret", "token", "key", "sid", "credential")


def _clean_details(details: dict[str, Any]) -> dict[str, Any]:
    """Names, roles, field names and scrubbed messages only: never a credential value."""
    clean: dict[str, Any] = {}
    for name, value in details.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            continue
        if isinstance(value, str):
            value = redact(value)[:500]
        elif isinstance(value, list | tuple):
            value = [redact(str(item))[:100] for item in value][:50]
        elif not isinstance(value, bool | int | float) and value is not None:
            value = redact(str(value))[:500]
        clean[name] = value
    return clean


def _actor_label(actor: Actor) -> str:
    if isinstance(actor, User):
        return actor.email if actor.account_id else "operator"
    return str(actor)


def audit_record(
    *,
    account: Account,
    actor: Actor,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    request: Any = None,
) -> AuditEvent:
    """Add one event to the account's audit trail (dashboard, API and admin show it)."""
    return AuditEvent.objects.create(
        account=account,
        actor=actor if isinstance(actor, User) else None,
        actor_label=_actor_label(actor)[:255],
        action=action,
        target=str(target)[:255],
        details=_clean_details(details or {}),
        ip=client_ip(request) if request is not None else "",
    )


# --- Sign-up, account creation, email verification -------------------------------------------


def check_password_strength(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(_("Choose a stronger password."), fields={"password": list(exc.messages)}) from None


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "account"
    slug, n = base, 1
    while Account.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def email_in_use(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists() or Account.objects.filter(email__iexact=email).exists()


def enqueue_after_commit(task: Any, **kwargs: Any) -> None:
    # After the commit, so a worker never looks for rows that are not there yet.
    transaction.on_commit(lambda: task.delay(**kwargs))


def _signup_fields(account_name: str, email: str, password: str, name: str) -> None:
    fields: dict[str, list[str]] = {}
    if not account_name:
        fields["account_name"] = [_("Enter your business name.")]
    if not email:
        fields["email"] = [_("Enter your email.")]
    if fields:
        raise ApplicationError(_("Some fields are invalid."), fields=fields)
    check_password_strength(password, User(email=email, name=name))


def account_create(
    *, account_name: str, email: str, password: str, name: str = "", verified: bool = True
) -> tuple[Account, User]:
    """Create a tenant and its owner in one transaction (operator tools; sign-up below)."""
    email = email.strip().lower()
    account_name = account_name.strip()
    _signup_fields(account_name, email, password, name)
    if email_in_use(email):
        raise ApplicationError(
            _("Some fields are invalid."), fields={"email": [_("An account with this email already exists.")]}
        )
    with transaction.atomic():
        account = Account.objects.create(
            name=account_name,
            slug=_unique_slug(account_name),
            email=email,
            email_verified_at=timezone.now() if verified else None,
            # National-format numbers are read in the owner's country: guessed from the language
            # the owner signs up in (the request's), "US" when there is none.
            default_country=country_for_language(translation.get_language()),
        )
        user = User.objects.create_user(email, password, name=name, account=account, role=User.Role.OWNER)
        audit_record(
            account=account, actor=user if not verified else "operator", action=AuditEvent.Action.ACCOUNT_CREATED
        )
    logger.info("account created: account=%s user=%s", account.slug, user.pk)
    return account, user


def account_signup(*, account_name: str, email: str, password: str, name: str = "") -> Account | None:
    """Self-service sign-up. Answers the same whether or not the email is already known.

    A new address gets its account (unverified) and a link to confirm it; a known address
    gets a reminder that it already has a login. Both cost one password hash, so neither the
    answer nor its timing tells which happened. Returns the new account, or None.
    """
    email = email.strip().lower()
    account_name = account_name.strip()
    _signup_fields(account_name, email, password, name)
    from accounts import tasks

    if not email_in_use(email):
        try:
            with transaction.atomic():
                account, _user = account_create(
                    account_name=account_name, email=email, password=password, name=name, verified=False
                )
        except (IntegrityError, ApplicationError):
            pass  # a sign-up for the same email won the race: the reminder below, like any known email
        else:
            enqueue_after_commit(
                tasks.account_verification_email_send, account_id=str(account.pk), email=email, language=_language()
            )
            return account
    else:
        make_password(password)  # the same work as a real sign-up
    enqueue_after_commit(tasks.signup_reminder_email_send, email=email, language=_language())
    return None


def _language() -> str:
    return translation.get_language() or ""


def email_confirm_token(*, account: Account, email: str) -> str:
    return signing.dumps({"a": str(account.pk), "e": email.lower()}, salt=_EMAIL_SALT, compress=True)


def account_email_confirm(*, token: str, request: Any = None) -> Account:
    """Follow a confirmation link: verify the sign-up email, or apply a pending email change."""
    try:
        data = signing.loads(token, salt=_EMAIL_SALT, max_age=EMAIL_LINK_MAX_AGE)
    except signing.BadSignature:
        raise ApplicationError(_("This link is invalid or has expired."), code="invalid_link") from None
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=data.get("a")).first()
        email = str(data.get("e", ""))
        if account is None:
            raise ApplicationError(_("This link is invalid or has expired."), code="invalid_link")
        if account.email.lower() == email:
            if account.email_verified_at is None:
                account.email_verified_at = timezone.now()
                account.save(update_fields=["email_verified_at", "updated_at"])
                audit_record(
                    account=account,
                    actor="system",
                    action=AuditEvent.Action.ACCOUNT_EMAIL_VERIFIED,
                    target=email,
                    request=request,
                )
            return account
        if account.pending_email.lower() != email:
            raise ApplicationError(_("This link is invalid or has expired."), code="invalid_link")
        if Account.objects.filter(email__iexact=email).exclude(pk=account.pk).exists():
            raise ApplicationError(_("Another account uses this email now; choose another one."), code="email_taken")
        account.email, account.pending_email, account.email_verified_at = email, "", timezone.now()
        account.save(update_fields=["email", "pending_email", "email_verified_at", "updated_at"])
        audit_record(
            account=account,
            actor="system",
            action=AuditEvent.Action.ACCOUNT_EMAIL_VERIFIED,
            target=email,
            request=request,
        )
    return account


def account_verification_resend(*, account: Account, actor: User) -> None:
    from accounts import tasks

    if account.email_verified_at is None:
        enqueue_after_commit(tasks.account_verification_email_send, account_id=str(account.pk), email=account.email)
    if account.pending_email:
        enqueue_after_commit(
            tasks.account_verification_email_send, account_id=str(account.pk), email=account.pending_email
        )


def password_reset_request(*, email: str, request: Any = None) -> None:
    """Queue the reset email. Whether the address has a login is decided by the task, so the
    request does the same for every address (no oracle, no timing difference)."""
    from accounts import tasks

    enqueue_after_commit(tasks.password_reset_email_send, email=email.strip().lower())
    security_event("password reset requested", request=request, email=email.strip().lower())


def account_require_verified_email(account: Account) -> None:
    """Providers are connected only by accounts that proved they own their email."""
    if not account.email_verified:
        raise ApplicationError(
            _(
                "Confirm your account email before connecting providers: follow the link we sent to "
                "%(email)s (you can send it again from the Account page)."
            )
            % {"email": account.email},
            code="email_unverified",
            status_code=403,
        )


# --- The account -----------------------------------------------------------------------------

ACCOUNT_EDITABLE = ("name", "email", "default_country", "time_zone", "settings")


def account_update(*, account: Account, actor: Actor, changes: dict[str, Any], request: Any = None) -> Account:
    """Change the account's own fields. Writes only those columns (never the credentials a
    concurrent connect or key rotation may have just replaced). A new email waits for its
    confirmation link: until then the old one stays in place."""
    from accounts import tasks

    changes = {field: value for field, value in changes.items() if field in ACCOUNT_EDITABLE}
    new_email = str(changes.pop("email", account.email) or "").strip().lower()
    changed = [field for field, value in changes.items() if getattr(account, field) != value]
    for field in changed:
        setattr(account, field, changes[field])
    if new_email and new_email != account.email.lower() and new_email != account.pending_email:
        account.pending_email = new_email
        changed.append("pending_email")
        enqueue_after_commit(tasks.account_verification_email_send, account_id=str(account.pk), email=new_email)
        audit_record(
            account=account,
            actor=actor,
            action=AuditEvent.Action.ACCOUNT_EMAIL_CHANGE_REQUESTED,
            target=new_email,
            request=request,
        )
    if changed:
        account.save(update_fields=[*changed, "updated_at"])
        fields = [field for field in changed if field != "pending_email"]
        if fields:
            audit_record(
                account=account,
                actor=actor,
                action=AuditEvent.Action.ACCOUNT_UPDATED,
                details={"fields": fields},
                request=request,
            )
    return account


def user_record_login(*, user: User) -> None:
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=now)
    if user.account_id:
        Account.objects.filter(pk=user.account_id).update(last_login=now)


StatusChange = Literal["suspend", "reactivate", "cancel"]
_TARGET = {"suspend": Account.Status.SUSPENDED, "reactivate": Account.Status.ACTIVE, "cancel": Account.Status.CANCELLED}


def account_set_status(*, account: Account, change: StatusChange, reason: str = "", actor: str = "operator") -> Account:
    """Suspend, reactivate or cancel a tenant. A cancelled account cannot be reactivated here."""
    target = _TARGET[change]
    if account.status == Account.Status.CANCELLED and target != Account.Status.CANCELLED:
        message = (
            _("A cancelled account cannot be reactivated.")
            if change == "reactivate"
            else _("A cancelled account cannot be suspended.")
        )
        raise ApplicationError(message, code="account_cancelled")
    account.status = target
    account.status_reason = "" if target == Account.Status.ACTIVE else reason.strip()
    account.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(
        account=account,
        actor="operator",
        action=AuditEvent.Action.ACCOUNT_STATUS_CHANGED,
        details={"status": target, "reason": account.status_reason},
    )
    logger.info("account %s: %s by %s", account.slug, change, actor)
    return account


BootstrapResult = Literal["created", "updated", "unchanged"]


def admin_bootstrap(*, email: str, password: str) -> BootstrapResult:
    """Create or update the platform super admin from ADMIN_EMAIL / ADMIN_PASSWORD.

    Idempotent: the same values change nothing; a new password replaces the old hash.
    The password is only ever stored as a hash and never logged.
    """
    email = email.strip().lower()
    if not email or not password:
        raise ApplicationError("ADMIN_EMAIL and ADMIN_PASSWORD must both be set in .env", code="admin_not_configured")
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and user.account_id:
        raise ApplicationError(
            f"{email} belongs to a tenant account; choose another ADMIN_EMAIL", code="admin_email_taken"
        )
    if user is None:
        User.objects.create_superuser(email, password)
        return "created"
    changed = False
    if not (user.is_staff and user.is_superuser and user.is_active):
        user.is_staff = user.is_superuser = user.is_active = True
        changed = True
    if not user.check_password(password):
        user.set_password(password)
        changed = True
    if changed:
        user.save()
    return "updated" if changed else "unchanged"


# --- Sessions and tokens ------------------------------------------------------------------------


def user_logout_everywhere(*, user: User, actor: Actor | None = None, request: Any = None, audit: bool = True) -> int:
    """End every session and token of `user`: refresh tokens are blacklisted, and access tokens
    and dashboard sessions issued before now stop working at their next request."""
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    if audit and user.account_id:
        audit_record(
            account=user.account,
            actor=actor or user,
            action=AuditEvent.Action.MEMBER_LOGGED_OUT_EVERYWHERE,
            target=user.email,
            request=request,
        )
    security_event("logged out everywhere", request=request, user=user.pk, revoked=len(revoked))
    return len(revoked)


# --- Operator tools (admin, management commands) ---------------------------------------


def account_configured_integrations(*, account: Account) -> list[str]:
    """The providers whose credentials this account has configured ("twilio", "ghl", ...)."""
    return [provider for provider, (_cols, flag) in PROVIDER_SECRETS.items() if getattr(account, flag)]


def account_list(*, status: str | None = None) -> list[Account]:
    accounts = Account.objects.order_by("created_at", "slug")
    if status:
        if status not in Account.Status.values:
            raise ApplicationError(f"unknown status {status!r}; use one of {', '.join(Account.Status.values)}")
        accounts = accounts.filter(status=status)
    return list(accounts)


def account_get_by_slug(*, slug: str) -> Account:
    account = Account.objects.filter(slug=slug.strip()).first()
    if account is None:
        raise ApplicationError(f"no account with slug {slug!r}", code="not_found", status_code=404)
    return account
