"""The checkpoint: totals and per-file read positions, saved atomically in one file.

Saved as temp file + fsync + rename + fsync of the directory, so a crash at any instant
(even SIGKILL mid-save) leaves either the previous checkpoint or the new one, never a torn
file. Loading therefore treats an unreadable file as damage from outside, not as a crash of
ours: it stops with a clear error instead of silently recounting into totals that may
already be reported elsewhere (delete the file to recount from scratch). A missing or
empty file is a first run (an empty file is never written by `save`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from eventstream.errors import StreamError

FORMAT_VERSION = 2


@dataclass
class FileState:
    """How far one file has been counted, and which file that is.

    `offset` is the first byte not yet counted, `next_line` the number of the line starting
    there, `skipping` whether the offset is inside an oversized line. The file's identity is
    its `inode` (which follows it through renames) and a fingerprint (`head_hash`) of its
    first `head_size` bytes (at most 1 KiB), which tells a new file apart when the inode of a
    deleted one is reused. `seen_size` and `changed_at` (monotonic seconds) drive the
    settle-time rule and are not saved.
    """

    offset: int = 0
    next_line: int = 1
    skipping: bool = False
    inode: int = 0
    head_size: int = 0
    head_hash: int = 0
    seen_size: int = -1
    changed_at: float = 0.0


@dataclass
class Checkpoint:
    """Everything a restart needs to go on exactly where the last save left off."""

    totals: dict[str, int] = field(default_factory=dict)
    other: int = 0
    files: dict[str, FileState] = field(default_factory=dict)


def encode(checkpoint: Checkpoint) -> bytes:
    """Serialise to JSON bytes (ASCII only, so any type name survives)."""
    document = {
        "version": FORMAT_VERSION,
        "totals": list(checkpoint.totals.items()),  # a list keeps first-appearance order
        "other": checkpoint.other,
        "files": {name: _saved_fields(state) for name, state in checkpoint.files.items()},
    }
    return json.dumps(document, separators=(",", ":")).encode("ascii")


def decode(data: bytes) -> Checkpoint:
    """Parse `encode`'s output; raise ValueError on anything else."""
    document: Any = json.loads(data)
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise ValueError("not a checkpoint of this version")
    totals = {str(name): _count(n) for name, n in document["totals"]}
    files = {str(name): _loaded_state(fields) for name, fields in document["files"].items()}
    return Checkpoint(totals=totals, other=_count(document["other"]), files=files)


def _saved_fields(state: FileState) -> list[int | bool]:
    return [
        state.offset, state.next_line, state.skipping, state.inode, state.head_size,
        state.head_hash,
    ]  # fmt: skip


def _loaded_state(fields: Any) -> FileState:
    offset, line, skipping, inode, head_size, head_hash = fields
    return FileState(
        offset=_count(offset), next_line=_count(line), skipping=bool(skipping),
        inode=_count(inode), head_size=_count(head_size), head_hash=_count(head_hash),
    )  # fmt: skip


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"bad number {value!r}")
    return value


def load(path: str) -> Checkpoint:
    """Read the checkpoint at `path`; a missing or empty file is a fresh start."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return Checkpoint()
    except OSError as error:
        raise StreamError(f"cannot read checkpoint {path}: {error.strerror}") from None
    if not data:
        return Checkpoint()
    try:
        return decode(data)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise StreamError(
            f"checkpoint {path} is unreadable ({error}); refusing to guess the totals - "
            "restore it or delete it to recount from scratch"
        ) from None


def save(path: str, checkpoint: Checkpoint) -> None:
    """Replace the checkpoint at `path` atomically and durably."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            _write_all(fd, encode(checkpoint))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        directory_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
    except OSError as error:
        raise StreamError(f"cannot save checkpoint {path}: {error.strerror or error}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
