"""Unit tests of eventstream.scanner: which directory entries are event files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventstream.errors import StreamError
from eventstream.scanner import Entry, is_event_name, scan


def test_event_names() -> None:
    """Only `events-*.json` names match; hidden and temporary names never do."""
    assert is_event_name("events-2017-05-14-18-47-29-879763.json")
    for name in (".events-1.json", "events-1.json.tmp", "events-1.txt", "event-1.json", "x.json"):
        assert not is_event_name(name)


def test_scan_lists_regular_event_files_oldest_name_first(tmp_path: Path) -> None:
    """Regular files only, sorted by name; symlinks, directories and FIFOs are left out."""
    (tmp_path / "events-2.json").write_bytes(b"abc")
    (tmp_path / "events-1.json").write_bytes(b"")
    (tmp_path / "events-3.json").mkdir()
    (tmp_path / "events-4.json").symlink_to(tmp_path / "events-2.json")
    os.mkfifo(tmp_path / "events-5.json")
    (tmp_path / ".events-6.json").write_bytes(b"x")
    entries = scan(str(tmp_path))
    assert [(e.name, e.size) for e in entries] == [("events-1.json", 0), ("events-2.json", 3)]
    assert entries[1] == Entry("events-2.json", 3, (tmp_path / "events-2.json").stat().st_ino)


def test_scan_of_a_missing_directory_is_fatal(tmp_path: Path) -> None:
    """A directory that cannot be listed stops the streamer with a message naming it."""
    with pytest.raises(StreamError, match="gone"):
        scan(str(tmp_path / "gone"))
