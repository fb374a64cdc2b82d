"""Unique, sortable file names: `events-YYYY-MM-DD-HH-MM-SS-ffffff.json` in UTC."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable

NAME_PATTERN = re.compile(r"events-(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d{6})\.json")


def file_name(micros: int) -> str:
    """The file name for a publish time given in microseconds since the epoch (UTC)."""
    seconds, fraction = divmod(micros, 1_000_000)
    return time.strftime("events-%Y-%m-%d-%H-%M-%S", time.gmtime(seconds)) + f"-{fraction:06d}.json"


def event_timestamp(micros: int) -> bytes:
    """The `eventDateTime` value for a publish time: UTC, whole seconds (never later)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(micros // 1_000_000)).encode("ascii")


STAMP_PATTERN = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z")


@functools.lru_cache(maxsize=64)
def stamp_micros(stamp: bytes) -> int | None:
    """Inverse of `event_timestamp` (None for anything else, like the placeholder)."""
    match = STAMP_PATTERN.fullmatch(stamp)
    if match is None:
        return None
    return _utc_seconds(*(int(g) for g in match.groups())) * 1_000_000


def _utc_seconds(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """Seconds since the epoch of a UTC date and time (proleptic Gregorian; like
    calendar.timegm, without importing calendar: start-up time counts)."""
    year -= month <= 2
    era, year_of_era = divmod(year, 400)
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    return ((days * 24 + hour) * 60 + minute) * 60 + second


def publish_micros(name: str) -> int:
    """Inverse of `file_name`: the publish time in microseconds since the epoch."""
    match = NAME_PATTERN.fullmatch(name)
    if match is None:
        raise ValueError(f"not an event file name: {name!r}")
    year, month, day, hour, minute, second, fraction = (int(g) for g in match.groups())
    return _utc_seconds(year, month, day, hour, minute, second) * 1_000_000 + fraction


class NameClock:
    """Hands out publish times: the wall clock, but strictly increasing within this process.

    Each call returns a microsecond later than the previous one even if the clock steps
    back, so names sort in publish order; a name another process took is skipped by simply
    asking again.
    """

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._last = -1

    def next(self) -> int:
        """The next publish time, in microseconds since the epoch."""
        micros = max(self._clock() // 1000, self._last + 1)
        self._last = micros
        return micros
