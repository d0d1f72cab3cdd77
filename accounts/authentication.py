"""API authentication: simplejwt's, plus the revocation rules of accounts.tokens (so an access
token dies with "log out everywhere", not only when it expires)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.principal import principal_get
from accounts.tokens import token_user_check


class JWTAuthentication(BaseJWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken(_("Token contained no recognizable user identification")) from None
        # The user and account rows come from accounts.principal (kept per process, checked
        # against a version in Redis) instead of a query per request.
        user = principal_get(user_id)
        token_user_check(user, validated_token)  # active, password unchanged, not logged out
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI description of the subclass above: the same bearer scheme."""

    target_class = "accounts.authentication.JWTAuthentication"
