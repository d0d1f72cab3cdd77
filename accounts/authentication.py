"""API authentication: simplejwt's, plus the revocation rules of accounts.tokens (so an access
token dies with "log out everywhere", not only when it expires)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.tokens import token_user_check


class JWTAuthentication(BaseJWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)  # also the password-change check
        token_user_check(user, validated_token)
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI description of the subclass above: the same bearer scheme."""

    target_class = "accounts.authentication.JWTAuthentication"
