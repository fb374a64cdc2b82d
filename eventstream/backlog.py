"""Counting a big backlog on several cores (`--once`): the worker side.

The parent plans one `Job` per file (its state, offsets and identity stay in the parent),
a worker process counts the file's region and returns an `Outcome`, and the parent applies
outcomes in name order, exactly as a serial pass would. A worker that meets something it
cannot hand back cheaply (too many distinct types or too much type-name text, too many
invalid lines, a replaced file) returns None and the parent counts that file itself, so
results never depend on the path taken.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from eventstream.passes import PassEnd, count_pass
from eventstream.reader import OPEN_FLAGS

MAX_WORKER_TYPES = 4096  # more distinct types in one file: the parent counts it
MAX_WORKER_INVALID = 10_000  # more invalid lines in one file: the parent counts it
MAX_WORKER_NAME_CHARS = 1 << 20  # type names longer in all, in one file: the parent counts it


@dataclass(frozen=True, kw_only=True)
class Job:
    """Count `path` (which must still be inode `inode`) from `offset` to `end`, to its end."""

    path: str
    inode: int
    offset: int
    end: int
    next_line: int
    skipping: bool


@dataclass(frozen=True)
class Outcome:
    """A worker's result: counts in first-appearance order, invalid lines, where it ended."""

    counts: dict[str, int]
    invalid: list[tuple[int, str, bytes]]
    end: PassEnd


class _TooMuch(Exception):
    """The outcome would not stay small: let the parent count this file."""


def ignore_signals() -> None:
    """Pool initializer: SIGINT / SIGTERM are the parent's business (it stops between files)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def count_job(job: Job) -> Outcome | None:
    """Run in a worker: count one file's region, or None to have the parent do it."""
    try:
        fd = os.open(job.path, OPEN_FLAGS)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_ino != job.inode:
            return None
        counts: Counter[str] = Counter()
        invalid: list[tuple[int, str, bytes]] = []
        name_chars = 0

        def add(block: Mapping[str, int]) -> None:
            nonlocal name_chars
            name_chars += sum(len(kind) for kind in block if kind not in counts)
            counts.update(block)
            if len(counts) > MAX_WORKER_TYPES or name_chars > MAX_WORKER_NAME_CHARS:
                raise _TooMuch

        def on_invalid(line: int, reason: str, text: bytes) -> None:
            invalid.append((line, reason, text))
            if len(invalid) > MAX_WORKER_INVALID:
                raise _TooMuch

        end = count_pass(
            fd, offset=job.offset, end=job.end, skipping=job.skipping, next_line=job.next_line,
            final=True, add=add, on_invalid=on_invalid,
        )  # fmt: skip
        return Outcome(dict(counts), invalid, end)
    except (_TooMuch, OSError):
        return None
    finally:
        os.close(fd)
