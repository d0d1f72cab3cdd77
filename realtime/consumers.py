"""`/ws/events/`: an account's live events over a WebSocket.

Who may listen, and how they prove it:
- The dashboard: its session cookie (the handshake's Origin must be an allowed host, see
  `prixagent.asgi`).
- API clients (mobile apps): `Authorization: Bearer <access token>` on the handshake, or, where a
  client cannot set headers, `{"type": "auth", "token": "<access token>"}` as the first message
  within AUTH_TIMEOUT seconds. Never a token in the URL (it would end up in access logs).

Only active tenant users of active accounts are admitted; each joins its own account's group and
hears nothing else. The token is checked with the API's own authentication class, so every rule
of the REST API (issuer, audience, expiry, revocation) applies here too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings
from rest_framework_simplejwt.authentication import JWTAuthentication

from realtime.events import account_group

AUTH_TIMEOUT = 5.0
CLOSE_UNAUTHORIZED = 4401


class _HandshakeRequest:
    """What DRF's authentication classes read from a request: META and nothing else."""

    def __init__(self, authorization: str) -> None:
        self.META = {"HTTP_AUTHORIZATION": authorization}


def _jwt_authentication() -> JWTAuthentication:
    for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(cls, JWTAuthentication):
            return cls()
    return JWTAuthentication()


@database_sync_to_async
def user_for_token(authorization: str) -> Any:
    try:
        found = _jwt_authentication().authenticate(_HandshakeRequest(authorization))
    except AuthenticationFailed:
        return None
    return found[0] if found else None


@database_sync_to_async
def admitted_account_id(user: Any) -> object | None:
    if not user or not user.is_authenticated or not user.is_active or not user.account_id:
        return None
    return user.account_id if user.account.is_active else None


class AccountEventsConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    _auth_wait: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        await self.accept()
        header = dict(self.scope.get("headers") or {}).get(b"authorization", b"").decode("latin-1")
        if header:  # a client that sends a token means it: a refused one closes at once
            if not await self._join(await user_for_token(header)):
                await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if await self._join(self.scope.get("user") or AnonymousUser()):
            return
        self._auth_wait = asyncio.get_running_loop().call_later(AUTH_TIMEOUT, self._timeout)

    def _timeout(self) -> None:
        if self.group is None:
            asyncio.ensure_future(self.close(code=CLOSE_UNAUTHORIZED))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.group is not None:
            return  # listeners only; nothing to say to us once subscribed
        try:
            message = json.loads(text_data or "")
            token = str(message["token"]) if message.get("type") == "auth" else ""
        except (ValueError, TypeError, KeyError, AttributeError):
            token = ""
        if not token or not await self._join(await user_for_token(f"Bearer {token}")):
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def _join(self, user: Any) -> bool:
        account_id = await admitted_account_id(user)
        if account_id is None:
            return False
        self.group = account_group(account_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send(text_data=json.dumps({"type": "subscribed", "data": {}}))
        return True

    async def disconnect(self, code: int) -> None:
        if self._auth_wait is not None:
            self._auth_wait.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def account_event(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message["event"]))
