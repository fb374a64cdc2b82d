"""The owner of per-file state: reads each file from its offset and applies its counts.

Called only from one thread (the parser thread, or the main thread with `--once`). Each call
to `harvest` is one read pass over one file: its counts reach the tally in one step, so a
report never shows part of a pass, and the offsets move in the same thread, so a checkpoint
taken between passes is always consistent with the totals.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable

from eventstream.backlog import Job, Outcome
from eventstream.checkpoint import Checkpoint, FileState
from eventstream.deadletter import DeadLetter
from eventstream.passes import PassEnd, count_pass
from eventstream.reader import OPEN_FLAGS
from eventstream.scanner import scan
from eventstream.tally import Batch, Tally

log = logging.getLogger(__name__)

HEAD_BYTES = 1024  # a file's fingerprint covers at most its first KiB



def fingerprint(head: bytes) -> int:
    """A small hash of a file's first bytes (64 bits)."""
    return int.from_bytes(hashlib.blake2b(head, digest_size=8).digest(), "big")


def same_file(state: FileState, inode: int, head: bytes) -> bool:
    """Whether the file with `inode` and first bytes `head` is the one `state` counted.

    `head` holds the file's first min(size, HEAD_BYTES) bytes. A file shorter than the bytes
    fingerprinted cannot be checked, so it counts as a new file.
    """
    if state.inode != inode or len(head) < state.head_size:
        return False
    return not state.head_size or fingerprint(head[: state.head_size]) == state.head_hash


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
    """Per-file offsets for the files in `directory`, and the reading of new bytes.

    State is keyed by name, but a file keeps its state through a rename: by the move event
    (`moved`), or else by its inode (checked by fingerprint) when the new name is first seen
    (in `rescan` or `harvest`), as Filebeat does. The device is left out: every file is in
    the one directory, and device numbers may change across remounts. The state of a
    vanished name stays until a rescan, since its file may just have been renamed.
    """

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
        # The name each inode was last given; entries may be stale, so always checked.
        self._names: dict[int, str] = {}
        self._reindex()

    def checkpoint(self) -> Checkpoint:
        """The current totals and offsets, consistent with each other."""
        totals, other = self._tally.snapshot()
        return Checkpoint(totals=totals, other=other, files=dict(self.files))

    def rescan(self) -> list[str]:
        """List the directory: carry renamed files over, forget vanished ones; return the
        names with bytes to read.

        A file whose size differs from its offset is returned, unless nothing changed since
        the last look and it is not yet settled (its partial last line keeps waiting).
        """
        entries = scan(self._directory)
        present = {entry.name for entry in entries}
        vanished: dict[int, FileState] = {}
        for name in [name for name in self.files if name not in present]:
            gone = self.files.pop(name)
            vanished[gone.inode] = gone
        due = []
        now = self._clock()
        for entry in entries:
            state = self.files.get(entry.name)
            if (state is None or state.inode != entry.inode) and entry.inode in vanished:
                # Renamed (over this name, maybe) before its move event came: same progress.
                # Due, so that a read checks the fingerprint (the inode may have been reused).
                self.files[entry.name] = vanished.pop(entry.inode)
                due.append(entry.name)
            elif state is None or state.inode != entry.inode:
                due.append(entry.name)
            elif entry.size != state.offset:
                waiting = entry.size == state.seen_size
                if not (waiting and now - state.changed_at < self._settle_time):
                    due.append(entry.name)
        self._reindex()
        return due

    def moved(self, old: str, new: str) -> bool:
        """A rename inside the directory: the new name inherits the old name's progress.

        Returns whether a state moved (worth saving)."""
        state = self.files.pop(old, None)
        if state is not None:
            self._track(new, state)
        return state is not None

    def harvest(self, name: str, *, final: bool = False) -> bool:
        """Read the new complete lines of `name` and apply their counts in one step.

        `final` says the writer is done, so an unterminated last line counts too. Returns
        whether anything worth saving changed (counts, offsets, or which file a name is).
        """
        opened = self._open(name)
        if opened is None:
            return False
        fd, path, info = opened
        try:
            state, final, changed = self._prepare(fd, name, path, info, final=final)
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
        finally:
            os.close(fd)

    def _open(self, name: str) -> tuple[int, str, os.stat_result] | None:
        """Open `name` if it is a regular file: (fd, path, fstat), or None."""
        path = os.path.join(self._directory, name)
        try:
            fd = os.open(path, OPEN_FLAGS)
        except FileNotFoundError:
            return None  # gone, maybe renamed: its state waits for the move or a rescan
        except OSError as error:
            if error.errno != errno.ELOOP:  # ELOOP: a symlink, never followed
                log.warning("cannot read %s: %s", path, error.strerror)
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None
        return fd, path, info

    def _track(self, name: str, state: FileState) -> None:
        self.files[name] = state
        self._names[state.inode] = name

    def _reindex(self) -> None:
        self._names = {state.inode: name for name, state in self.files.items()}

    def _state(
        self, fd: int, name: str, path: str, info: os.stat_result
    ) -> tuple[FileState, bool]:
        """The state of the file open as `fd`, checked by identity; (state, whether new)."""
        head = os.pread(fd, min(info.st_size, HEAD_BYTES), 0)
        state = self.files.get(name)
        if state is not None and not same_file(state, info.st_ino, head):
            log.warning("%s was replaced by another file: counting it from the start", path)
            state = None
        new = state is None
        if state is None:
            state = self._renamed(name, info.st_ino, head) or FileState(inode=info.st_ino)
            self._track(name, state)
        if len(head) > state.head_size:  # fingerprint up to the first KiB as the file grows
            state.head_size, state.head_hash = len(head), fingerprint(head)
        if state.seen_size < 0:
            # First sight (or first since a restart): still since its mtime, as far as we know.
            state.seen_size = info.st_size
            state.changed_at = self._clock() - max(0.0, time.time() - info.st_mtime)
        return state, new

    def _renamed(self, name: str, inode: int, head: bytes) -> FileState | None:
        """The state of this file under an old name that is gone (a rename whose event has
        not come, or never will), taken from that name; None if there is none."""
        old = self._names.get(inode)
        state = self.files.get(old) if old is not None and old != name else None
        if old is None or state is None or not same_file(state, inode, head):
            return None
        try:
            if os.lstat(os.path.join(self._directory, old)).st_ino == inode:
                return None  # both names are there: a hard link is another event file
        except OSError:
            pass
        del self.files[old]
        return state

    def _prepare(
        self, fd: int, name: str, path: str, info: os.stat_result, *, final: bool
    ) -> tuple[FileState, bool, bool]:
        """Identity, shrink and settle bookkeeping before a pass: (state, final, changed)."""
        state, changed = self._state(fd, name, path, info)
        size = info.st_size
        if size < state.offset:
            log.warning(
                "%s shrank from %d to %d bytes: going on from its new end", path, state.offset, size
            )
            state.offset, state.skipping, changed = size, False, True
        if size != state.seen_size:
            state.seen_size, state.changed_at = size, self._clock()
        elif self._clock() - state.changed_at >= self._settle_time:
            final = True  # unchanged for the settle time: nobody writes any more
        return state, final, changed

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
        opened = self._open(name)
        if opened is None:
            return None
        fd, path, info = opened
        try:
            state, _, _ = self._prepare(fd, name, path, info, final=True)
        finally:
            os.close(fd)
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
