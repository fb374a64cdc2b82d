"""One counting pass over an open file: reader + parser, with the line numbers kept right."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eventstream.parser import InvalidSink, count_lines
from eventstream.reader import Oversized, ReadPass


@dataclass(frozen=True)
class PassEnd:
    """Where the pass stopped: the next offset, whether inside an oversized line, next line."""

    offset: int
    skipping: bool
    next_line: int


def count_pass(
    fd: int,
    *,
    offset: int,
    end: int,
    skipping: bool,
    next_line: int,
    final: bool,
    add: Callable[[Mapping[str, int]], None],
    on_invalid: InvalidSink,
) -> PassEnd:
    """Count the complete lines of `fd` from `offset` up to `end`, block by block.

    Each block's counts go to `add` (so the caller bounds what it keeps), invalid lines to
    `on_invalid` with their line numbers.
    """
    line = next_line
    reading = ReadPass(fd, offset=offset, end=end, skipping=skipping, final=final)
    for piece in reading:
        if isinstance(piece, Oversized):
            on_invalid(line, "line over 1 MiB", piece.head)
            line += 1
            continue
        counts, lines = count_lines(piece, first_line=line, on_invalid=on_invalid)
        add(counts)
        line += lines
    return PassEnd(reading.offset, reading.skipping, line)
