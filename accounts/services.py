"""Account and user business logic. Views, API, admin and commands all call these."""

from __future__ import annotations

import logging
from typing import Literal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import PROVIDER_SECRETS, Account, User
from contacts.phones import country_for_language
from prixagent.errors import ApplicationError

logger = logging.getLogger(__name__)


def _check_password(password: str, user: User | None = None) -> None:
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


def account_signup(*, account_name: str, email: str, password: str, name: str = "") -> tuple[Account, User]:
    """Create a tenant and its owner in one transaction."""
    email = email.strip().lower()
    account_name = account_name.strip()
    fields: dict[str, list[str]] = {}
    if not account_name:
        fields["account_name"] = [_("Enter your business name.")]
    if email_in_use(email):
        fields["email"] = [_("An account with this email already exists.")]
    if fields:
        raise ApplicationError(_("Some fields are invalid."), fields=fields)
    _check_password(password, User(email=email, name=name))
    try:
        with transaction.atomic():
            account = Account.objects.create(
                name=account_name,
                slug=_unique_slug(account_name),
                email=email,
                # National-format numbers are read in the owner's country: guessed from the
                # language the owner signs up in (the request's), "US" when there is none.
                default_country=country_for_language(get_language()),
            )
            user = User.objects.create_user(email, password, name=name, account=account, role=User.Role.OWNER)
    except IntegrityError:
        # Two sign-ups raced for the same email or slug; the loser gets a clear answer.
        raise ApplicationError(
            _("Some fields are invalid."), fields={"email": [_("An account with this email already exists.")]}
        ) from None
    logger.info("account signed up: account=%s user=%s", account.slug, user.pk)
    return account, user


def member_create(*, account: Account, email: str, password: str, role: str, name: str = "") -> User:
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError(_("Some fields are invalid."), fields={"email": [_("This email is already in use.")]})
    if role not in User.Role.values:
        raise ApplicationError(_("Some fields are invalid."), fields={"role": [_("Unknown role.")]})
    _check_password(password, User(email=email, name=name))
    return User.objects.create_user(email, password, name=name, account=account, role=role)


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


def member_update(*, actor: User, member: User, changes: dict[str, object]) -> User:
    """Change a user's name, language, role or active flag within the same account."""
    role = changes.get("role")
    if role and member.role == User.Role.OWNER and role != User.Role.OWNER and _last_owner(member):
        raise ApplicationError(_("The account needs at least one owner."), code="last_owner")
    if role == User.Role.OWNER and actor.role != User.Role.OWNER:
        raise ApplicationError(_("Only an owner can make someone an owner."), code="forbidden", status_code=403)
    if changes.get("is_active") is False and member.pk == actor.pk:
        raise ApplicationError(_("You cannot deactivate yourself."), code="invalid")
    for field, value in changes.items():
        setattr(member, field, value)
    member.save()
    return member


def member_remove(*, actor: User, member: User) -> None:
    if member.pk == actor.pk:
        raise ApplicationError(_("You cannot remove yourself."), code="invalid")
    if member.role == User.Role.OWNER and _last_owner(member):
        raise ApplicationError(_("The account needs at least one owner."), code="last_owner")
    member.delete()


def _last_owner(member: User) -> bool:
    return (
        not User.objects.filter(account_id=member.account_id, role=User.Role.OWNER, is_active=True)
        .exclude(pk=member.pk)
        .exists()
    )


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
