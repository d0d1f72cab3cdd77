"""API shapes for accounts, users and tokens. Secrets are never fields here."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_simplejwt import serializers as jwt_serializers

from accounts import services
from accounts.models import PROVIDER_SECRETS, Account, User
from accounts.tokens import RefreshToken
from prixagent.serializers import CachedFieldsModelSerializer


class AccountSerializer(CachedFieldsModelSerializer):
    integrations = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "slug",
            "email",
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
        value = value.strip().lower()
        if Account.objects.filter(email__iexact=value).exclude(pk=self.instance.pk).exists():
            raise serializers.ValidationError(_("Another account uses this email."))
        return value

    def validate_default_country(self, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isascii() or not value.isalpha():
            raise serializers.ValidationError(_("Use a two-letter country code, e.g. US or ES."))
        return value

    def validate_time_zone(self, value: str) -> str:
        if value not in available_timezones():
            raise serializers.ValidationError(_("Use an IANA time zone, e.g. America/New_York."))
        return value

    def validate_settings(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Settings must be a JSON object."))
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


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(required=False, allow_blank=True, default="")
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=User.Role.choices, default=User.Role.MEMBER)


class RegisterSerializer(serializers.Serializer):
    account_name = serializers.CharField(max_length=255)
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def create(self, validated_data: dict[str, Any]) -> User:
        _account, user = services.account_signup(**validated_data)
        return user


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterResponseSerializer(TokenPairSerializer):
    user = UserSerializer()
    account = AccountSerializer()


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
    token_class = RefreshToken


class LogoutSerializer(jwt_serializers.TokenBlacklistSerializer):
    token_class = RefreshToken
