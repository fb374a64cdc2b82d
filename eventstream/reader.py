"""One read pass over a file: from a byte offset, complete lines only, in bounded blocks.

The pass reads up to the size the file had when it started, in blocks of `BLOCK_BYTES`,
and yields runs of whole lines. A partial last line stays unread (its bytes are read again
next time) unless the pass is `final`. A line longer than `MAX_LINE_BYTES` is reported as
`Oversized` once (with its first KiB) and skipped up to its newline without being held in
memory; the skip may continue into a later pass while the writer is still writing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from eventstream.parser import DEAD_LETTER_TEXT_BYTES, MAX_LINE_BYTES

BLOCK_BYTES = 4 << 20
# Event files are opened read-only, never through a symlink, never blocking (a FIFO).
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class Oversized:
    """A line over the limit: its first KiB, for the dead letter."""

    head: bytes


class ReadPass:
    """Iterate to get `bytes` (whole lines) and `Oversized` items; then read `offset`/`skipping`.

    `offset` is where the next pass starts; `skipping` says the pass ended inside an
    oversized line whose newline has not been seen yet.
    """

    def __init__(
        self,
        fd: int,
        *,
        offset: int,
        end: int,
        skipping: bool = False,
        final: bool = False,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        self._fd = fd
        self._end = end
        self._final = final
        self._block_bytes = block_bytes
        self.offset = offset
        self.skipping = skipping

    def __iter__(self) -> Iterator[bytes | Oversized]:
        position = self.offset
        carry = b""
        while position < self._end:
            block = os.pread(self._fd, min(self._block_bytes, self._end - position), position)
            if not block:  # the file shrank under us; the next pass will notice
                break
            position += len(block)
            if self.skipping:
                newline = block.find(b"\n")
                if newline < 0:
                    self.offset = position
                    continue
                self.skipping = False
                block = block[newline + 1 :]
            data = carry + block if carry else block
            last = data.rfind(b"\n")
            carry = data[last + 1 :] if last >= 0 else data
            self.offset = position - len(carry)
            if last >= 0:
                yield data[: last + 1]
            if len(carry) > MAX_LINE_BYTES:
                self.skipping = True
                self.offset = position
                head, carry = carry[:DEAD_LETTER_TEXT_BYTES], b""
                yield Oversized(head)
        if self._final:
            # Nobody writes any more: the unterminated last line is complete.
            if carry:
                yield carry
            self.offset = position
            self.skipping = False
