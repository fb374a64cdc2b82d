"""Directory listing: which entries are event files (startup scan and safety-net rescan)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from eventstream.errors import StreamError


def is_event_name(name: str) -> bool:
    """`events-*.json`: hidden and temporary names never match (they start with `.`)."""
    return name.startswith("events-") and name.endswith(".json")


@dataclass(frozen=True)
class Entry:
    """One event file as listed: name, size and inode."""

    name: str
    size: int
    inode: int


def scan(directory: str) -> list[Entry]:
    """The regular event files directly in `directory`, oldest name first.

    Symlinks, subdirectories and other special files are left out. An entry that vanishes
    while listing is simply skipped. A directory that cannot be listed is fatal.
    """
    entries: list[Entry] = []
    try:
        with os.scandir(directory) as listing:
            for item in listing:
                if not is_event_name(item.name):
                    continue
                try:
                    if not item.is_file(follow_symlinks=False):
                        continue
                    stat = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                entries.append(Entry(item.name, stat.st_size, stat.st_ino))
    except OSError as error:
        raise StreamError(
            f"cannot list input directory {directory}: {error.strerror or error}"
        ) from None
    entries.sort(key=lambda entry: entry.name)
    return entries
