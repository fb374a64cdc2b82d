"""Unit tests of eventgen.naming: file names, timestamps and the strictly increasing clock."""

from __future__ import annotations

import re
from collections.abc import Iterator

from eventgen.naming import NameClock, event_timestamp, file_name, publish_micros, stamp_micros

EPOCH_2017 = 1_494_787_649_879_763  # 2017-05-14 18:47:29.879763 UTC in microseconds


def test_file_name_matches_the_challenge_example() -> None:
    """The name is events-YYYY-MM-DD-HH-MM-SS-ffffff.json in UTC."""
    assert file_name(EPOCH_2017) == "events-2017-05-14-18-47-29-879763.json"
    assert file_name(0) == "events-1970-01-01-00-00-00-000000.json"


def test_publish_micros_inverts_file_name() -> None:
    """Parsing a name gives back the microsecond it was made from."""
    for micros in (0, EPOCH_2017, EPOCH_2017 + 1, 4_102_444_800_000_000 - 1):
        assert publish_micros(file_name(micros)) == micros


def test_event_timestamp_is_the_utc_second_never_later() -> None:
    """eventDateTime is the publish time truncated to the second, ending in Z."""
    assert event_timestamp(EPOCH_2017) == b"2017-05-14T18:47:29Z"
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event_timestamp(0))


def test_names_sort_in_time_order() -> None:
    """Fixed-width names sort like the times they carry."""
    times = [0, 9, 10, 999_999, 1_000_000, EPOCH_2017, EPOCH_2017 + 86_400_000_000]
    assert sorted(file_name(t) for t in times) == [file_name(t) for t in times]


def test_the_clock_is_strictly_increasing_even_when_the_wall_clock_steps_back() -> None:
    """Equal or earlier wall-clock readings still give a strictly later time (+1 us)."""
    readings: Iterator[int] = iter([5_000_000_000, 5_000_000_000, 4_000_000_000, 6_000_000_000])
    clock = NameClock(clock=lambda: next(readings))
    assert [clock.next() for _ in range(4)] == [5_000_000, 5_000_001, 5_000_002, 6_000_000]


def test_stamp_micros_inverts_event_timestamp_and_rejects_the_rest() -> None:
    """A stamp parses back to its second; the placeholder or junk gives None."""
    for micros in (0, EPOCH_2017, 951_782_400_000_000):  # 2000-02-29 (leap day)
        assert stamp_micros(event_timestamp(micros)) == micros // 1_000_000 * 1_000_000
    assert stamp_micros(b"YYYY-MM-DDTHH:MM:SSZ") is None
    assert stamp_micros(b"2017-05-14 18:47:29Z") is None
