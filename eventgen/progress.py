"""Progress on stderr: a tqdm bar (groups, files, events/s, ETA) when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from eventgen.totals import Totals


class Progress(Protocol):
    """What the pipeline reports to after each published file."""

    def update(self, totals: Totals) -> None:
        """Show the totals published so far."""

    def close(self) -> None:
        """Remove the bar (or do nothing)."""


class NoProgress:
    """Silent: stderr is not a terminal, or `--quiet`."""

    def update(self, totals: Totals) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


class BarProgress:
    """A tqdm bar counting groups (each group has exactly one `Viewed`), with files and
    events/s as postfix; tqdm gives the rate, the ETA and rate-limited redraws."""

    def __init__(self, total_groups: int, *, stream: TextIO) -> None:
        from tqdm import tqdm  # imported only when a bar is shown: start-up time matters

        class Bar(tqdm):  # type: ignore[type-arg]
            # No monitor thread: worker processes are forked after the bar exists, and a
            # fork should not copy a running thread's state. Updates come per file anyway.
            monitor_interval = 0

        self._bar = Bar(total=total_groups, unit="groups", unit_scale=True, file=stream,
                        dynamic_ncols=True)
        self._start = time.monotonic()
        self._groups = 0

    def update(self, totals: Totals) -> None:
        """Advance the bar to the published totals."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        self._bar.set_postfix_str(
            f"{totals.files} files, {totals.events / elapsed:,.0f} events/s", refresh=False
        )
        self._bar.update(totals.viewed - self._groups)
        self._groups = totals.viewed

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()


def make_progress(total_groups: int, *, quiet: bool, stream: TextIO | None = None) -> Progress:
    """A bar on `stream` (stderr) if it is a terminal and not `quiet`, else nothing."""
    stream = stream or sys.stderr
    if quiet or not stream.isatty():
        return NoProgress()
    return BarProgress(total_groups, stream=stream)
