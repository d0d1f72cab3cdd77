"""JWT classes: access tokens are signed with JWT_SECRET, refresh tokens with
JWT_REFRESH_SECRET, so neither key alone can mint the other kind of token.

Every token carries the user's `token_generation` ("gen"); "log out everywhere" bumps it, and
`token_user_check` refuses a token of an older generation, on the API (access tokens, through
accounts.authentication) and on the refresh path alike.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.tokens import RefreshToken as BaseRefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

GENERATION_CLAIM = "gen"


@lru_cache(maxsize=4)
def _refresh_backend(signing_key: str, issuer: str, audience: str) -> TokenBackend:
    return TokenBackend(
        api_settings.ALGORITHM,
        signing_key=signing_key,
        audience=audience,
        issuer=issuer,
        leeway=api_settings.LEEWAY,
    )


class RefreshToken(BaseRefreshToken):
    access_token_class = AccessToken

    def get_token_backend(self) -> TokenBackend:
        jwt = settings.SIMPLE_JWT
        return _refresh_backend(settings.JWT_REFRESH_SECRET, jwt["ISSUER"], jwt["AUDIENCE"])

    @classmethod
    def for_user(cls, user: Any) -> RefreshToken:
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation  # copied into its access tokens
        return token


def token_user_check(user: Any, token: Token) -> None:
    """The revocation rules every token passes, access or refresh (401 otherwise). DRF's own
    AuthenticationFailed: a plain message and code, in the one error shape."""
    if user is None or not user.is_active:
        raise AuthenticationFailed(_("No active account found for the given token."), code="no_active_account")
    if token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
    if token.get(GENERATION_CLAIM, 0) != user.token_generation:
        raise AuthenticationFailed(_("This session was ended; log in again."), code="token_revoked")
