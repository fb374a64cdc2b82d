"""Unit tests of eventstream.reader: complete lines only, bounded, resumable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventstream.parser import MAX_LINE_BYTES
from eventstream.reader import Oversized, ReadPass


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A file and a read-only descriptor on it."""
    path = tmp_path / "events-1.json"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    yield path, fd
    os.close(fd)


def read(fd: int, path: Path, offset: int = 0, **kwargs: object) -> tuple[list[object], ReadPass]:
    """One pass up to the current size."""
    reading = ReadPass(fd, offset=offset, end=path.stat().st_size, **kwargs)  # type: ignore[arg-type]
    return list(reading), reading


def test_partial_last_line_is_left_for_later(opened: tuple[Path, int]) -> None:
    """Only whole lines come out; the offset stops at the partial line."""
    path, fd = opened
    path.write_bytes(b"a\nbb\ncc")
    pieces, reading = read(fd, path)
    assert (pieces, reading.offset) == ([b"a\nbb\n"], 5)
    with open(path, "ab") as handle:
        handle.write(b"c\nd")
    pieces, reading = read(fd, path, offset=5)
    assert (pieces, reading.offset) == ([b"ccc\n"], 9)


def test_final_pass_takes_the_unterminated_line(opened: tuple[Path, int]) -> None:
    """When the writer is done the last line counts even without its newline."""
    path, fd = opened
    path.write_bytes(b"a\nb")
    pieces, reading = read(fd, path, final=True)
    assert (pieces, reading.offset) == ([b"a\n", b"b"], 3)


def test_small_blocks_join_lines_across_block_edges(opened: tuple[Path, int]) -> None:
    """Lines that straddle read blocks come out whole, in order."""
    path, fd = opened
    data = b"".join(b"line %d\n" % n for n in range(1000))
    path.write_bytes(data)
    pieces, reading = read(fd, path, block_bytes=7)
    assert b"".join(pieces) == data  # type: ignore[arg-type]
    assert reading.offset == len(data)


def test_oversized_line_is_skipped_without_being_kept(opened: tuple[Path, int]) -> None:
    """A line over 1 MiB is reported once with its first KiB, and skipped to its newline."""
    path, fd = opened
    path.write_bytes(b"a\n" + b"x" * (3 * MAX_LINE_BYTES) + b"\nb\n")
    pieces, reading = read(fd, path, block_bytes=64 * 1024)
    assert pieces == [b"a\n", Oversized(b"x" * 1024), b"b\n"]
    assert (reading.offset, reading.skipping) == (path.stat().st_size, False)


def test_oversized_line_still_being_written_is_skipped_across_passes(
    opened: tuple[Path, int],
) -> None:
    """The skip goes on in the next pass until the newline arrives; nothing is re-reported."""
    path, fd = opened
    path.write_bytes(b"z" * (MAX_LINE_BYTES + 10))
    pieces, reading = read(fd, path)
    assert pieces == [Oversized(b"z" * 1024)]
    assert (reading.offset, reading.skipping) == (MAX_LINE_BYTES + 10, True)
    with open(path, "ab") as handle:
        handle.write(b"zzz")
    pieces, reading = read(fd, path, offset=reading.offset, skipping=True)
    assert (pieces, reading.skipping) == ([], True)
    with open(path, "ab") as handle:
        handle.write(b"zz\nok\n")
    pieces, reading = read(fd, path, offset=reading.offset, skipping=True)
    assert (pieces, reading.offset, reading.skipping) == ([b"ok\n"], path.stat().st_size, False)
