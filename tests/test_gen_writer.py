"""Unit tests of eventgen.writer: atomic, non-clobbering publish and directory checks."""

from __future__ import annotations

import errno
import logging
import os
import resource
from pathlib import Path

import pytest

from eventgen.batches import Piece
from eventgen.errors import PublishError, UsageError
from eventgen.groups import TIMESTAMP_PLACEHOLDER, build_chunk
from eventgen.naming import NameClock, event_timestamp, file_name
from eventgen.writer import Publisher, prepare_directory

SECOND = 1_600_000_000_000_000  # a whole second, in microseconds


def _piece(stamp: bytes = TIMESTAMP_PLACEHOLDER, groups: int = 20) -> Piece:
    chunk = build_chunk(1, 0, groups, stamp=stamp)
    return Piece(chunk.data, 0, len(chunk.data), chunk.types, last=True, stamp=stamp)


def _fixed(micros: int) -> NameClock:
    return NameClock(clock=lambda: micros * 1000)


def test_publish_writes_the_lines_under_the_clock_name(tmp_path: Path) -> None:
    """The file gets the clock's name and the pieces' lines, stamped with that second; the
    returned tally counts them; no temporary file is left."""
    publisher = Publisher(str(tmp_path), clock=_fixed(SECOND + 123))
    first, second = _piece(groups=20), _piece(groups=7)
    publisher.append(first)
    publisher.append(second)
    assert publisher.pending
    name, lines = publisher.publish()
    assert name == file_name(SECOND + 123) and not publisher.pending
    expected = (bytes(first.lines) + bytes(second.lines)).replace(
        TIMESTAMP_PLACEHOLDER, event_timestamp(SECOND)
    )
    assert (tmp_path / name).read_bytes() == expected
    assert lines.viewed == 27 and lines.files == 1
    assert lines.events == len(first.types) + len(second.types)
    assert os.listdir(tmp_path) == [name]


def test_the_file_is_hidden_until_published(tmp_path: Path) -> None:
    """Appended lines sit in a hidden temporary file; no events-*.json exists before the
    publish; discard() removes the temporary file."""
    publisher = Publisher(str(tmp_path), clock=_fixed(SECOND))
    publisher.append(_piece())
    names = os.listdir(tmp_path)
    assert len(names) == 1 and names[0].startswith(".events-")
    publisher.discard()
    assert os.listdir(tmp_path) == []


def test_a_taken_name_moves_to_the_next_free_microsecond(tmp_path: Path) -> None:
    """An existing file with the wanted name is left alone; the file takes the next us."""
    taken = tmp_path / file_name(SECOND + 5)
    taken.write_bytes(b"someone else's\n")
    (tmp_path / file_name(SECOND + 6)).write_bytes(b"and another\n")
    publisher = Publisher(str(tmp_path), clock=_fixed(SECOND + 5))
    publisher.append(_piece())
    name, _ = publisher.publish()
    assert name == file_name(SECOND + 7)
    assert taken.read_bytes() == b"someone else's\n"
    assert sorted(os.listdir(tmp_path)) == sorted(
        [taken.name, file_name(SECOND + 6), file_name(SECOND + 7)]
    )


def test_moving_into_the_next_second_restamps_the_lines(tmp_path: Path) -> None:
    """If the free name is in the next second, the stamps follow it when needed (never later
    than the name, never more than the window earlier)."""
    (tmp_path / file_name(SECOND + 999_999)).write_bytes(b"x\n")
    publisher = Publisher(str(tmp_path), window=1.0, clock=_fixed(SECOND + 999_999))
    publisher.append(_piece())
    name, _ = publisher.publish()
    assert name == file_name(SECOND + 1_000_000)
    data = (tmp_path / name).read_bytes()
    # The first try stamped SECOND; one second before the new name is still in the window.
    assert event_timestamp(SECOND) in data and TIMESTAMP_PLACEHOLDER not in data


def test_consecutive_publishes_have_increasing_names(tmp_path: Path) -> None:
    """Names from one publisher strictly increase even with a frozen clock."""
    publisher = Publisher(str(tmp_path), clock=_fixed(SECOND))
    names = []
    for _ in range(5):
        publisher.append(_piece())
        names.append(publisher.publish()[0])
    assert names == sorted(names) and len(set(names)) == 5


