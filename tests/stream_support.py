"""Test support for the streamer tests: a tiny event-file writer and a streamer process."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from eventstream.report import parse_report
from tests.helpers import STREAM, wait_until

CORE = ("Viewed", "Interacted", "Click-Through")


def event_line(kind: str, *, spaced: bool = False) -> bytes:
    """One event line in the generator's canonical shape (or the challenge's spaced shape)."""
    view_id = uuid.uuid4()
    if spaced:
        text = (
            f'{{ "type": "{kind}", "data": {{ "viewId": "{view_id}", '
            f'"eventDateTime": "2018-05-14T12:00:00Z" }} }}\n'
        )
    else:
        text = (
            f'{{"type": "{kind}", "data": {{"viewId": "{view_id}", '
            f'"eventDateTime": "2018-05-14T12:00:00Z"}}}}\n'
        )
    return text.encode()


def events(viewed: int = 0, interacted: int = 0, click_through: int = 0) -> bytes:
    """A block of canonical lines with the given counts."""
    return b"".join(
        [event_line("Viewed")] * viewed
        + [event_line("Interacted")] * interacted
        + [event_line("Click-Through")] * click_through
    )


def publish(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` under a hidden temporary name in `directory`, then rename it to `name`."""
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(data)
    target = directory / name
    os.rename(temporary, target)
    return target


def totals(text: str) -> dict[str, int]:
    """The last report in `text`, or {} when there is none yet."""
    try:
        return parse_report(text)
    except ValueError:
        return {}


def blocks(text: str) -> list[dict[str, int]]:
    """Every complete report block in `text` (a block ends with a blank line)."""
    complete = text[: text.rfind("\n\n") + 2] if "\n\n" in text else ""
    return [parse_report(block + "\n\n") for block in complete.split("\n\n") if block.strip()]


def counts(viewed: int = 0, interacted: int = 0, click_through: int = 0) -> dict[str, int]:
    """The expected core totals."""
    return {"Viewed": viewed, "Interacted": interacted, "Click-Through": click_through}


class Streamer:
    """`python -m eventstream` in the background, stdout/stderr to files in `workdir`."""

    def __init__(self, workdir: Path, *args: str, name: str = "streamer") -> None:
        self.stdout_path = workdir / f"{name}.out"
        self.stderr_path = workdir / f"{name}.err"
        self._args: Sequence[str] = args
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        self._run_starts_at = 0  # stdout offset where the current run's output begins

    def __enter__(self) -> Streamer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.kill()
            self.wait()

    def start(self) -> None:
        """Start (again), appending to the same output files."""
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self._run_starts_at = out.tell()
            self.process = subprocess.Popen([*STREAM, *self._args], stdout=out, stderr=err)

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the process to end; return its exit status."""
        assert self.process is not None
        self.returncode = self.process.wait(timeout=timeout)
        self.process = None
        return self.returncode

    def send(self, signum: int = signal.SIGINT) -> None:
        """Send a signal to the running process."""
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Signal the process and wait for its exit status."""
        self.send(signum)
        return self.wait()

    @property
    def stdout(self) -> str:
        """Everything printed on stdout so far."""
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        """Everything printed on stderr so far."""
        return self.stderr_path.read_text()

    def totals(self) -> dict[str, int]:
        """The latest complete report of the current run ({} before its first one)."""
        with open(self.stdout_path, "rb") as out:
            out.seek(self._run_starts_at)
            return totals(out.read().decode())

    def wait_for(self, expected: dict[str, int], timeout: float = 30.0) -> None:
        """Poll the current run's reports until the latest equals `expected` (so the run
        has printed a report: its signal handlers are in place)."""
        wait_until(
            lambda: self.totals() == expected,
            timeout=timeout,
            what=f"report {expected}",
        )


def lines_of(kinds: Iterable[str]) -> bytes:
    """Canonical lines for a sequence of types."""
    return b"".join(event_line(kind) for kind in kinds)
