"""The streamer's settings, validated once by the CLI and then shared read-only."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REPORT_INTERVAL = 5.0
MIN_REPORT_INTERVAL = 0.05
DEFAULT_SETTLE_TIME = 10.0
ENGINES = ("embedded", "spark")
DEFAULT_MASTER = "local[*]"


@dataclass(frozen=True, kw_only=True)
class StreamConfig:
    """Everything one run of `stream-events` needs.

    `input_directory` is a local path for the embedded engine; the Spark engine also accepts
    any location Spark can read (`file://`, `hdfs://`, `s3a://`).
    """

    input_directory: str
    report_interval: float = DEFAULT_REPORT_INTERVAL
    once: bool = False
    checkpoint: str | None = None
    dead_letter: str | None = None
    polling: bool = False
    settle_time: float = DEFAULT_SETTLE_TIME
    engine: str = "embedded"
    master: str = DEFAULT_MASTER
