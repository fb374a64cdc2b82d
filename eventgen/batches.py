"""Cut the stream of chunks into files of exactly `batch_size` events (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from eventgen.groups import TIMESTAMP_PLACEHOLDER, Chunk, lines_length


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes `start`..`end` (whole lines) of one chunk's data, all stamped `stamp`.

    `types` are the pieces' line codes; `last` says the piece completes its file.
    """

    data: bytes | memoryview
    start: int
    end: int
    types: bytes
    last: bool
    stamp: bytes = TIMESTAMP_PLACEHOLDER

    @property
    def lines(self) -> memoryview:
        """The piece's bytes (no copy)."""
        return memoryview(self.data)[self.start:self.end]


@dataclass(slots=True)
class Batcher:
    """Cuts chunks (in order) into pieces of files of exactly `batch_size` lines.

    Cuts fall on line boundaries, computed from the line codes (every line of a type has the
    same length), so a group may straddle two files with its `Viewed` in the earlier one.
    Only a line count is kept between chunks: the pieces are written out at once, so memory
    does not depend on the batch size either.
    """

    batch_size: int
    pending: int = 0
    """Lines in the file being filled (0: no file open)."""

    def cut(self, chunk: Chunk) -> list[Piece]:
        """The chunk's pieces, in order; those with `last` complete a file."""
        pieces: list[Piece] = []
        taken = offset = 0
        total = len(chunk.types)
        while taken < total:
            take = min(self.batch_size - self.pending, total - taken)
            end_line = taken + take
            end = offset + lines_length(chunk.types, taken, end_line)
            self.pending = (self.pending + take) % self.batch_size
            pieces.append(Piece(chunk.data, offset, end, chunk.types[taken:end_line],
                                last=self.pending == 0, stamp=chunk.stamp))
            taken, offset = end_line, end
        return pieces
