"""Shared test helpers: run the real commands, wait on conditions with a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

GENERATE = (sys.executable, "-m", "eventgen")
STREAM = (sys.executable, "-m", "eventstream")


def wait_until(
    predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll `predicate` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def run(
    command: Sequence[str], *args: str, timeout: float = 120.0, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing text stdout and stderr."""
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*command, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def start(command: Sequence[str], *args: str, **kwargs: object) -> subprocess.Popen[str]:
    """Start a command in the background with piped text stdout and stderr."""
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [*command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def event_files(directory: str | os.PathLike[str]) -> list[str]:
    """The published event files in `directory`, sorted by name (= publish order)."""
    names = os.listdir(directory)
    return sorted(n for n in names if n.startswith("events-") and n.endswith(".json"))
