"""Atomic publish: write a hidden temporary file, then link it to a name nobody has taken."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

from eventgen.batches import Piece
from eventgen.errors import PublishError, UsageError
from eventgen.naming import NameClock, event_timestamp, file_name, stamp_micros
from eventgen.totals import Totals

logger = logging.getLogger(__name__)

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


@dataclass(slots=True)
class _Written:
    """Where a piece went in the temporary file, and the stamp its lines carry now."""

    offset: int
    length: int
    stamp: bytes


class Publisher:
    """Fills one file at a time and publishes it atomically, never clobbering.

    Pieces are appended to a hidden temporary file `.events-<pid>-<token>-<n>.tmp` as they
    come (readers and Spark skip dot files), so memory does not depend on the batch size.
    `publish` then closes it, `os.link`s it to its final name, which fails instead of
    overwriting if the name is taken (the next microsecond is then tried), and removes the
    temporary name. Not fsynced: whole files survive SIGKILL (the data is in the page cache),
    not a power cut, which the contract does not ask for.

    Timestamps: the name's time is the publish time. Pieces whose stamp is later than it, or
    more than `window` seconds earlier (max(interval, 1 s)), are restamped in place with the
    publish second just before the link; the others stay as the workers wrote them.
    """

    def __init__(self, directory: str, *, window: float = 1.0,
                 clock: NameClock | None = None) -> None:
        self._directory = directory
        self._window = round(window * 1_000_000)
        self._clock = clock or NameClock()
        self._token = os.urandom(4).hex()
        self._count = 0
        self._temp: str | None = None
        self._fd = -1
        self._written: list[_Written] = []
        self._size = 0
        self._contents = Totals(files=1)

    @property
    def pending(self) -> bool:
        """Is a file being filled?"""
        return self._temp is not None

    def append(self, piece: Piece) -> None:
        """Write a piece to the file being filled (opening one if needed)."""
        if self._temp is None:
            self._open()
        try:
            _write_all(self._fd, piece.lines)
        except OSError as exc:
            raise self._error(exc) from exc
        self._written.append(_Written(self._size, piece.end - piece.start, piece.stamp))
        self._size += piece.end - piece.start
        self._contents.add_lines(piece.types)

    def publish(self) -> tuple[str, Totals]:
        """Publish the file being filled; return its name and what it holds.

        The file is closed before it is linked: NFS and FUSE report write errors at close(),
        and nothing may be published unless it was written. Once linked, it is published:
        a failure to remove the temporary name is only a warning.
        """
        assert self._temp is not None, "publish() without append()"
        micros = self._clock.next()
        name = file_name(micros)
        try:
            fd, self._fd = self._fd, -1
            os.close(fd)
            self._restamp(micros)
            while not self._link(name):
                micros = self._clock.next()
                name = file_name(micros)
                self._restamp(micros)
        except OSError as exc:
            raise self._error(exc, name) from exc
        contents, temp = self._contents, self._temp
        self._reset()
        _remove(temp)
        return name, contents

    def discard(self) -> None:
        """Give up the file being filled, if any: close and remove its temporary file."""
        fd, temp = self._fd, self._temp
        self._reset()  # first: whatever fails below, nothing is closed or removed twice
        if fd >= 0:
            with contextlib.suppress(OSError):  # a write error at close: the file goes anyway
                os.close(fd)
        if temp is not None:
            _remove(temp)

    def _reset(self) -> None:
        self._fd = -1
        self._temp = None
        self._written.clear()
        self._size = 0
        self._contents = Totals(files=1)

    def _open(self) -> None:
        self._count += 1
        temp = os.path.join(
            self._directory, f".events-{os.getpid()}-{self._token}-{self._count}.tmp"
        )
        self._temp = temp
        try:
            self._fd = os.open(temp, _CREATE, 0o644)
        except OSError as exc:
            self._temp = None
            raise self._error(exc) from exc

    def _restamp(self, micros: int) -> None:
        """Rewrite, in place, the pieces whose stamp is outside the window of `micros`.

        Rare (workers stamp the current second), so the closed file is reopened for it; its
        close comes before the link too.
        """
        stale = [written for written in self._written if not self._fits(written.stamp, micros)]
        if not stale:
            return
        assert self._temp is not None
        stamp = event_timestamp(micros)
        fd = os.open(self._temp, os.O_RDWR | os.O_CLOEXEC)
        try:
            for written in stale:
                old = os.pread(fd, written.length, written.offset)
                _pwrite_all(fd, old.replace(written.stamp, stamp), written.offset)
                written.stamp = stamp
        finally:
            os.close(fd)

    def _fits(self, stamp: bytes, micros: int) -> bool:
        """Is `stamp` a time no later than `micros` and at most the window earlier?"""
        stamped = stamp_micros(stamp)
        return stamped is not None and micros - self._window <= stamped <= micros

    def _link(self, name: str) -> bool:
        assert self._temp is not None
        try:
            os.link(self._temp, os.path.join(self._directory, name))
        except FileExistsError:
            return False
        return True

    def _error(self, exc: OSError, name: str | None = None) -> PublishError:
        """Name the file: the final name once chosen, else the temporary one."""
        if name is not None:
            what = os.path.join(self._directory, name)
        else:
            what = f"{self._temp or self._directory} (the next events file)"
        return PublishError(f"cannot write {what}: {exc.strerror or exc}")


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _write_all(fd: int, data: memoryview) -> None:
    """os.write until everything is written (a write may be short, e.g. near a size limit)."""
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _remove(path: str) -> None:
    """Remove a temporary file; failing to is a warning (readers skip hidden files)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("cannot remove the temporary file %s: %s", path, exc.strerror or exc)


def prepare_directory(path: str) -> None:
    """Create `path` if missing and prove a file can be created in it (then remove it).

    Raises UsageError naming `--output-directory`, having removed the directories it
    created: permission bits alone do not tell (root ignores them; read-only mounts, /proc
    or /sys refuse anyway).
    """
    created = _missing_directories(path)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".events-probe-{os.getpid()}-{os.urandom(4).hex()}")
        os.close(os.open(probe, _CREATE, 0o644))
        os.unlink(probe)
    except OSError as exc:
        for directory in created:  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        # makedirs says "File exists" for a regular file (or anything else) in the way.
        why = "not a directory" if isinstance(exc, FileExistsError) else exc.strerror or exc
        raise UsageError(f"--output-directory: cannot write to {path}: {why}") from exc


def _missing_directories(path: str) -> list[str]:
    """`path` and its ancestors that do not exist yet, deepest first."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing
