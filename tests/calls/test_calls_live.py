"""Live status: a call's changes reach the account's open pages and API clients (WebSocket), and
nobody else's."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from accounts.models import User
from calls.lifecycle import call_apply_twilio
from calls.models import Call
from tests.realtime.test_events import _asgi_application, _connect, _next, bearer, run  # noqa: F401 - fixture


def test_an_api_client_hears_its_calls_progress_and_charlie_hears_nothing(
    provider_sandbox: Any, call: Call, alice: User, charlie: User
) -> None:
    alice_auth, charlie_auth = bearer(alice), bearer(charlie)

    async def scenario() -> None:
        mine, connected = await _connect((b"authorization", alice_auth))
        theirs, also = await _connect((b"authorization", charlie_auth))
        assert connected and also
        assert (await _next(mine))["type"] == (await _next(theirs))["type"] == "subscribed"
        params = {"CallSid": call.twilio_call_sid, "CallStatus": "ringing", "SequenceNumber": "1"}
        await database_sync_to_async(call_apply_twilio)(call_id=call.pk, params=params)
        event = await _next(mine)
        assert event["type"] == "call.updated"
        assert (event["data"]["id"], event["data"]["status"], event["data"]["to"]) == (
            str(call.pk),
            "ringing",
            call.to_number,
        )
        assert await theirs.receive_nothing(timeout=0.3)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)
