"""Publishing live events to an account's open pages and API clients.

    realtime_publish(account_id=call.account_id, type="call.updated", data={"id": ..., "status": ...})

Each account has one group; every WebSocket of that account's users is in it, nobody else's.
Events go out after the surrounding transaction commits (a rolled-back change is never
announced). Publishing never fails the caller: live updates are a convenience, the pages and the
API always show the stored truth.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def account_group(account_id: object) -> str:
    return f"account.{account_id}"


def realtime_publish(*, account_id: object, type: str, data: dict[str, Any]) -> None:  # noqa: A002
    event = {"type": type, "data": data, "at": timezone.now().isoformat()}
    transaction.on_commit(lambda: _send(account_group(account_id), event))


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "account.event", "event": event})
    except Exception:  # noqa: BLE001 - a broken channel layer must not break the write that published
        logger.warning("realtime event %s to %s not sent", event["type"], group, exc_info=True)
