"""Benchmark of `generate-events`: speed against a copy floor and a plain reference, and
peak memory of the whole process tree at two sizes.

    python benchmarks/bench_generate.py [--repeat 7] [--groups 1000000]

All timings are whole processes (start-up included), medians of `--repeat` runs, in a
temporary directory under /tmp (removed at the end):

- generate: `generate-events --number-of-groups=G --batch-size=5000 --interval=0 --quiet`,
  with --workers=1 and with --workers=2 (the default is one per usable CPU);
- floors: copies of the directory just generated to a new directory on the same file
  system, reading and writing the same bytes with no generation at all: `cp -r`, and
  `benchmarks/gen_copy_floor.py` (a Python read/write loop, so it pays the same
  interpreter start-up as the generator);
- reference: `benchmarks/gen_reference.py`, one uuid4() per group and one json.dumps per
  event, writing the same files.

Memory: while the generator runs, /proc is sampled every 2 ms for the generator and all its
descendants (the workers). Reported: the largest sampled sum of VmRSS over the tree, and the
sum over processes of each one's own peak (VmHWM, last sample): an upper bound of the
tree's peak, since individual peaks need not coincide. Pages shared between the writer and a
worker (the shared-memory chunk slots) are counted in both, so both figures are
conservative.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = 5000


def generate_command(groups: int, directory: Path, *extra: str) -> list[str]:
    """The installed console script if present (as a user runs it), else `python -m`."""
    script = Path(sys.executable).with_name("generate-events")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "eventgen"]
    return [*program, f"--number-of-groups={groups}", f"--batch-size={BATCH}", "--interval=0",
            f"--output-directory={directory}", "--quiet", *extra]


def timed(command: list[str]) -> float:
    """Wall time of one whole process; fails loudly if it fails.

    `sync` first, so dirty pages left by the previous run are not written back (and do not
    throttle writers) during this one: every command starts from the same state.
    """
    os.sync()
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def directory_bytes(directory: Path) -> tuple[int, int]:
    """(bytes, lines) in the event files of `directory`."""
    size = lines = 0
    for path in directory.iterdir():
        data = path.read_bytes()
        size += len(data)
        lines += data.count(b"\n")
    return size, lines


def bench_speed(root: Path, groups: int, repeat: int) -> None:
    """Generator (1 and 2 workers) vs copy floor vs reference; print a table and ratios."""
    gen: dict[int, list[float]] = {1: [], 2: []}
    floor: list[float] = []
    py_floor: list[float] = []
    size = events = 0
    for _ in range(repeat):
        for workers in (1, 2):
            out, copy = root / "gen", root / "copy"
            gen[workers].append(timed(generate_command(groups, out, f"--workers={workers}")))
            if workers == 2:
                size, events = directory_bytes(out)
                floor.append(timed(["cp", "-r", str(out), str(copy)]))
                shutil.rmtree(copy)
                py_floor.append(timed([sys.executable, str(HERE / "gen_copy_floor.py"),
                                       str(out), str(copy)]))
                shutil.rmtree(copy)
            shutil.rmtree(out)
    reference: list[float] = []
    for _ in range(max(1, repeat // 2)):
        out = root / "reference"
        reference.append(timed([sys.executable, str(HERE / "gen_reference.py"), str(groups),
                                str(BATCH), str(out)]))
        shutil.rmtree(out)

    mb = size / 1e6
    rows = [
        ("generate-events --workers=1", statistics.median(gen[1])),
        ("generate-events --workers=2", statistics.median(gen[2])),
        ("floor: cp -r of the output", statistics.median(floor)),
        ("floor: Python read/write loop", statistics.median(py_floor)),
        ("reference: uuid4 + json.dumps", statistics.median(reference)),
    ]
    print(f"{groups:,} groups -> {events:,} events, {mb:.1f} MB in files of {BATCH} events")
    print(f"{'':32s} {'median s':>9s} {'events/s':>12s} {'MB/s':>8s}   (runs)")
    runs = {0: gen[1], 1: gen[2], 2: floor, 3: py_floor, 4: reference}
    for number, (label, seconds) in enumerate(rows):
        spread = ", ".join(f"{t:.3f}" for t in runs[number])
        print(f"{label:32s} {seconds:9.3f} {events / seconds:12,.0f} {mb / seconds:8.1f}"
              f"   ({spread})")
    best = min(rows[0][1], rows[1][1])
    print("ratios (best worker count):")
    print(f"  gen / cp floor     : {best / rows[2][1]:.2f}x  (target <= 1.5x)")
    print(f"  gen / Python floor : {best / rows[3][1]:.2f}x  (target <= 1.5x)")
    print(f"  reference / gen    : {rows[4][1] / best:.1f}x  (target >= 10x)")
    print(f"  workers=2 / workers=1: {rows[1][1] / rows[0][1]:.2f}")


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return found


def status_kib(pid: int, field: str) -> int:
    """A `VmRSS` / `VmHWM` line of /proc/PID/status in KiB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_memory(root: Path, groups: int) -> tuple[int, int]:
    """(largest sampled tree VmRSS sum, sum of per-process VmHWM) in KiB for one run."""
    out = root / f"memory-{groups}"
    process = subprocess.Popen(generate_command(groups, out), stdout=subprocess.DEVNULL)
    largest, peaks = 0, {}
    while process.poll() is None:
        pids = tree(process.pid)
        largest = max(largest, sum(status_kib(p, "VmRSS") for p in pids))
        for p in pids:
            peaks[p] = max(peaks.get(p, 0), status_kib(p, "VmHWM"))
        time.sleep(0.002)
    if process.returncode != 0:
        raise SystemExit(f"generate-events failed with status {process.returncode}")
    shutil.rmtree(out)
    return largest, sum(peaks.values())


def bench_memory(root: Path, small: int, large: int) -> None:
    """Peak memory of the process tree at two sizes and their ratio."""
    print("\npeak memory of the process tree (writer + workers), KiB:")
    results = {groups: peak_memory(root, groups) for groups in (small, large)}
    for groups, (sampled, bound) in results.items():
        print(f"  {groups:>10,} groups: sampled tree peak {sampled:8,}   "
              f"sum of per-process peaks {bound:8,}")
    small_bound, large_bound = results[small][1], results[large][1]
    met = large_bound <= max(1.25 * small_bound, small_bound + 20 * 1024)
    print(f"  ratio {large:,} / {small:,} (per-process peaks): "
          f"{large_bound / small_bound:.3f}x  (target <= 1.25x or +20 MiB: "
          f"{'met' if met else 'NOT met'})")


def machine() -> str:
    """CPU model and count, for the record."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {len(os.sched_getaffinity(0))} usable CPUs, Python {sys.version.split()[0]}"


def main() -> None:
    """Run the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--groups", type=int, default=1_000_000, help="groups for speed")
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=(500_000, 6_000_000),
                        metavar=("SMALL", "LARGE"), help="groups for the two memory runs")
    args = parser.parse_args()
    print(machine())
    root = Path(tempfile.mkdtemp(prefix="bench-generate-", dir="/tmp"))
    try:
        bench_speed(root, args.groups, args.repeat)
        bench_memory(root, *args.memory_sizes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
