"""Unit tests of eventstream.checkpoint: atomic save, exact round trip, careful load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventstream.checkpoint import Checkpoint, FileState, load, save
from eventstream.errors import StreamError


def sample() -> Checkpoint:
    """A checkpoint with odd type names and every state field set."""
    return Checkpoint(
        totals={"Viewed": 5, 'we"ird\n\ud800': 2, "Click-Through": 1},
        other=9,
        files={
            "events-1.json": FileState(
                offset=10, next_line=3, skipping=False, inode=77, head_size=10,
                head_hash=(1 << 64) - 1,
            ),
            "events-2.json": FileState(
                offset=1 << 40, next_line=1, skipping=True, inode=78, head_size=1024,
                head_hash=0,
            ),
        },
    )


def test_round_trip_keeps_everything_in_order(tmp_path: Path) -> None:
    """What is saved loads back equal, type order included; no temporary file is left."""
    path = tmp_path / "state.json"
    save(str(path), sample())
    loaded = load(str(path))
    assert loaded == sample()
    assert list(loaded.totals) == list(sample().totals)
    assert os.listdir(tmp_path) == ["state.json"]


def test_save_replaces_the_previous_checkpoint(tmp_path: Path) -> None:
    """A second save replaces the first whole."""
    path = tmp_path / "state.json"
    save(str(path), sample())
    save(str(path), Checkpoint(totals={"Viewed": 1}))
    assert load(str(path)) == Checkpoint(totals={"Viewed": 1})


def test_missing_or_empty_checkpoint_is_a_first_run(tmp_path: Path) -> None:
    """No file, or an empty one (never written by save), starts from zero."""
    path = tmp_path / "state.json"
    assert load(str(path)) == Checkpoint()
    path.write_bytes(b"")
    assert load(str(path)) == Checkpoint()


@pytest.mark.parametrize(
    "content",
    [b'{"version": 2, "totals": [["Viewed", 5]], "oth', b"\x00\x00garbage", b"[]",
     b'{"version": 99, "totals": [], "other": 0, "files": {}}',
     b'{"version": 2, "totals": [["Viewed", -1]], "other": 0, "files": {}}'],
)  # fmt: skip
def test_unreadable_checkpoint_stops_instead_of_recounting(tmp_path: Path, content: bytes) -> None:
    """A torn or foreign file is refused with a clear message (exit 1), never reset to zero."""
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StreamError, match=r"unreadable.*delete it to recount"):
        load(str(path))


def test_save_failure_is_a_stream_error(tmp_path: Path) -> None:
    """A checkpoint that cannot be written names the file."""
    with pytest.raises(StreamError, match="cannot save checkpoint"):
        save(str(tmp_path / "missing-dir" / "state.json"), sample())
