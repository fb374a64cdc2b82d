"""The parallel backlog path of `--once`: same totals, dead letters and offsets as serial."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from eventstream.backlog import MAX_WORKER_NAME_CHARS, MAX_WORKER_TYPES, Job, count_job
from eventstream.checkpoint import encode
from eventstream.deadletter import DeadLetter
from eventstream.harvester import Harvester
from eventstream.pipeline import Saver, harvest_all, harvest_backlog
from eventstream.tally import Tally
from tests.helpers import GENERATE, STREAM, run, wait_until
from tests.stream_support import event_line, events


def hostile_directory(directory: Path) -> None:
    """Files that take every path: plain, invalid lines, many types, huge line, no newline."""
    directory.mkdir()
    for n in range(20):
        (directory / f"events-{n:02d}.json").write_bytes(events(50, 5, 5))
    (directory / "events-20.json").write_bytes(
        events(1) + b"bad\n" + b"\xff\n" + b'{"type": "Own"}\n' + b"x" * (2 << 20) + b"\n[]"
    )
    types = b"".join(b'{"type": "t%05d"}\n' % n for n in range(MAX_WORKER_TYPES + 10))
    (directory / "events-21.json").write_bytes(types + b"oops\n")
    (directory / "events-22.json").write_bytes(b"".join([b"junk\n"] * 10_050) + events(2))
    (directory / "events-23.json").write_bytes(event_line("Interacted").rstrip(b"\n"))


def count(directory: Path, dead: Path, *, workers: int) -> tuple[bytes, bytes]:
    """Count `directory` serially (workers=0) or in parallel; return everything observable."""
    letters = DeadLetter(str(dead))
    harvester = Harvester(str(directory), Tally(), settle_time=10, dead_letter=letters)
    saver = Saver(None, harvester, letters)
    names = harvester.rescan()
    if workers:
        harvest_backlog(harvester, names, threading.Event(), saver, workers=workers)
    else:
        harvest_all(harvester, names, threading.Event(), saver, final=True)
    letters.close()
    return encode(harvester.checkpoint()), dead.read_bytes()  # totals in order, offsets, lines


def test_parallel_equals_serial_on_hostile_input(tmp_path: Path) -> None:
    """Totals (with their order and the cap), offsets, line numbers and dead letters are
    identical whichever path counts the files, fallbacks to the parent included."""
    inbox = tmp_path / "inbox"
    hostile_directory(inbox)
    serial = count(inbox, tmp_path / "serial.jsonl", workers=0)
    parallel = count(inbox, tmp_path / "parallel.jsonl", workers=2)
    assert parallel == serial
    assert b'"other":3107,' in serial[0]  # 4,107 other types: 1,000 tracked, the rest summed
    assert serial[1].count(b"\n") == 10_050 + 1 + 4


def test_worker_hands_back_a_bounded_size_of_type_names(tmp_path: Path) -> None:
    """Type names longer than MAX_WORKER_NAME_CHARS in all (three long names): the worker
    hands back None and the parent counts the file; a file with short names comes back."""
    size = MAX_WORKER_NAME_CHARS // 3 + 1
    hostile = tmp_path / "events-1.json"
    hostile.write_bytes(b"".join(b'{"type": "%s"}\n' % (c * size) for c in (b"a", b"b", b"c")))
    plain = tmp_path / "events-2.json"
    plain.write_bytes(events(2, 1))
    for path, refused in ((hostile, True), (plain, False)):
        info = path.stat()
        job = Job(path=str(path), inode=info.st_ino, offset=0, end=info.st_size, next_line=1,
                  skipping=False)  # fmt: skip
        assert (count_job(job) is None) == refused


def test_worker_refuses_a_replaced_file(tmp_path: Path) -> None:
    """A worker hands back None (the parent counts it) when the file is not the planned one."""
    target = tmp_path / "events-1.json"
    target.write_bytes(events(1))
    job = Job(path=str(target), inode=0, offset=0, end=10, next_line=1, skipping=False)
    assert count_job(job) is None
    assert count_job(Job(path=str(tmp_path / "gone"), inode=1, offset=0, end=1,
                         next_line=1, skipping=False)) is None  # fmt: skip


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A generated backlog over the parallel threshold (about 36 MB) and its totals."""
    out = tmp_path_factory.mktemp("backlog") / "out"
    generated = run(
        GENERATE, "--number-of-groups=250000", "--batch-size=5000", "--interval=0",
        f"--output-directory={out}", "--quiet", "--seed=5",
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert sum(path.stat().st_size for path in out.iterdir()) > 32 << 20
    return out, generated.stdout


def test_big_backlog_once_matches_the_generator(backlog: tuple[Path, str]) -> None:
    """Counted in parallel, the backlog's report equals the generator's, byte for byte."""
    out, expected = backlog
    streamed = run(STREAM, f"--input-directory={out}", "--once")
    assert (streamed.returncode, streamed.stderr) == (0, "")
    assert streamed.stdout == expected


def test_interrupted_parallel_runs_resume_exactly(
    backlog: tuple[Path, str], tmp_path: Path
) -> None:
    """SIGINT at random moments of parallel --once runs with a checkpoint: each run exits
    cleanly, and the last run's totals equal the generator's exactly."""
    out, expected = backlog
    checkpoint = tmp_path / "state.json"
    rng = random.Random(3)
    log = tmp_path / "stderr.txt"
    for _ in range(6):
        with open(log, "w") as errors:
            process = subprocess.Popen(
                [*STREAM, f"--input-directory={out}", "--once", f"--checkpoint={checkpoint}",
                 "-v"], stdout=subprocess.DEVNULL, stderr=errors,
            )  # fmt: skip
        wait_until(lambda: "counting" in log.read_text(), what="the start of counting")
        time.sleep(rng.uniform(0, 0.15))  # fault injection at a random moment
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    final = run(STREAM, f"--input-directory={out}", "--once", f"--checkpoint={checkpoint}")
    assert final.stdout == expected


def children(pid: int) -> list[int]:
    """The child processes of `pid` (from /proc)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def cpu_ticks(pid: int) -> int:
    """User + system CPU ticks used so far by `pid` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def test_killed_workers_leave_their_files_to_the_parent(
    backlog: tuple[Path, str], tmp_path: Path
) -> None:
    """SIGKILL of every worker process while they count a parallel --once backlog: no hang;
    the parent says so, counts what the workers left, and the report is exact (exit 0)."""
    out, expected = backlog
    process = subprocess.Popen(
        [*STREAM, f"--input-directory={out}", "--once"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        workers = wait_until(
            lambda: [pid for pid in children(process.pid) if cpu_ticks(pid)],
            interval=0.001, what="a busy worker process",
        )  # fmt: skip
        for pid in children(process.pid):  # fault injection: real worker deaths
            os.kill(pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert workers
    assert process.returncode == 0, stderr
    assert "worker process died" in stderr
    assert stdout == expected
