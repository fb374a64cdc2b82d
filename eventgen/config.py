"""The generator's settings, validated once by the CLI and then shared read-only."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from eventgen.errors import UsageError

MAX_WORKERS = 64
"""A sanity bound: one writer cannot keep more busy, and each costs about 20 MB."""


@dataclass(frozen=True, kw_only=True)
class GeneratorConfig:
    """Everything one run of `generate-events` needs."""

    number_of_groups: int
    batch_size: int
    interval: float
    output_directory: str
    seed: int | None = None
    workers: int = 1
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.number_of_groups < 0:
            raise UsageError(
                f"--number-of-groups: must be an integer >= 0, got {self.number_of_groups}"
            )
        if self.batch_size < 1:
            raise UsageError(f"--batch-size: must be an integer >= 1, got {self.batch_size}")
        if not (math.isfinite(self.interval) and self.interval >= 0):
            raise UsageError(f"--interval: must be a number of seconds >= 0, got {self.interval}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise UsageError(
                f"--workers: must be an integer from 1 to {MAX_WORKERS}, got {self.workers}"
            )
        if self.seed is not None and self.seed < 0:
            raise UsageError(f"--seed: must be an integer >= 0, got {self.seed}")
        if not self.output_directory:  # whether it can be written is for the writer to prove
            raise UsageError("--output-directory: must not be empty")


MAX_DEFAULT_WORKERS = 4
"""Beyond a few workers the single writer becomes the bottleneck and more workers only cost
memory (about 20 MB each); a judgement, as only 2 CPUs were measured (see the README)."""


def default_workers() -> int:
    """Worker processes by default: one per usable CPU, at most `MAX_DEFAULT_WORKERS`.

    Measured on 2 CPUs: 2 workers were as fast as or faster than 1 (see the README).
    """
    return max(1, min(MAX_DEFAULT_WORKERS, len(os.sched_getaffinity(0))))
