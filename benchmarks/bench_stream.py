"""Speed, latency and memory of `stream-events` (embedded engine), against references.

    python benchmarks/bench_stream.py [--groups 1000000] [--repeat 3] [--work-dir DIR]

1. Throughput: whole-process wall time (median of --repeat runs) to count a generated data
   set with `stream-events --once`, against the read floor (`cat` and a Python read of all
   bytes), a plain per-line `json.loads` loop, and DuckDB `read_json` with an explicit schema
   (optional: `pip install duckdb`; skipped when missing). Ratios are printed.
2. Latency: with `--report-interval=0.05`, time from a file's rename into the watched
   directory to the first report that includes it: p50 / p99 over 200 files.
3. Memory: peak RSS (`/usr/bin/time -f %M`) of `--once` over 10,000 small files present at
   start, and over a single ~1 GB file built from the data set (deleted afterwards).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PYTHON = sys.executable
STREAM = (PYTHON, "-m", "eventstream")
GENERATE = (PYTHON, "-m", "eventgen")

JSON_LOOP = """
import json, os, sys
from collections import Counter
counts = Counter()
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    if name.startswith("events-") and name.endswith(".json"):
        with open(os.path.join(folder, name), "rb") as handle:
            for line in handle:
                if line.strip():
                    counts[json.loads(line)["type"]] += 1
print(dict(counts))
"""

READ_ALL = """
import os, sys
folder = sys.argv[1]
total = 0
for name in os.listdir(folder):
    with open(os.path.join(folder, name), "rb") as handle:
        while block := handle.read(1 << 20):
            total += len(block)
print(total)
"""

DUCKDB = """
import sys, duckdb
rows = duckdb.connect().execute(
    "SELECT type, count(*) FROM read_json(?, format='newline_delimited', columns="
    "{'type': 'VARCHAR', 'data': 'STRUCT(viewId VARCHAR, eventDateTime VARCHAR)'}) "
    "GROUP BY type", [sys.argv[1] + "/events-*.json"]).fetchall()
