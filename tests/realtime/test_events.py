"""Live events reach the listening users of one account and nobody else, through the real
ASGI application (origin check, session and JWT auth) and the Redis channel layer."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from accounts.models import Account
from accounts.tokens import RefreshToken
from realtime import consumers
from realtime.events import realtime_publish
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


def bearer(user: Any) -> bytes:
    return f"Bearer {RefreshToken.for_user(user).access_token}".encode()


def run(scenario: Any) -> None:
    """Run an async scenario on a fresh event loop in its own thread: other tests (Playwright's
    sync API) may leave a loop attached to the main thread."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "scenario did not finish in 30 s"
    # Consumers' database work ran in asgiref's shared executor thread: close its connection, or
    # the test database cannot be dropped at the end of the run.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
    if failures:
        raise failures[0]


APP: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _asgi_application(transactional_db: None) -> None:
    from prixagent.asgi import application  # importing it checks the stored keys: needs the db

    APP["app"] = application


def asgi_application() -> Any:
    return APP["app"]


async def _connect(*headers: tuple[bytes, bytes]) -> tuple[WebsocketCommunicator, bool]:
    socket = WebsocketCommunicator(asgi_application(), "/ws/events/", headers=[ORIGIN, *headers])
    connected, _ = await socket.connect()
    return socket, connected


async def _next(socket: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await socket.receive_from(timeout=timeout))


def test_a_user_hears_their_accounts_events_and_not_another_accounts(alice, charlie):
    auth = bearer(alice)

    async def scenario() -> None:
        socket, connected = await _connect((b"authorization", auth))
        assert connected
        assert (await _next(socket))["type"] == "subscribed"
        await sync_publish(charlie.account_id, "call.updated", {"id": "charlie-call"})
        await sync_publish(alice.account_id, "call.updated", {"id": "alice-call"})
        event = await _next(socket)
        assert (event["type"], event["data"]) == ("call.updated", {"id": "alice-call"})
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_a_client_without_headers_authenticates_with_its_first_message(bob):
    token = str(RefreshToken.for_user(bob).access_token)

    async def scenario() -> None:
        socket, _ = await _connect()
        await socket.send_to(text_data=json.dumps({"type": "auth", "token": token}))
        assert (await _next(socket))["type"] == "subscribed"
        await sync_publish(bob.account_id, "campaign.progress", {"done": 3})
        assert (await _next(socket))["data"] == {"done": 3}
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize("message", ['{"type": "auth", "token": "garbage"}', "not json", '{"type": "hello"}'])
def test_a_bad_first_message_closes_the_socket(alice, message):
    async def scenario() -> None:
        socket, _ = await _connect()
        await socket.send_to(text_data=message)
        assert (await socket.receive_output(timeout=3))["code"] == consumers.CLOSE_UNAUTHORIZED

    run(scenario)


def test_an_unauthenticated_socket_is_closed_after_the_timeout(db, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT", 0.2)

    async def scenario() -> None:
        socket, _ = await _connect()
        assert (await socket.receive_output(timeout=3))["code"] == consumers.CLOSE_UNAUTHORIZED

    run(scenario)


def test_a_refresh_token_is_not_an_access_token(alice):
    auth = f"Bearer {RefreshToken.for_user(alice)}".encode()

    async def scenario() -> None:
        socket, _ = await _connect((b"authorization", auth))
        assert (await socket.receive_output(timeout=3))["code"] == consumers.CLOSE_UNAUTHORIZED

    run(scenario)


def test_the_dashboard_session_is_enough(alice):
    client = Client()
    client.login(email=alice.email, password=PASSWORD)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario() -> None:
        socket, _ = await _connect((b"cookie", cookie))
        assert (await _next(socket))["type"] == "subscribed"
        await socket.disconnect()

    run(scenario)


def test_a_page_on_another_site_cannot_open_a_socket(alice):
    auth = bearer(alice)

    async def scenario() -> None:
        socket = WebsocketCommunicator(
            asgi_application(),
            "/ws/events/",
            headers=[(b"origin", b"https://evil.example"), (b"authorization", auth)],
        )
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_a_suspended_account_hears_nothing(alice):
    Account.objects.filter(pk=alice.account_id).update(status=Account.Status.SUSPENDED)
    auth = bearer(alice)

    async def scenario() -> None:
        socket, _ = await _connect((b"authorization", auth))
        assert (await socket.receive_output(timeout=3))["code"] == consumers.CLOSE_UNAUTHORIZED

    run(scenario)


async def sync_publish(account_id: object, type_: str, data: dict[str, Any]) -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(realtime_publish)(account_id=account_id, type=type_, data=data)
