"""The Spark side of the job: session settings, the file source, one micro-batch's counts.

Plain functions over PySpark objects; the query's lifecycle (start, signals, reports) is in
`eventstream.spark`. PySpark is imported lazily by that module, so importing this one needs
PySpark installed.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from eventstream.spark_totals import BatchCounts, Totals

FILE_PATTERN = "events-*.json"
CORRUPT = "_corrupt_record"
# Only `type` is read; Spark's JSON parser skips the other fields. A line that is not JSON
# lands in the corrupt-record column (PERMISSIVE mode) instead of failing the batch.
SCHEMA = T.StructType(
    [T.StructField("type", T.StringType()), T.StructField(CORRUPT, T.StringType())]
)
APP_NAME = "stream-events"


def is_local(master: str) -> bool:
    """Whether `master` runs Spark inside this machine's driver JVM."""
    return master == "local" or master.startswith("local[")


def build_session(*, master: str | None) -> SparkSession:
    """Start (or join, under spark-submit) a session set up for small, quiet micro-batches.

    `master` None keeps the one spark-submit chose.
    """
    builder = SparkSession.builder.appName(APP_NAME).config("spark.ui.showConsoleProgress", "false")
    if master is not None:
        builder = builder.master(master)
        if is_local(master):
            # No web UI for a local run: faster start-up, no port taken.
            builder = builder.config("spark.ui.enabled", "false")
    # A micro-batch's aggregate is a handful of rows: a few shuffle partitions are plenty.
    builder = builder.config("spark.sql.shuffle.partitions", "2")
    # Streaming queries turn adaptive execution off anyway; saying so avoids a warning.
    builder = builder.config("spark.sql.adaptive.enabled", "false")
    return builder.getOrCreate()


def event_stream(spark: SparkSession, directory: str) -> DataFrame:
    """The stream of parsed lines of `events-*.json` files directly in `directory`.

    Columns: `type`, `_corrupt_record` and the line's position (file, block start), so a
    batch can order new types by first appearance as the embedded engine does.
    """
    lines = (
        spark.readStream.schema(SCHEMA)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("pathGlobFilter", FILE_PATTERN)
        .json(directory)
    )
    return lines.select(
        "type",
        CORRUPT,
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
    )


def count_batch(batch: DataFrame, totals: Totals) -> tuple[BatchCounts, dict[str, int]]:
    """Count one micro-batch against the types `totals` tracks.

    Returns the counts and the number of invalid lines per file (a line is invalid when it
    is not a JSON object, or its `type` is missing or null: the embedded engine's rule).
    Only a bounded number of rows reaches the driver: the tracked types, at most `room` new
    types (the first to appear: by file name, block, then line order within a partition)
    and one row per file with invalid lines.
    """
    invalid = F.col(CORRUPT).isNotNull() | F.col("type").isNull()
    tracked = totals.tracked_types()
    rows = batch.select(
        F.when(invalid, F.lit(None)).otherwise(F.col("type")).alias("type"),
        F.when(invalid, F.col("file")).alias("bad_file"),
        F.struct("file", "block", F.monotonically_increasing_id()).alias("position"),
    )
    per_type = (
        rows.groupBy("type", "bad_file")
        .agg(F.count(F.lit(1)).alias("n"), F.min("position").alias("first"))
        .withColumn("known", F.col("type").isin(tracked))
        .persist()
    )
    try:
        summary = (
            per_type.groupBy(
                F.when(F.col("known") | F.col("type").isNull(), F.col("type")).alias("type"),
                "bad_file",
                F.col("known"),
            )
            .agg(F.sum("n").alias("n"))
            .collect()
        )
        known: dict[str, int] = {}
        bad_files: dict[str, int] = {}
        new_total = 0
        for row in summary:
            if row["bad_file"] is not None:
                bad_files[row["bad_file"]] = int(row["n"])
            elif row["known"]:
                known[row["type"]] = int(row["n"])
            else:
                new_total += int(row["n"])
        new: list[tuple[str, int]] = []
        room = totals.room()
        if new_total and room:
            first_new = (
                per_type.filter(~F.col("known") & F.col("type").isNotNull())
                .orderBy("first")
                .limit(room)
                .collect()
            )
            new = [(row["type"], int(row["n"])) for row in first_new]
        rest = new_total - sum(n for _, n in new)
        counts = BatchCounts(known, new, rest, sum(bad_files.values()))
        return counts, bad_files
    finally:
        per_type.unpersist()


def describe_invalid(batch_id: int, bad_files: dict[str, int], *, limit: int = 5) -> str:
    """One warning line for the invalid lines of a batch, naming up to `limit` files."""
    total = sum(bad_files.values())
    shown = ", ".join(f"{name} ({n})" for name, n in sorted(bad_files.items())[:limit])
    more = f" and {len(bad_files) - limit} more files" if len(bad_files) > limit else ""
    return f"batch {batch_id}: {total} invalid lines not counted, in {shown}{more}"
