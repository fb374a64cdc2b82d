"""In-process tests of eventstream.pipeline: shutdown, thread hygiene, watcher supervision."""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from watchdog.observers.api import EventEmitter

from eventstream.cli import main
from eventstream.config import StreamConfig
from eventstream.harvester import Harvester
from eventstream.pipeline import SAVE_EVERY, Saver, restart_observer
from eventstream.tally import Tally
from eventstream.watcher import EventHandler, Landed, Rescan, WorkItem, start_observer
from tests.helpers import wait_until
from tests.stream_support import events, publish


def in_background(action: Callable[[], None]) -> threading.Thread:
    """Run `action` in a helper thread (joined by the test)."""
    thread = threading.Thread(target=action)
    thread.start()
    return thread


def test_sigint_in_process_joins_every_thread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() watching in-process stops on SIGINT with its final report and leaves no
    thread or file descriptor behind (observer, emitter and parser thread all joined)."""
    checkpoint = tmp_path / "state.json"
    publish(tmp_path, "events-1.json", events(1, 2))
    before = set(threading.enumerate())
    descriptors = len(os.listdir("/proc/self/fd"))

    def interrupt() -> None:
        wait_until(checkpoint.exists, what="the first checkpoint")
        os.kill(os.getpid(), signal.SIGINT)

    helper = in_background(interrupt)
    code = main(
        [f"--input-directory={tmp_path}", "--report-interval=0.05", f"--checkpoint={checkpoint}"]
    )
    helper.join()
    assert code == 0
    assert set(threading.enumerate()) == before
    assert len(os.listdir("/proc/self/fd")) == descriptors  # inotify and files closed
    assert capsys.readouterr().out.endswith('"Viewed": 1\n"Interacted": 2\n"Click-Through": 0\n\n')


def test_dead_watcher_is_reported_and_restarted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """When the watcher's emitter thread dies the streamer logs it, starts a new observer,
    and files landing afterwards are still counted."""
    checkpoint = tmp_path / "state.json"
    publish(tmp_path, "events-1.json", events(1))

    def kill_watcher_then_interrupt() -> None:
        wait_until(checkpoint.exists, what="the first checkpoint")
        [emitter] = [t for t in threading.enumerate() if isinstance(t, EventEmitter)]
        emitter.stop()
        emitter.join()
        wait_until(lambda: "restarting" in caplog.text, what="the restart message")
        wait_until(
            lambda: any(isinstance(t, EventEmitter) for t in threading.enumerate()),
            what="a new emitter",
        )
        publish(tmp_path, "events-2.json", events(0, 5))
        wait_until(lambda: b"events-2.json" in checkpoint.read_bytes(), what="the new file")
        os.kill(os.getpid(), signal.SIGINT)

    with caplog.at_level(logging.ERROR):
        helper = in_background(kill_watcher_then_interrupt)
        code = main(
            [f"--input-directory={tmp_path}", "--report-interval=0.05",
             f"--checkpoint={checkpoint}"]
        )  # fmt: skip
        helper.join()
    assert code == 0
    assert "the directory watcher stopped; restarting it" in caplog.text
    assert capsys.readouterr().out.endswith('"Viewed": 1\n"Interacted": 5\n"Click-Through": 0\n\n')


def test_saver_coalesces_under_a_backlog(tmp_path: Path) -> None:
    """Saves happen when idle, or at most every SAVE_EVERY seconds under a backlog; a save
    with nothing new is skipped."""
    checkpoint = tmp_path / "state.json"
    harvester = Harvester(str(tmp_path), Tally(), settle_time=10)
    now = [100.0]
    saver = Saver(str(checkpoint), harvester, None, clock=lambda: now[0])
    saver.save()
    assert not checkpoint.exists()
    saver.changed(idle=False)
    assert not checkpoint.exists()
    now[0] += SAVE_EVERY
    saver.changed(idle=False)
    assert checkpoint.exists()
    checkpoint.unlink()
    saver.changed(idle=False)
    assert not checkpoint.exists()
    saver.changed(idle=True)
    assert checkpoint.exists()


def test_restarted_observer_delivers_landings(tmp_path: Path) -> None:
    """restart_observer replaces a dead observer with one that itself reports new files (a
    Landed item on the queue, not just the rescan it asks for)."""
    work: queue.SimpleQueue[WorkItem] = queue.SimpleQueue()
    config = StreamConfig(input_directory=str(tmp_path))
    handler = EventHandler(str(tmp_path), work)
    dead = start_observer(str(tmp_path), handler, polling=False, poll_interval=1)
    [emitter] = dead.emitters
    emitter.stop()
    emitter.join()
    observer = restart_observer(config, handler, dead, work)
    try:
        assert work.get(timeout=10) == Rescan()
        publish(tmp_path, "events-1.json", events(1))
        assert work.get(timeout=10) == Landed("events-1.json", final=True)
    finally:
        observer.stop()
        observer.join()
