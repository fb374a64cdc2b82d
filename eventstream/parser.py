"""Pure parsing: a block of complete lines -> per-type counts, plus the invalid lines.

Hot path: a precompiled bytes regex that matches only the generator's canonical line shape,
built from strictly JSON-safe characters, so every line it matches is valid JSON with that
string `type`; those lines are counted in C (`findall` + `Counter`). Every other non-blank
line goes through `ujson.loads`, which decides validity and the type. A unit test checks
that both paths agree on a mixed corpus.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import ujson

MAX_LINE_BYTES = 1 << 20  # a longer line is invalid, and never held in memory whole
DEAD_LETTER_TEXT_BYTES = 1 << 10

# Only JSON-safe characters inside the strings: no quote, backslash or control character.
CANONICAL_LINE = re.compile(
    rb'^\{"type": "(Viewed|Interacted|Click-Through)", "data": \{"viewId": "[0-9a-f-]{36}", '
    rb'"eventDateTime": "[0-9T:Z.+-]{1,40}"\}\}$',
    re.MULTILINE,
)
_NON_BLANK_LINE = re.compile(rb"[^\n]+")
JSON_WHITESPACE = b" \t\r"  # with the newline: a line of only these is blank


def is_blank(line: bytes) -> bool:
    """Whether `line` (without its newline) holds only JSON whitespace (not \\v or \\f)."""
    return not line.strip(JSON_WHITESPACE)


# Called for each invalid line: (line number, reason, raw line, cut to DEAD_LETTER_TEXT_BYTES).
InvalidSink = Callable[[int, str, bytes], None]


def event_type(line: bytes) -> str:
    """Return the event type of one non-blank line, or raise ValueError naming the reason."""
    if len(line) > MAX_LINE_BYTES:
        raise ValueError("line over 1 MiB")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("invalid UTF-8") from None
    try:
        value: Any = ujson.loads(text)
    except (ValueError, RecursionError, OverflowError):
        raise ValueError("invalid JSON") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ValueError("no string type")
    return kind


def count_lines(
    data: bytes, *, first_line: int, on_invalid: InvalidSink
) -> tuple[Counter[str], int]:
    """Count the events in `data`, a block of whole lines (the last may lack its newline);
    return the counts and the number of lines in `data`.

    `first_line` is the 1-based number of the block's first line in its file, used only to
    name invalid lines. Blank lines (only JSON whitespace) are ignored.
    """
    fast = CANONICAL_LINE.findall(data)
    counts: Counter[str] = Counter({kind.decode(): n for kind, n in Counter(fast).items()})
    total_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if len(fast) == total_lines:
        return counts, total_lines
    # Slow path: blank out the canonical lines (keeping their newlines, so line numbers hold)
    # and look at what is left, one line at a time.
    rest = CANONICAL_LINE.sub(b"", data)
    line_number, position = first_line, 0
    for match in _NON_BLANK_LINE.finditer(rest):
        line_number += rest.count(b"\n", position, match.start())
        position = match.start()
        line = match.group()
        _count_line(counts, line, line_number, on_invalid)
    return counts, total_lines


def count_lines_slowly(data: bytes, *, first_line: int, on_invalid: InvalidSink) -> Counter[str]:
    """The reference path: every line through `event_type` (tests compare the two)."""
    counts: Counter[str] = Counter()
    for number, line in enumerate(data.split(b"\n"), start=first_line):
        _count_line(counts, line, number, on_invalid)
    return counts


def _count_line(counts: Counter[str], line: bytes, number: int, on_invalid: InvalidSink) -> None:
    """Count one line by its type, or hand it to `on_invalid`; a blank line is skipped."""
    if is_blank(line):
        return
    try:
        counts[event_type(line)] += 1
    except ValueError as error:
        on_invalid(number, str(error), line[:DEAD_LETTER_TEXT_BYTES])
