"""The Spark side of the job: session settings, the file source, one micro-batch's counts.

Plain functions over PySpark objects; the query's lifecycle (start, signals, reports) is in
`eventstream.spark`. PySpark is imported lazily by that module, so importing this one needs
PySpark installed.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from eventstream.spark_totals import BatchCounts, Totals

FILE_PATTERN = "events-*.json"
MAX_LINE_BYTES = 1 << 20  # as in the embedded engine: a longer line is invalid
# The generator's own line shape (the embedded parser's fast path, in Java regex syntax;
# `\z`, not `$`, which would also match before a trailing line terminator): such a line is
# valid JSON with that type, so the JSON parser is only needed for the other lines.
CANONICAL_LINE = (
    r'^\{"type": "(Viewed|Interacted|Click-Through)", "data": \{"viewId": "[0-9a-f-]{36}", '
    r'"eventDateTime": "[0-9T:Z.+-]{1,40}"\}\}\z'
)
BLANK = " \t\r"  # with the newline, JSON whitespace: a line of only these is blank
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
    # A JSON object with a repeated key is valid for ujson, which keeps the last value.
    builder = builder.config("spark.sql.variant.allowDuplicateKeys", "true")
    return builder.getOrCreate()


def event_stream(spark: SparkSession, directory: str) -> DataFrame:
    """The stream of lines of `events-*.json` files directly in `directory`, as raw text.

    Columns: `value` (the line's bytes, not decoded: Spark's text source keeps them as they
    are, so invalid UTF-8 can still be told apart) and the line's position (file, block
    start), so a batch can order new types by first appearance as the embedded engine does.
    Lines end at a newline only, as in the embedded engine (a carriage return stays in the line).
    """
    lines = (
        spark.readStream.format("text")
        .option("lineSep", "\n")
        .option("pathGlobFilter", FILE_PATTERN)
        .load(directory)
    )
    return lines.select(
        "value",
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
    )


def _wrapped(line: Column, mark: str) -> Column:
    """`[<line>,"<mark>"]` parsed as JSON into a variant (SQL NULL if it is not JSON)."""
    return F.try_parse_json(F.concat(F.lit("["), line, F.lit(f',"{mark}"]')))


def typed_lines(lines: DataFrame) -> DataFrame:
    """`lines` without its blank lines, and with `value` (a raw line) replaced by `type`.

    `type` is the embedded engine's verdict: the string `type` of a line that is one JSON
    object in valid UTF-8, at most 1 MiB long; NULL for any other (invalid) line. Blank lines
    (see `BLANK`) are dropped. Lines in the generator's exact shape skip the JSON parser.

    Spark's JSON parser stops after the first complete value and ignores the rest, so a line
    is parsed inside `[<line>,"0"]`: it is one whole value (up to whitespace) when that array
    has exactly two elements, the second our own "0". Without a `]` in the line nothing can
    close the array before our own `]`, so that is exact; a line with a `]` could close it
    early (`{...}, "0"] x`), so it is parsed again inside `[<line>,"1"]`: only if the parser
    reached our mark do the two parses differ there. Each step is its own projection so that
    Spark evaluates the regex and each parse once per line.
    """
    rest = [name for name in lines.columns if name != "value"]
    line = F.col("value")
    canonical = F.col("canonical") != ""
    parse = ~canonical & (F.octet_length(line) <= MAX_LINE_BYTES) & F.is_valid_utf8(line)
    bracket = line.contains("]")
    zero, one = F.col("zero"), F.col("one")
    kind = F.try_variant_get(zero, "$[0].type", "variant")
    ends_with_mark = (F.try_variant_get(zero, "$[1]", "string") == "0") & F.when(
        bracket, F.try_variant_get(one, "$[1]", "string") == "1"
    ).otherwise(F.try_variant_get(zero, "$[2]", "variant").isNull())
    is_string = F.schema_of_variant(kind) == "STRING"  # not a number, bool... turned to text
    return (
        lines.filter(F.trim(line, F.lit(BLANK)) != "")
        .select(*rest, line, F.regexp_extract(line, CANONICAL_LINE, 1).alias("canonical"))
        .select(
            *rest,
            "canonical",
            line,
            F.when(parse, _wrapped(line, "0")).alias("zero"),
            F.when(parse & bracket, _wrapped(line, "1")).alias("one"),
        )
        .select(
            *rest,
            F.when(canonical, F.col("canonical"))
            .when(ends_with_mark & is_string, F.try_variant_get(kind, "$", "string"))
            .alias("type"),
        )
    )


def count_batch(batch: DataFrame, totals: Totals) -> tuple[BatchCounts, dict[str, int]]:
    """Count one micro-batch against the types `totals` tracks.

    Returns the counts and the number of invalid lines per file (see `typed_lines`).
    Only a bounded number of rows reaches the driver: the tracked types, at most `room` new
    types (the first to appear: by file name, block, then line order within a partition)
    and one row per file with invalid lines.
    """
    tracked = totals.tracked_types()
    rows = typed_lines(batch).select(
        "type",
        F.when(F.col("type").isNull(), F.col("file")).alias("bad_file"),
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
