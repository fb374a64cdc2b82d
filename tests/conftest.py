"""Fixtures shared by the test modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An empty directory for event files (the streamer's input, the generator's output)."""
    directory = tmp_path / "inbox"
    directory.mkdir()
    return directory


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread of its own running (an observer, a parser thread...).

    Threads are given a short grace to finish, polled, as watchdog's own test suite does.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"threads left running: {leaked}"
