"""Unit tests of eventstream.watcher with a real watchdog observer: callbacks only enqueue."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from eventstream.watcher import (
    EventHandler,
    Landed,
    Rescan,
    WorkItem,
    observer_alive,
    start_observer,
)
from tests.helpers import wait_until

Watched = tuple[Path, "queue.SimpleQueue[WorkItem]", BaseObserver]


@pytest.fixture(params=[False, True], ids=["inotify", "polling"])
def watched(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Watched]:
    """A directory under a running observer (inotify or polling), stopped afterwards."""
    directory = tmp_path / "inbox"
    directory.mkdir()
    work: queue.SimpleQueue[WorkItem] = queue.SimpleQueue()
    observer = start_observer(
        str(directory), EventHandler(str(directory), work), polling=request.param,
        poll_interval=0.05,
    )  # fmt: skip
    yield directory, work, observer
    observer.stop()
    observer.join()


def items_until(work: queue.SimpleQueue[WorkItem], name: str) -> list[WorkItem]:
    """Collect items until one for `name` arrives (deadline 10 s)."""
    seen: list[WorkItem] = []
    while True:
        item = work.get(timeout=10)
        seen.append(item)
        if isinstance(item, Landed) and item.name == name:
            return seen


def test_landings_are_enqueued_and_decoys_are_not(watched: Watched, tmp_path: Path) -> None:
    """Rename into the name, write-and-close and move-in produce items for event names only;
    hidden, temporary and other names produce none."""
    directory, work, observer = watched
    (directory / ".events-a.json").write_bytes(b"x\n")
    (directory / "notes.txt").write_bytes(b"x\n")
    (directory / "events-b.json.tmp").write_bytes(b"x\n")
    os.rename(directory / ".events-a.json", directory / "events-a.json")
    names = {item.name for item in items_until(work, "events-a.json") if isinstance(item, Landed)}
    assert names == {"events-a.json"}
    (directory / "events-c.json").write_bytes(b"x\n")
    closed = items_until(work, "events-c.json")
    (tmp_path / "events-d.json").write_bytes(b"x\n")
    os.rename(tmp_path / "events-d.json", directory / "events-d.json")
    moved_in = items_until(work, "events-d.json")
    assert all(isinstance(item, Landed) for item in closed + moved_in)
    assert observer_alive(observer)


def test_move_inside_the_directory_carries_the_old_name(watched: Watched) -> None:
    """A rename between two event names says where the file came from (inotify always;
    polling pairs delete + create by inode, but may also see them apart)."""
    directory, work, observer = watched
    (directory / "events-1.json").write_bytes(b"x\n")
    items_until(work, "events-1.json")
    os.rename(directory / "events-1.json", directory / "events-2.json")
    item = items_until(work, "events-2.json")[-1]
    assert isinstance(item, Landed)
    assert item.final
    if isinstance(observer, PollingObserver):
        assert item.moved_from in ("events-1.json", None)
    else:
        assert item.moved_from == "events-1.json"


def test_lost_events_ask_for_a_rescan(tmp_path: Path) -> None:
    """watchdog's events-lost callback (inotify queue overflow) enqueues a rescan."""
    work: queue.SimpleQueue[WorkItem] = queue.SimpleQueue()
    EventHandler(str(tmp_path), work).on_events_lost(FileSystemEvent(str(tmp_path)))
    assert work.get_nowait() == Rescan()


def test_dead_observer_is_detected(tmp_path: Path) -> None:
    """When the watched directory goes away the emitter stops, and observer_alive says so."""
    directory = tmp_path / "inbox"
    directory.mkdir()
    work: queue.SimpleQueue[WorkItem] = queue.SimpleQueue()
    observer = start_observer(
        str(directory), EventHandler(str(directory), work), polling=False, poll_interval=1
    )
    try:
        assert observer_alive(observer)
        directory.rmdir()
        wait_until(lambda: not observer_alive(observer), timeout=20, what="a dead emitter")
    finally:
        observer.stop()
        observer.join()
