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
    """A file that vanished between its event and the read is skipped; its state stays (it
    may have been renamed) until a rescan sees it gone."""
    harvester = make(tmp_path)
    (tmp_path / "events-1.json").write_bytes(events(1))
    harvester.harvest("events-1.json")
    (tmp_path / "events-1.json").unlink()
    assert not harvester.harvest("events-1.json")
    assert not harvester.harvest("events-2.json")
    assert list(harvester.files) == ["events-1.json"]
    assert harvester.rescan() == []
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
    """A file that shrinks (keeping its first KiB) gets a warning; bytes appended later are
    counted, nothing twice."""
    harvester = make(tmp_path)
    target = tmp_path / "events-1.json"
    target.write_bytes(events(20))
    harvester.harvest("events-1.json")
    with open(target, "r+b") as handle:
        handle.truncate(10 * len(event_line("Viewed")))
    with caplog.at_level(logging.WARNING):
        harvester.harvest("events-1.json")
    assert "shrank" in caplog.text
    with open(target, "ab") as handle:
        handle.write(events(0, 1))
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(20, 1)


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


def test_rescan_between_a_rename_and_its_event_keeps_the_progress(tmp_path: Path) -> None:
    """A rescan that sees the new name before the move event carries the state over by inode;
    the late move event then changes nothing."""
    harvester = make(tmp_path)
    (tmp_path / "events-a.json").write_bytes(events(3))
    harvester.harvest("events-a.json")
    os.rename(tmp_path / "events-a.json", tmp_path / "events-b.json")
    assert harvester.rescan() == ["events-b.json"]  # to check its fingerprint
    assert list(harvester.files) == ["events-b.json"]
    assert not harvester.harvest("events-b.json")
    harvester.moved("events-a.json", "events-b.json")
    harvester.harvest("events-b.json", final=True)
    assert core(harvester) == counts(3)


def test_new_name_without_a_move_event_inherits_by_inode(tmp_path: Path) -> None:
    """A renamed file reported only under its new name (lost move event, or polling's delete
    + create) keeps its progress: identity is the inode, not the name."""
    harvester = make(tmp_path)
    (tmp_path / "events-a.json").write_bytes(events(3))
    harvester.harvest("events-a.json")
    os.rename(tmp_path / "events-a.json", tmp_path / "events-b.json")
    harvester.harvest("events-b.json", final=True)
    assert core(harvester) == counts(3)
    assert list(harvester.files) == ["events-b.json"]


def test_hard_link_under_a_new_name_is_counted_again(tmp_path: Path) -> None:
    """A second name for a file whose first name is still there is another event file."""
    harvester = make(tmp_path)
    (tmp_path / "events-a.json").write_bytes(events(2))
    harvester.harvest("events-a.json")
    os.link(tmp_path / "events-a.json", tmp_path / "events-b.json")
    harvester.harvest("events-b.json", final=True)
    assert core(harvester) == counts(4)


def test_close_event_after_a_rename_keeps_the_progress(tmp_path: Path) -> None:
    """Written in place, then renamed: the close event for the old name arrives after the
    rename; the progress made under the old name still carries over."""
    harvester = make(tmp_path)
    target = tmp_path / "events-a.json"
    target.write_bytes(events(2))
    harvester.harvest("events-a.json")
    with open(target, "ab") as handle:
        handle.write(events(1))
    os.rename(target, tmp_path / "events-b.json")
    harvester.harvest("events-a.json", final=True)  # its close event, late
    harvester.moved("events-a.json", "events-b.json")
    harvester.harvest("events-b.json", final=True)
    assert core(harvester) == counts(3)


@pytest.mark.parametrize("lines", [7, 3])
def test_new_content_under_the_same_inode_is_counted_from_its_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, lines: int
) -> None:
    """A file rewritten from scratch under the same inode (as when ext4 reuses the inode of
    a deleted file) is told apart by its first bytes: counted whole, with a warning, whether
    it is longer or shorter than before."""
    harvester = make(tmp_path)
    target = tmp_path / "events-1.json"
    target.write_bytes(events(5))
    harvester.harvest("events-1.json")
    inode = target.stat().st_ino
    with open(target, "r+b") as handle:  # same inode, new content
        handle.truncate(0)
        handle.write(events(0, lines))
    assert target.stat().st_ino == inode
    with caplog.at_level(logging.WARNING):
        harvester.harvest("events-1.json")
    assert "counting it from the start" in caplog.text
    assert core(harvester) == counts(5, lines)


def test_fingerprint_grows_with_a_small_file(tmp_path: Path) -> None:
    """The fingerprint covers the first KiB even when the file was smaller at first sight:
    a file rewritten after growing past its first look is still told apart."""
    harvester = make(tmp_path)
    target = tmp_path / "events-1.json"
    target.write_bytes(events(1))
    harvester.harvest("events-1.json")
    with open(target, "ab") as handle:
        handle.write(events(20))
    harvester.harvest("events-1.json")
    assert harvester.files["events-1.json"].head_size == 1024
    first = target.read_bytes()[: len(event_line("Viewed"))]
    with open(target, "r+b") as handle:  # same first line, different bytes further in
        handle.truncate(0)
        handle.write(first + events(0, 25))
    harvester.harvest("events-1.json")
    assert core(harvester) == counts(22, 25)


def test_rescan_tells_a_reused_inode_from_a_rename(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A new name whose inode is that of a vanished file but whose first bytes differ (the
    inode was reused) is counted whole, even when its size equals the old file's offset."""
    harvester = make(tmp_path)
    old = tmp_path / "events-a.json"
    old.write_bytes(events(3))
    harvester.harvest("events-a.json")
    with open(old, "r+b") as handle:  # same inode and size, other content
        handle.write(events(3).replace(b"Viewed", b"Vxewed"))
    os.rename(old, tmp_path / "events-b.json")
    with caplog.at_level(logging.WARNING):
        for name in harvester.rescan():
            harvester.harvest(name, final=True)
    assert "counting it from the start" in caplog.text
    assert harvester.checkpoint().totals == {"Viewed": 3, "Vxewed": 3}
