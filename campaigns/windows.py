"""When a contact may be called: the campaign's dates, weekdays and daily window, in the
contact's own time zone (IANA, so DST is the zone's business, not ours).

Everything here is pure: a campaign's schedule, a zone name and an instant in, an instant out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The furthest ahead any zone's calendar runs (Kiribati, UTC+14) and behind (UTC-12): a date
# has begun somewhere at its 00:00 in UTC+14 and is over everywhere at its 24:00 in UTC-12.
EARLIEST = ZoneInfo("Etc/GMT-14")
LATEST = ZoneInfo("Etc/GMT+12")


class Schedule(Protocol):
    start_date: date | None
    end_date: date | None
    weekdays: list[int]
    window_start: time
    window_end: time


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # contacts always carry a valid zone; this is the last resort


def _opening(day: date, at: time, tz: ZoneInfo) -> datetime:
    # fold=0: in a repeated hour (autumn) the first one; in a skipped hour (spring) zoneinfo
    # moves the wall time forward, so a window starting at 02:30 on that day starts at 03:30.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def next_opening(schedule: Schedule, zone_name: str, now: datetime) -> datetime | None:
    """`now` if the contact may be called now; else the next moment they may; None if never
    again (the campaign's last day is over in their zone)."""
    tz = zone(zone_name)
    local = now.astimezone(tz)
    day = local.date()
    if schedule.start_date and day < schedule.start_date:
        day = schedule.start_date
    weekdays = set(schedule.weekdays or range(7))
    for _ in range(8):  # a week covers every weekday
        if schedule.end_date and day > schedule.end_date:
            return None
        if day.weekday() in weekdays:
            start = _opening(day, schedule.window_start, tz)
            end = _opening(day, schedule.window_end, tz)
            if now < start:
                return start.astimezone(UTC)
            if now < end:
                return now
        day += timedelta(days=1)
    return None


def is_open(schedule: Schedule, zone_name: str, now: datetime) -> bool:
    return next_opening(schedule, zone_name, now) == now


def first_day_begins(schedule: Schedule) -> datetime | None:
    """The first instant the campaign's first day has begun in some zone (None: no first day)."""
    if not schedule.start_date:
        return None
    return datetime.combine(schedule.start_date, time(0), tzinfo=EARLIEST).astimezone(UTC)


def last_day_over(schedule: Schedule, now: datetime) -> bool:
    """True once the campaign's last day is over in every zone."""
    if not schedule.end_date:
        return False
    return now >= datetime.combine(schedule.end_date + timedelta(days=1), time(0), tzinfo=LATEST)


def window_seconds_per_day(schedule: Schedule) -> int:
    start = schedule.window_start.hour * 3600 + schedule.window_start.minute * 60
    end = schedule.window_end.hour * 3600 + schedule.window_end.minute * 60
    return max(end - start, 0)
