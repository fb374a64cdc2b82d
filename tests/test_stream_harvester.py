"""Unit tests of eventstream.harvester: offsets, identity, settle time, vanished files."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from eventstream.deadletter import DeadLetter
from eventstream.harvester import Harvester
from eventstream.tally import Tally
from tests.stream_support import counts, event_line, events


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(directory: Path, *, settle_time: float = 10.0, clock: Clock | None = None) -> Harvester:
    """A harvester on `directory` with a fresh tally."""
    return Harvester(str(directory), Tally(), settle_time=settle_time, clock=clock or Clock())


def core(harvester: Harvester) -> dict[str, int]:
    """The core totals of the harvester's tally (0 when unseen)."""
    totals = harvester.checkpoint().totals
    return {kind: totals.get(kind, 0) for kind in counts()}


def test_each_byte_is_counted_once_as_the_file_grows(tmp_path: Path) -> None:
    """Repeated harvests of a growing file count each complete line exactly once."""
    harvester = make(tmp_path)
    target = tmp_path / "events-1.json"
    line = event_line("Viewed")
    target.write_bytes(events(2) + line[:30])
    harvester.harvest("events-1.json")
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(2)
    with open(target, "ab") as handle:
        handle.write(line[30:] + events(0, 1))
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(3, 1)
    assert harvester.files["events-1.json"].offset == target.stat().st_size
    assert harvester.files["events-1.json"].next_line == 5


def test_partial_line_counts_after_the_settle_time(tmp_path: Path) -> None:
    """An unterminated last line counts once the file is unchanged for the settle time."""
    clock = Clock()
    harvester = make(tmp_path, settle_time=10, clock=clock)
    target = tmp_path / "events-1.json"
    target.write_bytes(events(1) + event_line("Interacted").rstrip(b"\n"))
    os.utime(target)  # just written
    assert harvester.rescan() == ["events-1.json"]
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(1)
    clock.now += 5
    assert harvester.rescan() == []  # unchanged but not settled: not even re-read
    clock.now += 6
    assert harvester.rescan() == ["events-1.json"]
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(1, 1)
    assert harvester.rescan() == []


def test_old_file_with_partial_line_is_settled_at_first_sight(tmp_path: Path) -> None:
    """A file untouched for longer than the settle time (by mtime) counts whole at once."""
    target = tmp_path / "events-1.json"
    target.write_bytes(event_line("Viewed").rstrip(b"\n"))
    old = target.stat().st_mtime - 3600
    os.utime(target, (old, old))
    harvester = make(tmp_path)
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(1)


def test_final_harvest_counts_the_unterminated_line(tmp_path: Path) -> None:
    """A file closed after writing (final) counts its unterminated last line."""
    (tmp_path / "events-1.json").write_bytes(events(1) + event_line("Viewed").rstrip(b"\n"))
    harvester = make(tmp_path)
    harvester.harvest("events-1.json", final=True)
    assert core(harvester) == counts(2)


def test_file_deleted_before_it_is_read(tmp_path: Path) -> None:
    """A file that vanished between its event and the read is skipped and forgotten."""
    harvester = make(tmp_path)
    (tmp_path / "events-1.json").write_bytes(events(1))
    harvester.harvest("events-1.json")
    (tmp_path / "events-1.json").unlink()
    harvester.harvest("events-1.json")
    harvester.harvest("events-2.json")
    assert harvester.files == {}
    assert core(harvester) == counts(1)


def test_rescan_forgets_files_that_are_gone(tmp_path: Path) -> None:
    """Per-file state is kept only for files still present."""
    harvester = make(tmp_path)
    for n in range(3):
        (tmp_path / f"events-{n}.json").write_bytes(events(1))
        harvester.harvest(f"events-{n}.json")
    (tmp_path / "events-1.json").unlink()
    assert harvester.rescan() == []
    assert sorted(harvester.files) == ["events-0.json", "events-2.json"]


def test_shrunk_file_warns_and_goes_on_from_its_new_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that shrinks gets a warning; bytes appended later are counted, nothing twice."""
    harvester = make(tmp_path)
    target = tmp_path / "events-1.json"
    target.write_bytes(events(3))
    harvester.harvest("events-1.json")
    with open(target, "r+b") as handle:
        handle.truncate(len(event_line("Viewed")))
    with caplog.at_level(logging.WARNING):
        harvester.harvest("events-1.json")
    assert "shrank" in caplog.text
    with open(target, "ab") as handle:
        handle.write(events(0, 1))
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(3, 1)


def test_replaced_file_is_counted_from_its_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A different file (new inode) under a counted name is a new file: counted whole."""
    harvester = make(tmp_path)
    (tmp_path / "events-1.json").write_bytes(events(2))
    harvester.harvest("events-1.json")
    (tmp_path / "new.json").write_bytes(events(0, 0, 3))
    os.replace(tmp_path / "new.json", tmp_path / "events-1.json")
    with caplog.at_level(logging.WARNING):
        harvester.harvest("events-1.json")
    assert "replaced" in caplog.text
    assert core(harvester) == counts(2, 0, 3)


def test_rename_inside_the_directory_keeps_the_progress(tmp_path: Path) -> None:
    """A counted file renamed to another event name is not counted again."""
    harvester = make(tmp_path)
    (tmp_path / "events-1.json").write_bytes(events(2))
    harvester.harvest("events-1.json")
    os.rename(tmp_path / "events-1.json", tmp_path / "events-2.json")
    harvester.moved("events-1.json", "events-2.json")
    harvester.harvest("events-2.json", final=True)
    assert core(harvester) == counts(2)
    assert list(harvester.files) == ["events-2.json"]


def test_symlink_is_never_followed(tmp_path: Path) -> None:
    """Even asked directly (an event for a symlink), the harvester does not read through it."""
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_bytes(events(5))
    (tmp_path / "events-1.json").symlink_to(outside)
    harvester = make(tmp_path)
    harvester.harvest("events-1.json", final=True)
    assert core(harvester) == counts()
    outside.unlink()


def test_invalid_lines_go_to_the_dead_letter_with_their_numbers(tmp_path: Path) -> None:
    """Invalid lines keep their file line numbers across passes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dead = DeadLetter(str(tmp_path / "dead.jsonl"))
    harvester = Harvester(str(inbox), Tally(), settle_time=10, dead_letter=dead)
    target = inbox / "events-1.json"
    target.write_bytes(events(1) + b"oops\n")
    harvester.harvest("events-1.json")
    with open(target, "ab") as handle:
        handle.write(events(1) + b"[]\n")
    harvester.harvest("events-1.json")
    dead.close()
    assert (tmp_path / "dead.jsonl").read_text().splitlines() == [
        f'{{"file": "{target}", "line": 2, "reason": "invalid JSON", "text": "oops"}}',
        f'{{"file": "{target}", "line": 4, "reason": "not a JSON object", "text": "[]"}}',
    ]