print(rows)
"""


def timed(command: Sequence[str], repeat: int) -> float:
    """Median wall time of running `command` to completion (output discarded)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mib(command: Sequence[str]) -> tuple[float, str]:
    """Peak RSS of a command in MiB (GNU time), and its stdout."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], check=True, capture_output=True, text=True
    )
    return int(result.stderr.strip().splitlines()[-1]) / 1024, result.stdout


def generate(directory: Path, groups: int) -> str:
    """The data set, by the project's generator; returns its totals report."""
    result = subprocess.run(
        [*GENERATE, f"--number-of-groups={groups}", "--batch-size=5000", "--interval=0",
         "--quiet", "--seed=1", f"--output-directory={directory}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout


def throughput(data: Path, expected: str, repeat: int) -> None:
    """Section 1: counting a backlog, whole-process wall times and ratios."""
    once = subprocess.run(
        [*STREAM, f"--input-directory={data}", "--once"], check=True, capture_output=True, text=True
    )
    assert once.stdout == expected, "stream-events --once disagrees with the generator"
    size = sum(path.stat().st_size for path in data.iterdir())
    commands: list[tuple[str, list[str]]] = [
        ("read floor: cat > /dev/null", ["sh", "-c", f"cat {data}/* > /dev/null"]),
        ("read floor: Python read of all bytes", [PYTHON, "-c", READ_ALL, str(data)]),
        ("plain json.loads per line", [PYTHON, "-c", JSON_LOOP, str(data)]),
        ("stream-events --once", [*STREAM, f"--input-directory={data}", "--once"]),
    ]
    if importlib.util.find_spec("duckdb"):  # optional, benchmark-only dependency
        commands.append(("DuckDB read_json, explicit schema", [PYTHON, "-c", DUCKDB, str(data)]))
    else:
        print("(duckdb not installed: its row is skipped)")
    rows = [(name, timed(command, repeat)) for name, command in commands]
    ours = dict(rows)["stream-events --once"]
    files = len(os.listdir(data))
    print(f"\n## Throughput: {size / 1e6:.0f} MB, {files} files, median of {repeat} runs")
    print("| command | seconds | MB/s | stream-events / this |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {size / 1e6 / seconds:.0f} | {ours / seconds:.2f}x |")


def latency(work: Path, files: int = 200) -> None:
    """Section 2: rename-to-report latency with --report-interval=0.05."""
    inbox = work / "latency"
    inbox.mkdir()
    line = (
        b'{"type": "Viewed", "data": {"viewId": "aa072e9e-cb04-45c8-9ad6-cfeae76dcbe7", '
        b'"eventDateTime": "2018-05-14T12:00:00Z"}}\n'
    )
    process = subprocess.Popen(
        [*STREAM, f"--input-directory={inbox}", "--report-interval=0.05"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[tuple[float, int]] = []  # (arrival time, Viewed total) per report
    ready = threading.Condition()

    def read_reports() -> None:
        assert process.stdout is not None
        for text in process.stdout:
            if text.startswith('"Viewed": '):
                with ready:
                    seen.append((time.perf_counter(), int(text.split(": ")[1])))
                    ready.notify_all()

    reader = threading.Thread(target=read_reports)
    reader.start()
    delays = []
    jitter = random.Random(1)
    for n in range(1, files + 1):
        (inbox / f".tmp-{n}").write_bytes(line)
        time.sleep(jitter.uniform(0, 0.05))  # land at a random phase of the report clock
        landed = time.perf_counter()
        os.rename(inbox / f".tmp-{n}", inbox / f"events-{n:04d}.json")
        with ready:
            ready.wait_for(lambda n=n: bool(seen) and seen[-1][1] >= n, timeout=30)  # type: ignore[misc]
            delays.append(next(t for t, total in seen if total >= n) - landed)
    process.terminate()
    process.wait()
    reader.join()
    delays.sort()
    p50, p99 = statistics.median(delays), delays[int(0.99 * (len(delays) - 1))]
    print(f"\n## Latency (rename -> report, --report-interval=0.05, {files} files)")
    print(f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms")


def memory(work: Path, data: Path, expected: Callable[[int], str]) -> None:
    """Section 3: peak RSS with 10,000 files at start, and with one ~1 GB file."""
    many = work / "many"
    many.mkdir()
    sample = next(data.iterdir()).read_bytes().splitlines(keepends=True)[:20]
    for n in range(10_000):
        (many / f"events-{n:05d}.json").write_bytes(b"".join(sample))
    rss_many, _ = peak_rss_mib([*STREAM, f"--input-directory={many}", "--once"])
    shutil.rmtree(many)
    big = work / "big"
    big.mkdir()
    copies = 0
    with open(big / "events-big.json", "wb") as out:
        while out.tell() < 1 << 30:
            for path in sorted(data.iterdir()):
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 22)
            copies += 1
    size = (big / "events-big.json").stat().st_size
    start = time.perf_counter()
    rss_big, report = peak_rss_mib([*STREAM, f"--input-directory={big}", "--once"])
    seconds = time.perf_counter() - start
    assert report == expected(copies), "the 1 GB file was not counted exactly"
    shutil.rmtree(big)
    print("\n## Memory (peak RSS of stream-events --once)")
    print(f"10,000 files of 20 lines at start: {rss_many:.0f} MiB")
    print(f"one {size / 1e9:.2f} GB file: {rss_big:.0f} MiB ({seconds:.1f} s, counted exactly)")


def main() -> None:
    """Run the three sections and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    print(f"# stream-events benchmark: {platform.platform()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=args.work_dir) as temporary:
        work = Path(temporary)
        data = work / "data"
        expected = generate(data, args.groups)
        throughput(data, expected, args.repeat)
        latency(work)

        def times(copies: int) -> str:
            lines = [line.split(": ") for line in expected.strip().splitlines()]
            return "".join(f"{name}: {int(n) * copies}\n" for name, n in lines) + "\n"

        memory(work, data, times)


if __name__ == "__main__":
    main()
