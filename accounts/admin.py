"""The platform operator's admin (`/admin/`): tenants and users.

Rules this module keeps:
- Secrets are write-only: an account's credential columns are never form fields (the field is
  not editable) and the change page shows only `Account.secret_hint` ("••••abcd").
- Status changes go through `accounts.services.account_set_status` (the actions), never a form.
- Only platform staff who belong to no tenant get in; login attempts are rate limited; the
  second factor (accounts.mfa) is asked before any admin page.
- An account saved here writes only the columns the form changed, so a stale page can never
  put back credentials that a connect or a key rotation replaced meanwhile.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.mfa import mfa_satisfied
from accounts.models import PROVIDER_SECRETS, Account, AuditEvent, Invitation, User
from accounts.services import StatusChange, account_set_status, audit_record
from prixagent.errors import ApplicationError
from prixagent.throttling import login_attempt

admin.site.site_header = "PrixAgent platform admin"
admin.site.site_title = "PrixAgent admin"
admin.site.index_title = "Platform operations"


# --- Who may log in ----------------------------------------------------------------------


def _is_platform_staff(user: Any) -> bool:
    return bool(user.is_active and user.is_staff and getattr(user, "account_id", None) is None)


class PlatformAdminLoginForm(AdminAuthenticationForm):
    """Admin login: rate limited per email and per IP, and closed to every tenant user."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many login attempts. Wait a few minutes and try again.",
    }

    def clean(self) -> dict[str, Any]:
        # The same counters as the dashboard and API logins: one budget per email and per IP.
        if not login_attempt(request=self.request, email=str(self.data.get("username", ""))):
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        return super().clean()

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)  # refuses inactive and non-staff users
        if not _is_platform_staff(user):
            raise self.get_invalid_login_error()


def _platform_staff_only(request: HttpRequest) -> bool:
    # Also guards sessions opened elsewhere (the dashboard login): a tenant user is never in,
    # and staff are in only after their second factor (when it is required).
    return _is_platform_staff(request.user) and mfa_satisfied(request)


_password_login = admin.site.login


def _login_then_second_factor(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """Staff who passed the password but not the second factor go to `/admin/mfa/`."""
    if _is_platform_staff(request.user) and not mfa_satisfied(request):
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('admin_mfa_verify')}?{urlencode({'next': next_url})}")
    return _password_login(request, extra_context)


admin.site.login_form = PlatformAdminLoginForm
# Instance attributes, so they are called as has_permission(request) without binding.
admin.site.has_permission = _platform_staff_only
admin.site.login = _login_then_second_factor


# --- Accounts ----------------------------------------------------------------------------


class AccountActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, max_length=500, label="Reason (shown to the account's users)")


class UserInline(admin.TabularInline):
    model = User
    fields = ("email", "name", "role", "is_active", "last_login")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


def _credential_hint(column: str, label: str) -> Any:
    @admin.display(description=label)
    def hint(self: AccountAdmin, account: Account) -> str:
        return account.secret_hint(column) or "— not set"

    hint.__name__ = f"{column}_hint"
    return hint


def _configured_icon(flag: str, label: str) -> Any:
    @admin.display(description=label, boolean=True, ordering=flag)
    def icon(self: AccountAdmin, account: Account) -> bool:
        return getattr(account, flag)

    return icon


