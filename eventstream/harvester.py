"""The owner of per-file state: reads each file from its offset and applies its counts.

Called only from one thread (the parser thread, or the main thread with `--once`). Each call
to `harvest` is one read pass over one file: its counts reach the tally in one step, so a
report never shows part of a pass, and the offsets move in the same thread, so a checkpoint
taken between passes is always consistent with the totals.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections.abc import Callable

from eventstream.backlog import Job, Outcome
from eventstream.checkpoint import Checkpoint, FileState
from eventstream.deadletter import DeadLetter
from eventstream.passes import PassEnd, count_pass
from eventstream.scanner import scan
from eventstream.tally import Batch, Tally

log = logging.getLogger(__name__)

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class InvalidLines:
    """Counts a pass's invalid lines (for the one warning) and forwards them to a dead letter."""

    def __init__(self, path: str, dead_letter: DeadLetter | None) -> None:
        self._path = path
        self._dead_letter = dead_letter
        self.count = 0
        self.first = 0

    def __call__(self, line: int, reason: str, text: bytes) -> None:
        if not self.count:
            self.first = line
        self.count += 1
        if self._dead_letter is not None:
            self._dead_letter.write(self._path, line, reason, text)


class Harvester:
    """Per-file offsets for the files in `directory`, and the reading of new bytes."""

    def __init__(
        self,
        directory: str,
        tally: Tally,
        *,
        files: dict[str, FileState] | None = None,
        settle_time: float,
        dead_letter: DeadLetter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._tally = tally
        self.files: dict[str, FileState] = files if files is not None else {}
        self._settle_time = settle_time
        self._dead_letter = dead_letter
        self._clock = clock

    def checkpoint(self) -> Checkpoint:
        """The current totals and offsets, consistent with each other."""
        totals, other = self._tally.snapshot()
        return Checkpoint(totals=totals, other=other, files=dict(self.files))

    def rescan(self) -> list[str]:
        """List the directory: forget vanished files; return the names with bytes to read.

        A file whose size differs from its offset is returned, unless nothing changed since
        the last look and it is not yet settled (its partial last line keeps waiting).
        """
        entries = scan(self._directory)
        present = {entry.name for entry in entries}
        for name in [name for name in self.files if name not in present]:
            del self.files[name]
        due = []
        now = self._clock()
        for entry in entries:
            state = self.files.get(entry.name)
            if state is None or state.inode != entry.inode or entry.size != state.offset:
                if state is not None and state.inode == entry.inode:
                    waiting = entry.size == state.seen_size
                    if waiting and now - state.changed_at < self._settle_time:
                        continue
                due.append(entry.name)
        return due

    def moved(self, old: str, new: str) -> None:
        """A rename inside the directory: the new name inherits the old name's progress."""
        state = self.files.pop(old, None)
        if state is not None:
            self.files[new] = state

    def harvest(self, name: str, *, final: bool = False) -> bool:
        """Read the new complete lines of `name` and apply their counts in one step.

        `final` says the writer is done, so an unterminated last line counts too. Returns
        whether anything worth saving changed (counts, offsets, or a forgotten file).
        """
        path = os.path.join(self._directory, name)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            return self.files.pop(name, None) is not None  # deleted before we got to it
        except OSError as error:
            if error.errno != errno.ELOOP:  # ELOOP: a symlink, never followed
                log.warning("cannot read %s: %s", path, error.strerror)
            return False
        try:
            info = os.fstat(fd)
            return stat.S_ISREG(info.st_mode) and self._read(fd, name, path, info, final=final)
        finally:
            os.close(fd)

    def _state(self, name: str, path: str, info: os.stat_result) -> FileState:
        state = self.files.get(name)
        if state is not None and state.inode != info.st_ino:
            log.warning("%s was replaced by another file: counting it from the start", path)
            state = None
        if state is None:
            state = self.files[name] = FileState(inode=info.st_ino)
        if state.seen_size < 0:
            # First sight (or first since a restart): still since its mtime, as far as we know.
            state.seen_size = info.st_size
            state.changed_at = self._clock() - max(0.0, time.time() - info.st_mtime)
        return state

    def _prepare(self, name: str, path: str, info: os.stat_result, *, final: bool) -> bool:
        """Identity, shrink and settle bookkeeping before a pass; returns the final flag."""
        state = self._state(name, path, info)
        size = info.st_size
        if size < state.offset:
            log.warning(
                "%s shrank from %d to %d bytes: going on from its new end", path, state.offset, size
            )
            state.offset, state.skipping = size, False
        if size != state.seen_size:
            state.seen_size, state.changed_at = size, self._clock()
        elif self._clock() - state.changed_at >= self._settle_time:
            final = True  # unchanged for the settle time: nobody writes any more
        return final

    def _read(self, fd: int, name: str, path: str, info: os.stat_result, *, final: bool) -> bool:
        known = self.files.get(name)
        # A new file, a new identity or a shrink is worth saving even with nothing counted.
        changed = known is None or known.inode != info.st_ino or info.st_size < known.offset
        final = self._prepare(name, path, info, final=final)
        state = self.files[name]
        if info.st_size == state.offset:
            return changed
        batch = Batch(self._tally)
        invalid = InvalidLines(path, self._dead_letter)
        end = count_pass(
            fd, offset=state.offset, end=info.st_size, skipping=state.skipping,
            next_line=state.next_line, final=final, add=batch.add, on_invalid=invalid,
        )  # fmt: skip
        self._finish(path, state, batch, invalid, end)
        return True

    def _finish(
        self, path: str, state: FileState, batch: Batch, invalid: InvalidLines, end: PassEnd
    ) -> None:
        """Warn about the pass's invalid lines, then apply its counts and move its offset."""
        if invalid.count:
            log.warning(
                "%s: %d invalid line%s (first at line %d)",
                path,
                invalid.count,
                "" if invalid.count == 1 else "s",
                invalid.first,
            )
        self._tally.apply(batch)
        state.offset, state.skipping, state.next_line = end.offset, end.skipping, end.next_line

    # The parallel backlog path (`--once`): plan in the parent, count in a worker, apply here.

    def plan(self, name: str) -> Job | None:
        """The region of `name` still to count to its end, or None when there is none."""
        path = os.path.join(self._directory, name)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            self.files.pop(name, None)
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        self._prepare(name, path, info, final=True)
        state = self.files[name]
        if info.st_size == state.offset:
            return None
        return Job(
            path=path, inode=info.st_ino, offset=state.offset, end=info.st_size,
            next_line=state.next_line, skipping=state.skipping,
        )  # fmt: skip

    def apply(self, name: str, outcome: Outcome | None) -> None:
        """Apply a worker's outcome for `name`; without one, count the file here instead."""
        if outcome is None:
            self.harvest(name, final=True)
            return
        path = os.path.join(self._directory, name)
        invalid = InvalidLines(path, self._dead_letter)
        for line, reason, text in outcome.invalid:
            invalid(line, reason, text)
        batch = Batch(self._tally)
        batch.add(outcome.counts)
        self._finish(path, self.files[name], batch, invalid, outcome.end)