def test_a_failed_write_names_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    """When the directory is gone, PublishError names the file; nothing is left behind."""
    directory = tmp_path / "gone"
    directory.mkdir()
    publisher = Publisher(str(directory), clock=_fixed(SECOND))
    directory.rmdir()
    with pytest.raises(PublishError, match="events file"):
        publisher.append(_piece())
    assert not publisher.pending and not directory.exists()


def test_a_failed_link_names_the_final_file(tmp_path: Path) -> None:
    """An error at publish time names the final file; discard() then removes the temporary
    file (as the pipeline does)."""
    publisher = Publisher(str(tmp_path), clock=_fixed(SECOND))
    publisher.append(_piece())
    temp = tmp_path / os.listdir(tmp_path)[0]
    temp.unlink()  # os.link now fails with ENOENT
    with pytest.raises(PublishError, match=file_name(SECOND)):
        publisher.publish()
    publisher.discard()
    assert os.listdir(tmp_path) == []


def test_a_file_linked_but_whose_temporary_name_stays_is_still_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Once the file is linked it is published and returned for counting, even if removing
    its temporary name then fails: that failure is a warning naming the temporary file."""
    real_unlink = os.unlink

    def unlink(path: str) -> None:
        if os.path.basename(path).startswith(".events-"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_unlink(path)

    publisher = Publisher(str(tmp_path), clock=_fixed(SECOND))
    publisher.append(_piece())
    temp = os.listdir(tmp_path)[0]
    monkeypatch.setattr(os, "unlink", unlink)
    caplog.set_level(logging.WARNING, logger="eventgen")
    name, contents = publisher.publish()
    assert contents.files == 1 and (tmp_path / name).exists() and not publisher.pending
    assert len(caplog.records) == 1 and temp in caplog.records[0].getMessage()
    publisher.discard()  # nothing left to discard: no second attempt, no error
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    ("stamped_at", "window", "kept"),
    [
        (SECOND, 1.0, True),  # same second as the publish time
        (SECOND - 1_000_000, 1.0, True),  # exactly one second earlier: allowed
        (SECOND - 2_000_000, 1.0, False),  # too early
        (SECOND - 2_000_000, 5.0, True),  # within a longer interval
        (SECOND + 1_000_000, 1.0, False),  # later than the publish time
    ],
)
def test_worker_stamps_are_kept_only_inside_the_window(
    tmp_path: Path, stamped_at: int, window: float, kept: bool
) -> None:
    """Lines stamped by a worker keep their stamp if it is not later than the publish time
    and at most `window` seconds earlier; otherwise they get the publish second."""
    stamp = event_timestamp(stamped_at)
    piece = _piece(stamp)
    publisher = Publisher(str(tmp_path), window=window, clock=_fixed(SECOND))
    publisher.append(piece)
    name, _ = publisher.publish()
    expected = stamp if kept else event_timestamp(SECOND)
    assert (tmp_path / name).read_bytes() == bytes(piece.lines).replace(stamp, expected)


def test_prepare_directory_creates_a_missing_directory(tmp_path: Path) -> None:
    """A missing output directory (and its parents) is created, and left empty."""
    target = tmp_path / "a" / "b"
    prepare_directory(str(target))
    assert target.is_dir() and os.listdir(target) == []


@pytest.mark.parametrize("where", ["file", "under-file", "proc"])
def test_prepare_directory_rejects_what_cannot_be_written(tmp_path: Path, where: str) -> None:
    """A regular file, a path under one, or a directory where files cannot be created (even
    by root: /proc/self) is a UsageError naming --output-directory."""
    regular = tmp_path / "regular"
    regular.write_text("x")
    path = {"file": str(regular), "under-file": str(regular / "sub"), "proc": "/proc/self"}
    with pytest.raises(UsageError, match="--output-directory"):
        prepare_directory(path[where])
    assert regular.read_text() == "x"



def test_prepare_directory_removes_what_it_created_when_the_probe_fails(tmp_path: Path) -> None:
    """If the directories can be created but no file in them (here a real EMFILE: no free
    file descriptor), the error names --output-directory and the new directories are gone."""
    lowest_free = os.open(os.devnull, os.O_RDONLY)
    os.close(lowest_free)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))  # no new descriptor
    try:
        with pytest.raises(UsageError, match="--output-directory"):
            prepare_directory(str(tmp_path / "a" / "b"))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert os.listdir(tmp_path) == []
