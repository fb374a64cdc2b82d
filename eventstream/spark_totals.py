"""Pure state of the Spark engine: cumulative totals, one micro-batch's counts, the merge.

Spark's checkpoint makes the *input* of each micro-batch exactly-once (a batch id always
names the same files), but after a crash `foreachBatch` may run again for a batch id whose
totals were already saved. So the totals carry the id of the last batch they include, and a
batch whose id is not newer is skipped: applying a batch is idempotent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eventstream.report import CORE_TYPES
from eventstream.tally import MAX_OTHER_TYPES

NO_BATCH = -1  # the batch id of totals that include no batch yet


@dataclass(frozen=True)
class BatchCounts:
    """What one micro-batch adds, already split against the tracked types.

    `tracked`: counts of types the totals already track (core types included).
    `new`: counts of types seen for the first time, in order of first appearance, at most
    as many as there is room for under the cap. `rest`: the sum of the other new types.
    """

    tracked: dict[str, int] = field(default_factory=dict)
    new: list[tuple[str, int]] = field(default_factory=list)
    rest: int = 0
    invalid: int = 0


@dataclass(frozen=True)
class Totals:
    """Cumulative totals after batch `batch_id` (types in order of first appearance)."""

    counts: dict[str, int] = field(default_factory=dict)
    other: int = 0
    invalid: int = 0
    batch_id: int = NO_BATCH

    def tracked_types(self) -> list[str]:
        """The types with a line of their own: the core three and those already seen."""
        return [*CORE_TYPES, *(kind for kind in self.counts if kind not in CORE_TYPES)]

    def room(self) -> int:
        """How many more types besides the core three may still get a line of their own."""
        return max(0, MAX_OTHER_TYPES - sum(1 for kind in self.counts if kind not in CORE_TYPES))

    def apply(self, batch_id: int, batch: BatchCounts) -> Totals:
        """The totals with `batch` added; unchanged if `batch_id` is already included."""
        if batch_id <= self.batch_id:
            return self
        counts = dict(self.counts)
        for kind, n in batch.tracked.items():
            counts[kind] = counts.get(kind, 0) + n
        other = self.other + batch.rest
        room = self.room()
        for kind, n in batch.new:
            if kind in counts or kind in CORE_TYPES:
                counts[kind] = counts.get(kind, 0) + n
            elif room > 0:
                room -= 1
                counts[kind] = n
            else:  # only if the caller sent more new types than there was room for
                other += n
        return Totals(counts, other, self.invalid + batch.invalid, batch_id)

    def to_json(self) -> str:
        """Serialise; the counts are a list of pairs so their order survives any reader."""
        return json.dumps(
            {
                "batch_id": self.batch_id,
                "counts": [[kind, n] for kind, n in self.counts.items()],
                "other": self.other,
                "invalid": self.invalid,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Totals:
        """Parse `to_json` output; raise ValueError if it is not well-formed."""
        try:
            data: Any = json.loads(text)
            counts = {str(kind): int(n) for kind, n in data["counts"]}
            return cls(counts, int(data["other"]), int(data["invalid"]), int(data["batch_id"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed totals: {error}") from None
