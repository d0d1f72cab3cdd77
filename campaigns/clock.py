"""The dialer's clock: `timezone.now()`, unless a test (or the demo) set it.

Calling windows are decided on this clock, so a test can walk a campaign across a DST change or
a midnight in Madrid without waiting for one::

    with clock.frozen(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)):
        dialer.campaigns_tick()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else timezone.now()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    global _frozen
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous
