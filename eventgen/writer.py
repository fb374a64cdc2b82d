"""Atomic publish: write a hidden temporary file, then link it to a name nobody has taken."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from eventgen.batches import Piece
from eventgen.errors import PublishError, UsageError
from eventgen.naming import NameClock, event_timestamp, file_name, stamp_micros
from eventgen.totals import Totals

_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


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
    `publish` then `os.link`s it to its final name, which fails instead of overwriting if the
    name is taken (the next microsecond is then tried), and removes the temporary name.

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
        self._lines = Totals(files=1)

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
        self._lines.add_lines(piece.types)

    def publish(self) -> tuple[str, Totals]:
        """Publish the file being filled; return its name and what it holds."""
        assert self._temp is not None, "publish() without append()"
        micros = self._clock.next()
        try:
            self._restamp(micros)
            while not self._link(micros):
                micros = self._clock.next()
                self._restamp(micros)
        except OSError as exc:
            raise self._error(exc, micros) from exc
        lines = self._lines
        self.discard()
        return file_name(micros), lines

    def discard(self) -> None:
        """Close and remove the temporary file, if any (after a publish, or to give up)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._temp is not None:
            _remove(self._temp)
            self._temp = None
        self._written.clear()
        self._size = 0
        self._lines = Totals(files=1)

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
        """Rewrite, in place, the pieces whose stamp is outside the window of `micros`."""
        stamp = event_timestamp(micros)
        for written in self._written:
            if not self._fits(written.stamp, micros):
                old = os.pread(self._fd, written.length, written.offset)
                _pwrite_all(self._fd, old.replace(written.stamp, stamp), written.offset)
                written.stamp = stamp

    def _fits(self, stamp: bytes, micros: int) -> bool:
        """Is `stamp` a time no later than `micros` and at most the window earlier?"""
        stamped = stamp_micros(stamp)
        return stamped is not None and micros - self._window <= stamped <= micros

    def _link(self, micros: int) -> bool:
        assert self._temp is not None
        try:
            os.link(self._temp, os.path.join(self._directory, file_name(micros)))
        except FileExistsError:
            return False
        return True

    def _error(self, exc: OSError, micros: int | None = None) -> PublishError:
        """Name the file: the final name once chosen, else the temporary one."""
        if micros is not None:
            what = os.path.join(self._directory, file_name(micros))
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
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def prepare_directory(path: str) -> None:
    """Create `path` if missing and prove a file can be created in it (then remove it).

    Raises UsageError naming `--output-directory`: permission bits alone do not tell (root
    ignores them; read-only mounts, /proc or /sys refuse anyway).
    """
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".events-probe-{os.getpid()}-{os.urandom(4).hex()}")
        os.close(os.open(probe, _CREATE, 0o644))
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"--output-directory: cannot write to {path}: {exc.strerror or exc}"
        ) from exc
