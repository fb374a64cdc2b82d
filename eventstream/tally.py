"""The running totals: lock-protected, bounded in the number of tracked types.

One thread (the parser thread) writes, in whole batches; the reporter reads a consistent
snapshot. A batch is built against the tally's current set of tracked types, so the cap is
applied exactly as if the events had been added one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from eventstream.report import CORE_TYPES

MAX_OTHER_TYPES = 1000  # types tracked besides the core three; later new ones are summed


class Batch:
    """Counts of one read pass, to be applied to a tally in one step.

    Only the tally's writer thread may build a batch, since it reads the tally's tracked names
    without the lock (nobody else changes them).
    """

    def __init__(self, tally: Tally) -> None:
        self._tally = tally
        self.counts: dict[str, int] = {}
        self.other = 0
        self._room = MAX_OTHER_TYPES - tally.other_type_count

    def add(self, counts: Mapping[str, int]) -> None:
        """Add per-type counts, summing types past the cap into `other`."""
        for kind, n in counts.items():
            if kind in self.counts:
                self.counts[kind] += n
            elif kind in CORE_TYPES or self._tally.tracks(kind):
                self.counts[kind] = n
            elif self._room > 0:
                self._room -= 1
                self.counts[kind] = n
            else:
                self.other += n

    def __bool__(self) -> bool:
        return bool(self.counts) or self.other > 0


class Tally:
    """Totals per event type (in order of first appearance) and the `(other types)` sum."""

    def __init__(self, totals: Mapping[str, int] | None = None, other: int = 0) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, int] = dict(totals or {})
        self._other = other
        self._other_types = sum(1 for kind in self._totals if kind not in CORE_TYPES)

    @property
    def other_type_count(self) -> int:
        """How many types besides the core three are tracked."""
        return self._other_types

    def tracks(self, kind: str) -> bool:
        """Whether `kind` has its own line."""
        return kind in self._totals

    def apply(self, batch: Batch) -> None:
        """Add a whole batch atomically: a snapshot sees all of it or none."""
        with self._lock:
            for kind, n in batch.counts.items():
                if kind not in self._totals and kind not in CORE_TYPES:
                    self._other_types += 1
                self._totals[kind] = self._totals.get(kind, 0) + n
            self._other += batch.other

    def snapshot(self) -> tuple[dict[str, int], int]:
        """A consistent copy: (totals by type, sum of the untracked types)."""
        with self._lock:
            return dict(self._totals), self._other
