"""API shapes for accounts, users and tokens. Secrets are never fields here."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

from accounts import services
from accounts.models import PROVIDER_SECRETS, Account, AuditEvent, Invitation, User
from accounts.tokens import RefreshToken, token_user_check
from prixagent.serializers import CachedFieldsModelSerializer


class AccountSerializer(CachedFieldsModelSerializer):
    integrations = serializers.SerializerMethodField()
    email_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "slug",
            "email",
            "email_verified",
            "pending_email",
            "status",
            "status_reason",
            "subscription_plan",
            "subscription_status",
            "integrations",
            "default_country",
            "time_zone",
            "settings",
            "limits",
            "usage_stats",
            "created_at",
            "updated_at",
            "last_login",
        ]
        read_only_fields = [
            "id",
            "slug",
            "pending_email",
            "status",
            "status_reason",
            "subscription_plan",
            "subscription_status",
            "limits",
            "usage_stats",
            "created_at",
            "updated_at",
            "last_login",
        ]

    def get_integrations(self, account: Account) -> dict[str, bool]:
        return {provider: getattr(account, flag) for provider, (_cols, flag) in PROVIDER_SECRETS.items()}

    def validate_email(self, value: str) -> str:
        # Whether another account uses it is not said here (no oracle): the confirmation
        # email decides, and until it is followed the old address stays (services.account_update).
        return value.strip().lower()

    def validate_default_country(self, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isascii() or not value.isalpha():
            raise serializers.ValidationError(_("Use a two-letter country code, e.g. US or ES."))
        return value

    def validate_time_zone(self, value: str) -> str:
        if value not in available_timezones():
            raise serializers.ValidationError(_("Use an IANA time zone, e.g. America/New_York."))
        return value


class UserSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "language", "is_active", "date_joined", "last_login"]
        read_only_fields = ["id", "email", "date_joined", "last_login"]


class MeSerializer(UserSerializer):
    account = AccountSerializer(read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "account"]
        read_only_fields = [*UserSerializer.Meta.read_only_fields, "role", "is_active"]


class InvitationCreateSerializer(serializers.Serializer):
    """`POST account/users/`: an invitation. The invitee chooses their own password."""

    email = serializers.EmailField(max_length=255)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=User.Role.choices, default=User.Role.MEMBER)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "password" in getattr(self, "initial_data", {}):
            raise serializers.ValidationError(
                {"password": [_("Not accepted: new members get an invitation and choose their own password.")]}
            )
        return attrs


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    invited_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "name", "role", "state", "invited_by", "created_at", "expires_at", "accepted_at"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "actor", "target", "details", "ip", "created_at"]
        read_only_fields = fields


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RegisterSerializer(serializers.Serializer):
    account_name = serializers.CharField(max_length=255)
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class TokenObtainSerializer(jwt_serializers.TokenObtainPairSerializer):
    token_class = RefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        attrs[self.username_field] = str(attrs.get(self.username_field, "")).strip().lower()
        data = super().validate(attrs)
        services.user_record_login(user=self.user)
        # Token logins join the security event log like session logins do.
        user_logged_in.send(sender=type(self.user), request=self.context.get("request"), user=self.user)
        return data


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """A refresh token passes the same revocation rules as an access token (password changed,
    logged out everywhere, user deactivated or deleted) before it is rotated."""

    token_class = RefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        token = _refresh_token(attrs["refresh"])
        user_id = token.payload.get(api_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first() if user_id else None
        token_user_check(user, token)
        return super().validate(attrs)


class LogoutSerializer(jwt_serializers.TokenBlacklistSerializer):
    token_class = RefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _refresh_token(attrs["refresh"])  # garbage or an access token: 401, not a 500
        return super().validate(attrs)


def _refresh_token(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError:
        raise AuthenticationFailed(_("Token is invalid or expired."), code="token_not_valid") from None
