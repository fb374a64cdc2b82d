"""When is Spark worth it? `stream-events --once` on the Spark engine vs the embedded engine.

Whole processes, timed with a monotonic clock (median of `--repeat` runs for the two
engines, of 2 for Spark's empty-directory run, 1 for the floor and the plain reference), on
one data set (by default the challenge's 1M groups, ~1.2M events, made with
`generate-events`):

- floor (embedded): a Python process that only reads every file's bytes;
- plain reference: a Python process that counts types with the standard library's json;
- embedded: `stream-events --once`;
- floor (Spark): `stream-events --engine=spark --once` on an empty directory, i.e. the fixed
  cost of a JVM, a Spark session and one streaming query;
- Spark: `stream-events --engine=spark --once` on the data.

Both engines' reports must be identical. Run: `python benchmarks/bench_spark.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

PYTHON = sys.executable
STREAM = (PYTHON, "-m", "eventstream")

READ_ONLY = """
import os, sys
d = sys.argv[1]
n = 0
for name in sorted(os.listdir(d)):
    if name.startswith("events-") and name.endswith(".json"):
        with open(os.path.join(d, name), "rb") as f:
            n += len(f.read())
print(n)
"""

PLAIN_JSON = """
import collections, json, os, sys
d = sys.argv[1]
counts = collections.Counter()
for name in sorted(os.listdir(d)):
    if name.startswith("events-") and name.endswith(".json"):
        with open(os.path.join(d, name), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    counts[json.loads(line)["type"]] += 1
print(dict(counts))
"""


def timed(command: Sequence[str]) -> tuple[float, str]:
    """Run a command to completion; return (wall seconds, stdout). Fail loudly on an error."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    return elapsed, result.stdout


def median_run(label: str, command: Sequence[str], repeat: int) -> tuple[float, str]:
    """Median wall time of `repeat` runs (and the last stdout), logged on stderr."""
    times, stdout = [], ""
    for _ in range(repeat):
        elapsed, stdout = timed(command)
        times.append(elapsed)
    print(f"{label}: {', '.join(f'{t:.2f}' for t in times)} s", file=sys.stderr)
    return statistics.median(times), stdout


def make_data(directory: Path, groups: int) -> None:
    """The challenge's data set, made by the generator (seeded, as fast as possible)."""
    command = [
        PYTHON, "-m", "eventgen", f"--number-of-groups={groups}", "--batch-size=5000",
        "--interval=0", "--quiet", "--seed=1", f"--output-directory={directory}",
    ]  # fmt: skip
    elapsed, _ = timed(command)
    print(f"generated {groups} groups in {elapsed:.1f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--data", type=Path, help="reuse this directory of event files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as scratch:
        data = args.data or Path(scratch, "data")
        if args.data is None:
            make_data(data, args.groups)
        empty = Path(scratch, "empty")
        empty.mkdir()
        files = [name for name in os.listdir(data) if name.startswith("events-")]
        size = sum((data / name).stat().st_size for name in files)
        spark = (*STREAM, "--engine=spark", f"--master={args.master}", "--once")

        floor, _ = median_run("floor (read bytes)", [PYTHON, "-c", READ_ONLY, str(data)], 1)
        plain, _ = median_run("plain json", [PYTHON, "-c", PLAIN_JSON, str(data)], 1)
        embedded, embedded_out = median_run(
            "embedded", [*STREAM, f"--input-directory={data}", "--once"], args.repeat
        )
        spark_floor, _ = median_run("spark, empty dir", [*spark, f"--input-directory={empty}"], 2)
        spark_time, spark_out = median_run(
            "spark", [*spark, f"--input-directory={data}"], args.repeat
        )

    if spark_out != embedded_out:
        sys.exit(f"reports differ:\nembedded:\n{embedded_out}\nspark:\n{spark_out}")
    events = sum(int(line.rpartition(": ")[2]) for line in spark_out.splitlines() if line)
    print(f"data: {len(files)} files, {size / 1e6:.0f} MB, {events} events; Spark {args.master}")
    print(f"{'run':<34}{'seconds':>9}{'x embedded':>12}{'events/s':>12}")
    rows = [
        ("floor: read the bytes", floor),
        ("plain reference: stdlib json", plain),
        ("embedded --once", embedded),
        ("Spark --once, empty directory", spark_floor),
        ("Spark --once", spark_time),
        ("Spark minus its fixed cost", spark_time - spark_floor),
    ]
    for label, seconds in rows:
        rate = f"{events / seconds:,.0f}" if seconds > 0 and "empty" not in label else "-"
        print(f"{label:<34}{seconds:>9.2f}{seconds / embedded:>12.1f}{rate:>12}")


if __name__ == "__main__":
    main()
