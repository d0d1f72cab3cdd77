"""JWT classes: access tokens are signed with JWT_SECRET, refresh tokens with
JWT_REFRESH_SECRET, so neither key alone can mint the other kind of token."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.tokens import RefreshToken as BaseRefreshToken


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
