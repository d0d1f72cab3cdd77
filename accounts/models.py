"""The tenant (`Account`, the seed's `accounts` table) and the people who log in (`User`)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.principal import PrincipalQuerySet
from accounts.validators import validate_account_settings
from integrations.registry import provider_secrets
from prixagent.crypto import DecryptionError, mask
from prixagent.fields import EncryptedTextField

logger = logging.getLogger(__name__)

# Credential columns per provider: (secret columns, configured flag), from the one registry.
PROVIDER_SECRETS: dict[str, tuple[tuple[str, ...], str]] = provider_secrets()


class AccountManager(models.Manager.from_queryset(PrincipalQuerySet)):  # type: ignore[misc]
    pass


class Account(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=255)
    slug = models.SlugField(_("slug"), max_length=255)
    email = models.EmailField(_("email"), max_length=255)
    # Self sign-ups confirm their email before they can connect providers; accounts the
    # operator creates (admin, create_account) are vouched for, hence the default.
    email_verified_at = models.DateTimeField(_("email verified"), null=True, blank=True, default=timezone.now)
    # A new contact email waits here until the link sent to it is followed (no squatting).
    pending_email = models.EmailField(_("pending email"), max_length=255, blank=True)

    status = models.CharField(_("status"), max_length=50, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(_("status reason"), max_length=500, blank=True)
    subscription_plan = models.CharField(_("subscription plan"), max_length=100, blank=True)
    subscription_status = models.CharField(_("subscription status"), max_length=50, blank=True)

    # Tenant credentials: encrypted, bound to this account and column (prixagent.fields).
    twilio_account_sid = EncryptedTextField(tenant_attr="pk")
    twilio_auth_token = EncryptedTextField(tenant_attr="pk")
    twilio_phone_numbers = models.JSONField(default=list, blank=True)  # [{number, sid, capabilities}]
    twilio_configured = models.BooleanField(default=False)

    ghl_api_key = EncryptedTextField(tenant_attr="pk")
    ghl_location_id = models.CharField(max_length=255, blank=True)
    ghl_configured = models.BooleanField(default=False)

    elevenlabs_api_key = EncryptedTextField(tenant_attr="pk")
    elevenlabs_agent_id = models.CharField(max_length=255, blank=True)
    elevenlabs_configured = models.BooleanField(default=False)

    calcom_api_key = EncryptedTextField(tenant_attr="pk")
    calcom_configured = models.BooleanField(default=False)

    # Where the business calls from: national-format phone numbers are read in this country,
    # and contacts whose number spans several time zones fall back to this zone.
    default_country = models.CharField(_("default country"), max_length=2, default="US")
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/New_York")

    settings = models.JSONField(default=dict, blank=True, validators=[validate_account_settings])
    limits = models.JSONField(default=dict, blank=True)
    usage_stats = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_login = models.DateTimeField(null=True, blank=True)

    objects = AccountManager()

    class Meta:
        db_table = "accounts"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="idx_accounts_slug"),
            models.UniqueConstraint(Lower("email"), name="idx_accounts_email"),
        ]
        indexes = [models.Index(fields=["status"], name="idx_accounts_status")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Account {self.slug} ({self.status})>"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def secret_hint(self, column: str) -> str:
        """The masked form of a stored secret, for display ("••••abcd"); never raises.

        A value that cannot be decrypted shows as "unreadable"; the log says which column and
        key (never the value), so one broken secret does not break a page.
        """
        try:
            return mask(getattr(self, column))
        except DecryptionError as exc:
            logger.warning("unreadable secret: %s", exc)
            return str(_("unreadable"))


class UserManager(BaseUserManager.from_queryset(PrincipalQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_queryset(self) -> models.QuerySet[User]:
        # Every request of a tenant user needs its account (scoping, status): one query, not two.
        return super().get_queryset().select_related("account")

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=(username or "").strip())

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, account=None)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Logs in by email. Tenant users belong to one account; platform staff to none."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("email"), max_length=255, unique=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="users")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    language = models.CharField(_("language"), max_length=10, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped by "log out everywhere": every token and session issued before carries the old
    # value and is refused (accounts.tokens, get_session_auth_hash).
    token_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_email_unique"),
            # Platform staff belong to no account; tenant users to exactly one. Never both:
            # a tenant user flagged staff would reach the operator admin.
            models.CheckConstraint(
                condition=models.Q(is_staff=True, account__isnull=True)
                | models.Q(is_staff=False, account__isnull=False),
                name="users_staff_xor_account",
            ),
        ]
        indexes = [models.Index(fields=["account", "role"])]

    def __str__(self) -> str:
        return self.email

    @property
    def can_manage(self) -> bool:
        """Owners and admins change the account's settings; members only read."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER

    def get_session_auth_hash(self) -> str:
        # Django drops a session whose stored hash no longer matches: a password change, and
        # (through the generation) "log out everywhere". Generation 0 keeps Django's own value,
        # so sessions opened before this field existed stay valid.
        if not self.token_generation:
            return super().get_session_auth_hash()
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(key_salt, f"{self.password}:{self.token_generation}", algorithm="sha256").hexdigest()


class Invitation(models.Model):
    """A pending seat in an account: the invitee follows a signed, expiring link and chooses
    their own password. Nobody else ever picks it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"), max_length=255)
    name = models.CharField(_("name"), max_length=255, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=User.Role.choices, default=User.Role.MEMBER)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invitations"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "email"])]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "pending" if self.expires_at > timezone.now() else "expired"


class AuditEvent(models.Model):
    """The tenant's audit trail: who changed members, roles, the account or its integrations.

    Written only by `accounts.services.audit_record`, which keeps secrets out: `details` holds
    names, roles and field names, never a credential value.
    """

    class Action(models.TextChoices):
        MEMBER_INVITED = "member.invited", _("Member invited")
        INVITATION_REVOKED = "member.invitation_revoked", _("Invitation revoked")
        MEMBER_JOINED = "member.joined", _("Member joined")
        ROLE_CHANGED = "member.role_changed", _("Role changed")
        MEMBER_DEACTIVATED = "member.deactivated", _("Member deactivated")
        MEMBER_REACTIVATED = "member.reactivated", _("Member reactivated")
        MEMBER_REMOVED = "member.removed", _("Member removed")
        MEMBER_LOGGED_OUT_EVERYWHERE = "member.logged_out_everywhere", _("Logged out everywhere")
        ACCOUNT_CREATED = "account.created", _("Account created")
        ACCOUNT_UPDATED = "account.updated", _("Account updated")
        ACCOUNT_EMAIL_CHANGE_REQUESTED = "account.email_change_requested", _("Email change requested")
        ACCOUNT_EMAIL_VERIFIED = "account.email_verified", _("Email verified")
        ACCOUNT_STATUS_CHANGED = "account.status_changed", _("Status changed")
        INTEGRATION_CHANGED = "integration.changed", _("Integration changed")

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Kept as text so the trail still says who after the user is removed; "operator" for staff.
    actor_label = models.CharField(max_length=255)
    action = models.CharField(max_length=64, choices=Action.choices)
    target = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        db_table = "audit_events"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target}".strip()
