"""Unit tests of eventstream.parser: the fast path agrees exactly with the slow path."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from eventstream.parser import (
    CANONICAL_LINE,
    MAX_LINE_BYTES,
    count_lines,
    count_lines_slowly,
    event_type,
)
from tests.stream_support import event_line

Invalid = list[tuple[int, str, bytes]]


def both(data: bytes, first_line: int = 1) -> tuple[Counter[str], Invalid, Counter[str], Invalid]:
    """Run the fast and the slow path on the same data."""
    fast_invalid: Invalid = []
    slow_invalid: Invalid = []
    fast, lines = count_lines(
        data, first_line=first_line, on_invalid=lambda *item: fast_invalid.append(item)
    )
    assert lines == len(data.removesuffix(b"\n").split(b"\n")) if data else lines == 0
    slow = count_lines_slowly(
        data, first_line=first_line, on_invalid=lambda *item: slow_invalid.append(item)
    )
    return fast, fast_invalid, slow, slow_invalid


def mutations(line: bytes, rng: random.Random) -> bytes:
    """A near miss of a canonical line: one byte changed, dropped or doubled."""
    position = rng.randrange(len(line) - 1)
    choice = rng.randrange(3)
    if choice == 0:
        replacement = bytes([rng.choice(b'"\\{}[]:, \x00\xff\x7f0aZ-\t')])
        return line[:position] + replacement + line[position + 1 :]
    if choice == 1:
        return line[:position] + line[position + 1 :]
    return line[:position] + line[position : position + 1] * 2 + line[position + 1 :]


def test_fast_path_equals_slow_path_on_a_mixed_corpus() -> None:
    """Canonical lines, near misses, spaced variants, junk and blanks: identical counts and
    identical invalid lines (number, reason, text) from both paths."""
    rng = random.Random(7)
    lines: list[bytes] = []
    for _ in range(20_000):
        kind = rng.choice(["Viewed", "Interacted", "Click-Through", "Other", "Viewed"])
        line = event_line(kind, spaced=rng.random() < 0.1)
        roll = rng.random()
        if roll < 0.3:
            line = mutations(line[:-1], rng) + b"\n"
        elif roll < 0.35:
            line = rng.choice([b"\n", b"   \n", b"\t\n", b"[]\n", b"\xff\n", b'{"type": 1}\n'])
        lines.append(line)
    data = b"".join(lines)
    fast, fast_invalid, slow, slow_invalid = both(data, first_line=5)
    assert fast == slow
    assert fast_invalid == slow_invalid
    assert sum(fast.values()) > 10_000 and len(fast_invalid) > 1_000


def test_canonical_lines_take_the_fast_path_only_when_valid() -> None:
    """The regex matches generator lines and nothing a JSON parser would read differently."""
    line = event_line("Click-Through").rstrip(b"\n")
    assert CANONICAL_LINE.fullmatch(line)
    for near in (line.replace(b'"type"', b'"typ\\u0065"'), line + b" ", line.replace(b"}}", b"}")):
        assert not CANONICAL_LINE.fullmatch(near)


def test_unterminated_last_line_and_line_numbers() -> None:
    """A last line without newline is a line; invalid lines carry their file line number."""
    data = event_line("Viewed") + b"\nbad\n" + event_line("Interacted") + b"[1]"
    fast, fast_invalid, slow, slow_invalid = both(data, first_line=10)
    assert fast == slow == Counter({"Viewed": 1, "Interacted": 1})
    assert fast_invalid == slow_invalid == [
        (12, "invalid JSON", b"bad"),
        (14, "not a JSON object", b"[1]"),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{", "invalid JSON"),
        (b"\xc3(", "invalid UTF-8"),
        (b"[" * 200_000, "invalid JSON"),
        (b"42", "not a JSON object"),
        (b'{"type": null}', "no string type"),
        (b"x" * (MAX_LINE_BYTES + 1), "line over 1 MiB"),
    ],
)
def test_event_type_names_the_reason(line: bytes, reason: str) -> None:
    """Each kind of invalid line raises ValueError with its reason."""
    with pytest.raises(ValueError, match=reason):
        event_type(line)


def test_event_type_of_a_valid_object() -> None:
    """A JSON object with a string type gives the type (duplicate keys: the last wins)."""
    assert event_type(b'{"type": "A", "type": "B", "data": []}') == "B"
    assert event_type(b' {"type":"\\u00e9"} \r') == "\u00e9"


def test_invalid_text_is_cut_to_one_kibibyte() -> None:
    """The text handed to the invalid-line sink is at most 1 KiB."""
    seen: Invalid = []
    count_lines(b"y" * 5000 + b"\n", first_line=1, on_invalid=lambda *item: seen.append(item))
    assert seen == [(1, "invalid JSON", b"y" * 1024)]


@pytest.mark.parametrize("blank", [b"\x0b", b"\x0c", b" \x0b\t"])
def test_only_json_whitespace_makes_a_blank_line(blank: bytes) -> None:
    """Blank means only space, tab or CR (JSON's whitespace): a vertical tab or form feed
    line is an invalid line, on both paths."""
    data = event_line("Viewed") + blank + b"\n \t\r\n" + event_line("Viewed")
    fast, fast_invalid, slow, slow_invalid = both(data, first_line=1)
    assert fast == slow == Counter({"Viewed": 2})
    assert fast_invalid == slow_invalid == [(2, "invalid JSON", blank)]
