"""Unit tests of eventgen.batches: cutting chunks into files of exactly batch-size lines."""

from __future__ import annotations

import pytest

from eventgen.batches import Batcher, Piece
from eventgen.groups import build_chunk


def _files(pieces: list[Piece]) -> list[list[Piece]]:
    files: list[list[Piece]] = [[]]
    for piece in pieces:
        files[-1].append(piece)
        if piece.last:
            files.append([])
    return files


@pytest.mark.parametrize("batch_size", [1, 2, 7, 100, 1234, 100_000])
def test_files_hold_exactly_batch_size_lines_and_the_rest(batch_size: int) -> None:
    """Pieces group into files of exactly batch_size lines (codes and bytes agree), except
    the last, which is left open (pending) with the rest; together the pieces give back
    every chunk byte for byte, cut at line boundaries."""
    chunks = [build_chunk(1, i, n) for i, n in enumerate([300, 1, 450, 77])]
    batcher = Batcher(batch_size)
    pieces = [p for chunk in chunks for p in batcher.cut(chunk)]
    total = sum(len(c.types) for c in chunks)
    files = _files(pieces)
    complete, rest = files[:-1], files[-1]
    for file in complete:
        assert sum(len(p.types) for p in file) == batch_size
        assert b"".join(bytes(p.lines) for p in file).count(b"\n") == batch_size
    assert len(complete) == total // batch_size
    assert batcher.pending == sum(len(p.types) for p in rest) == total % batch_size
    assert b"".join(bytes(p.lines) for p in pieces) == b"".join(c.data for c in chunks)
    assert b"".join(p.types for p in pieces) == b"".join(c.types for c in chunks)
    for piece in pieces:
        assert bytes(piece.lines).startswith(b'{"type"') and bytes(piece.lines).endswith(b"\n")
        assert bytes(piece.lines).count(b"\n") == len(piece.types)


def test_lines_filling_the_files_exactly_leave_nothing_pending() -> None:
    """When the lines fill the files exactly, the last piece completes a file and nothing is
    pending (so no empty last file)."""
    chunk = build_chunk(1, 0, 50)
    batcher = Batcher(len(chunk.types))
    pieces = batcher.cut(chunk)
    assert [p.last for p in pieces] == [True]
    assert batcher.pending == 0
