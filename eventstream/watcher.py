"""The watchdog side: callbacks that only put work items on a queue.

The callbacks run on the observer thread under its lock, so they do no I/O: they filter by
name and enqueue. A file is "landed" when it is closed after writing (`on_closed`), renamed
into its name (`on_moved`), or moved or hard-linked in from elsewhere (`on_created`, which is
followed by no close event). An inotify queue overflow asks for an immediate rescan.
"""

from __future__ import annotations

import os
import queue
from dataclasses import dataclass

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from eventstream.scanner import is_event_name


@dataclass(frozen=True)
class Landed:
    """A file to look at. `final`: its writer is done, so an unterminated last line counts.

    `moved_from` is the old name when the file was renamed inside the directory, so the
    count already made under the old name carries over instead of starting again.
    """

    name: str
    final: bool = False
    moved_from: str | None = None


@dataclass(frozen=True)
class Rescan:
    """Events may have been lost: list the directory now."""


WorkItem = Landed | Rescan


class EventHandler(FileSystemEventHandler):
    """Turns watchdog events for `directory` into work items on `work`."""

    def __init__(self, directory: str, work: queue.SimpleQueue[WorkItem]) -> None:
        super().__init__()
        self._directory = os.path.abspath(directory)
        self._work = work

    def _name(self, path: str | bytes) -> str | None:
        text = os.fsdecode(path)
        head, name = os.path.split(text)
        if os.path.abspath(head) != self._directory or not is_event_name(name):
            return None
        return name

    def on_closed(self, event: FileClosedEvent) -> None:
        name = self._name(event.src_path)
        if name is not None:
            self._work.put(Landed(name, final=True))

    def on_created(self, event: DirCreatedEvent | FileCreatedEvent) -> None:
        if event.is_directory:
            return
        name = self._name(event.src_path)
        if name is not None:
            self._work.put(Landed(name))

    def on_moved(self, event: DirMovedEvent | FileMovedEvent) -> None:
        if event.is_directory:
            return
        name = self._name(event.dest_path)
        if name is not None:
            self._work.put(Landed(name, final=True, moved_from=self._name(event.src_path)))

    def on_events_lost(self, event: FileSystemEvent) -> None:
        self._work.put(Rescan())


def start_observer(
    directory: str, handler: EventHandler, *, polling: bool, poll_interval: float
) -> BaseObserver:
    """Start an observer on `directory` (not recursive): inotify, or polling if asked."""
    observer = PollingObserver(timeout=poll_interval) if polling else Observer()
    observer.schedule(handler, directory, recursive=False)
    observer.start()
    return observer


def observer_alive(observer: BaseObserver) -> bool:
    """The observer thread and every emitter thread are still running."""
    return bool(observer.is_alive()) and all(emitter.is_alive() for emitter in observer.emitters)