SECRET_COLUMNS = tuple(column for columns, _flag in PROVIDER_SECRETS.values() for column in columns)
CONFIGURED_FLAGS = tuple(flag for _columns, flag in PROVIDER_SECRETS.values())


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "email",
        "status",
        "subscription_plan",
        "twilio",
        "ghl",
        "elevenlabs",
        "calcom",
        "user_count",
        "created_at",
        "last_login",
    )
    list_filter = ("status", "subscription_plan", "subscription_status", *CONFIGURED_FLAGS)
    search_fields = ("name", "email", "slug")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    list_per_page = 50
    prepopulated_fields = {"slug": ("name",)}
    action_form = AccountActionForm
    actions = ("suspend_accounts", "reactivate_accounts", "cancel_accounts")
    inlines = (UserInline,)
    readonly_fields = (
        "status",
        "status_reason",
        *CONFIGURED_FLAGS,
        *(f"{column}_hint" for column in SECRET_COLUMNS),
        "twilio_phone_numbers",
        "ghl_location_id",
        "elevenlabs_agent_id",
        "usage_stats",
        "created_at",
        "updated_at",
        "last_login",
    )
    fieldsets = (
        (None, {"fields": ("name", "slug", "email")}),
        (
            "Status",
            {
                "fields": ("status", "status_reason"),
                "description": "Change the status with the actions on the account list (suspend, reactivate, "
                "cancel); they record the reason the account's users see.",
            },
        ),
        ("Subscription", {"fields": ("subscription_plan", "subscription_status")}),
        (
            "Integrations (credentials are write-only: last 4 characters at most)",
            {
                "fields": (
                    ("twilio_configured", "twilio_account_sid_hint", "twilio_auth_token_hint"),
                    "twilio_phone_numbers",
                    ("ghl_configured", "ghl_api_key_hint", "ghl_location_id"),
                    ("elevenlabs_configured", "elevenlabs_api_key_hint", "elevenlabs_agent_id"),
                    ("calcom_configured", "calcom_api_key_hint"),
                )
            },
        ),
        ("Settings and limits", {"fields": ("settings", "limits", "usage_stats")}),
        ("Dates", {"fields": ("created_at", "updated_at", "last_login")}),
    )

    twilio_account_sid_hint = _credential_hint("twilio_account_sid", "Twilio Account SID")
    twilio_auth_token_hint = _credential_hint("twilio_auth_token", "Twilio auth token")
    ghl_api_key_hint = _credential_hint("ghl_api_key", "GoHighLevel API key")
    elevenlabs_api_key_hint = _credential_hint("elevenlabs_api_key", "ElevenLabs API key")
    calcom_api_key_hint = _credential_hint("calcom_api_key", "Cal.com API key")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return super().get_queryset(request).annotate(user_count=Count("users"))

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Only what the operator changed: a full-row save from a page loaded minutes ago
        # would write back the credential ciphertexts it read then.
        fields = [name for name in form.changed_data if name in {f.name for f in Account._meta.concrete_fields}]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])
            audit_record(
                account=obj, actor=request.user, action=AuditEvent.Action.ACCOUNT_UPDATED, details={"fields": fields}
            )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Accounts are cancelled, not bulk-deleted; the change page keeps a delete button.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="users", ordering="user_count")
    def user_count(self, account: Account) -> int:
        return getattr(account, "user_count", 0)

    twilio = _configured_icon("twilio_configured", "Twilio")
    ghl = _configured_icon("ghl_configured", "GHL")
    elevenlabs = _configured_icon("elevenlabs_configured", "ElevenLabs")
    calcom = _configured_icon("calcom_configured", "Cal.com")

    @admin.action(description="Suspend selected accounts (with the reason above)")
    def suspend_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._set_status(request, queryset, "suspend", "suspended", "Suspended by the platform operator.")

    @admin.action(description="Reactivate selected accounts")
    def reactivate_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._set_status(request, queryset, "reactivate", "reactivated", "")

    @admin.action(description="Cancel selected accounts (with the reason above)")
    def cancel_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._set_status(request, queryset, "cancel", "cancelled", "Cancelled by the platform operator.")

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Account], change: StatusChange, done: str, default: str
    ) -> None:
        reason = (request.POST.get("reason", "").strip() or default) if change != "reactivate" else ""
        changed, refused = 0, []
        for account in queryset:
            try:
                account_set_status(account=account, change=change, reason=reason, actor=request.user.get_username())
            except ApplicationError as exc:
                refused.append(f"{account.slug}: {exc.message}")
                continue
            changed += 1
            self.log_change(request, account, f"{done.capitalize()}: {reason}" if reason else done.capitalize())
        if changed:
            self.message_user(request, f"{changed} account{'s' if changed != 1 else ''} {done}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not {done}: {'; '.join(refused)}", messages.WARNING)


# --- Users ---------------------------------------------------------------------------------


def _check_staff_or_tenant(cleaned: dict[str, Any]) -> None:
    """Platform staff belong to no account; everyone else belongs to exactly one."""
    staff = bool(cleaned.get("is_staff") or cleaned.get("is_superuser"))
    if staff and cleaned.get("account"):
        raise ValidationError("Platform staff belong to no account: clear the account or the staff flags.")
    if not staff and not cleaned.get("account"):
        raise ValidationError("A tenant user needs an account (or tick “platform staff”).")


class _PlatformUserRules:
    """Email unique whatever its case; a user is platform staff or a tenant user, never both."""

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("A user with this email already exists.")
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check_staff_or_tenant(cleaned)
        return cleaned


class PlatformUserCreationForm(_PlatformUserRules, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "account", "role", "is_staff")


class PlatformUserChangeForm(_PlatformUserRules, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = PlatformUserChangeForm
    add_form = PlatformUserCreationForm
    list_display = ("email", "name", "account", "role", "is_staff", "is_superuser", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "role")
    list_select_related = ("account",)
    search_fields = ("email", "name", "account__name", "account__slug")
    ordering = ("email",)
    autocomplete_fields = ("account",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "language")}),
        ("Tenant", {"fields": ("account", "role")}),
        ("Platform access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "account", "role", "is_staff", "usable_password", "password1", "password2"),
            },
        ),
    )


# --- Invitations and the audit trail ---------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are made by the tenant's owners and admins; the operator can revoke."""

    list_display = ("email", "account", "role", "state", "invited_by", "created_at", "expires_at")
    list_filter = ("role", "created_at")
    list_select_related = ("account", "invited_by")
    search_fields = ("email", "account__name", "account__slug")
    date_hierarchy = "created_at"
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        for invitation in queryset.filter(accepted_at=None, revoked_at=None):
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_record(
                account=invitation.account,
                actor=request.user,
                action=AuditEvent.Action.INVITATION_REVOKED,
                target=invitation.email,
            )
        self.message_user(request, "Revoked.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The tenants' audit trails, read-only (they never hold a secret)."""

    list_display = ("created_at", "account", "actor_label", "action", "target", "ip")
    list_filter = ("action", "created_at")
    list_select_related = ("account",)
    search_fields = ("account__name", "account__slug", "actor_label", "target")
    date_hierarchy = "created_at"
    readonly_fields = ("account", "actor", "actor_label", "action", "target", "details", "ip", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
