"""End-to-end fault tests: signals, SIGKILL under a polling reader, a real write error."""

from __future__ import annotations

import json
import os
import resource
import signal
from pathlib import Path

import pytest

from tests.gen_support import (
    disk_totals,
    generate,
    hidden_files,
    line_counts,
    read_events,
    stdout_totals,
)
from tests.helpers import GENERATE, event_files, start, wait_until


def _children(pid: int) -> list[int]:
    """The direct child processes of `pid` (the pool's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def _gone(pid: int) -> bool:
    """True once `pid` no longer exists (reaped, not just a zombie)."""
    return not os.path.exists(f"/proc/{pid}")


@pytest.mark.parametrize(
    ("signum", "status", "interval"),
    [
        (signal.SIGINT, 130, 0.2),
        (signal.SIGTERM, 143, 0.2),
        (signal.SIGINT, 130, 0),
        (signal.SIGTERM, 143, 0),
    ],
)
def test_a_signal_stops_cleanly_with_the_totals_of_what_was_published(
    tmp_path: Path, signum: int, status: int, interval: float
) -> None:
    """SIGINT -> 130 and SIGTERM -> 143, while waiting on the interval or generating flat out:
    no traceback, no temporary file, stdout totals equal what is on disk, every published file
    is a whole batch, and the worker processes are gone."""
    process = start(
        GENERATE, "--number-of-groups=100000000", "--batch-size=1000", f"--interval={interval}",
        f"--output-directory={tmp_path}", "--quiet", "--workers=2",
    )
    try:
        wait_until(lambda: len(event_files(tmp_path)) >= 2, timeout=60, what="two files")
        workers = wait_until(lambda: _children(process.pid), timeout=30, what="workers")
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr, stderr
    assert hidden_files(tmp_path) == []
    assert stdout_totals(stdout) == disk_totals(tmp_path)
    assert set(line_counts(tmp_path)) == {1000}
    for worker in workers:
        wait_until(lambda worker=worker: _gone(worker), timeout=30, what=f"worker {worker} gone")


def _check_complete(directory: Path, seen: dict[str, int]) -> None:
    """Every visible event file parses completely (read the first time it is seen), each line
    ending with a newline, and keeps the size it had then."""
    for name in event_files(directory):
        if name in seen:
            assert (directory / name).stat().st_size == seen[name], f"{name} changed size"
            continue
        data = (directory / name).read_bytes()
        assert data.endswith(b"\n"), name
        for line in data.splitlines():
            json.loads(line)
        seen[name] = len(data)


def test_a_polling_reader_never_sees_a_partial_file_even_through_sigkill(tmp_path: Path) -> None:
    """A reader polling the directory while the generator runs and after it is SIGKILLed only
    ever sees complete files: every line valid JSON ending with a newline, and no file's
    size changes later. Only a hidden temporary file may be left behind."""
    process = start(
        GENERATE, "--number-of-groups=100000000", "--batch-size=1000", "--interval=0.005",
        f"--output-directory={tmp_path}", "--quiet", "--workers=2",
    )
    seen: dict[str, int] = {}
    try:
        wait_until(lambda: (_check_complete(tmp_path, seen), len(seen) >= 30)[1],
                   timeout=120, interval=0.001, what="30 files seen complete")
        process.kill()
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    _check_complete(tmp_path, seen)
    assert set(line_counts(tmp_path)) == {1000}
    assert all(name.startswith(".events-") for name in hidden_files(tmp_path))


def _limit_file_size(limit: int) -> None:
    """In the child: files may not grow past `limit` bytes; a write past it fails with EFBIG
    (SIGXFSZ ignored) instead of killing the process: a real I/O error from the kernel."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_write_error_names_the_file_exits_1_and_leaves_nothing_partial(tmp_path: Path) -> None:
    """A write that the kernel refuses (file size limit): a clear message naming the file on
    stderr, exit 1, no partial or temporary file, stdout totals equal what was published."""
    # File sizes depend only on the seed and the batch size: find a file bigger than all
    # before it, and set the limit just below it.
    reference = tmp_path / "reference"
    args = {"groups": 20_000, "batch": 1_000, "extra": ("--seed=11",)}
    assert generate(reference, **args).returncode == 0  # type: ignore[arg-type]
    sizes = [(reference / n).stat().st_size for n in event_files(reference)]
    failing = next(k for k in range(1, len(sizes)) if sizes[k] > max(sizes[:k]))
    limit = max(sizes[:failing])

    out = tmp_path / "out"
    result = generate(out, preexec_fn=lambda: _limit_file_size(limit), **args)  # type: ignore[arg-type]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "File too large" in result.stderr and "events-" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert len(event_files(out)) == failing
    assert hidden_files(out) == []
    assert stdout_totals(result.stdout) == disk_totals(out)
    read_events(out)  # every published file whole
    reference_files = event_files(reference)[:failing]
    assert [(out / n).stat().st_size for n in event_files(out)] == [
        (reference / n).stat().st_size for n in reference_files
    ]


def _limit_address_space(limit: int) -> None:
    """In the child: at most `limit` bytes of address space, so mapping memory fails with
    ENOMEM past it: a real out-of-memory error from the kernel."""
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_workers_that_cannot_start_are_an_error_with_totals(tmp_path: Path) -> None:
    """When memory for the workers runs out part-way through starting 64 of them: one line
    saying so on stderr (no traceback), exit 1, zero totals on stdout, nothing written."""
    result = generate(tmp_path, groups=1_000_000, batch=1_000, extra=("--workers=64",),
                      preexec_fn=lambda: _limit_address_space(200 << 20))
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "worker" in result.stderr and "Cannot allocate memory" in result.stderr
    assert result.stdout == '"Viewed": 0\n"Interacted": 0\n"Click-Through": 0\n\n'
    assert os.listdir(tmp_path) == []


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """If a worker process is killed, the generator says so and exits 1 (instead of waiting
    forever), with the totals of what was published and no temporary file."""
    process = start(
        GENERATE, "--number-of-groups=100000000", "--batch-size=5000", "--interval=0.05",
        f"--output-directory={tmp_path}", "--quiet", "--workers=2",
    )
    try:
        workers = wait_until(lambda: _children(process.pid), timeout=30, what="workers")
        wait_until(lambda: event_files(tmp_path), timeout=60, what="a file")
        os.kill(workers[0], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, stderr
    assert "worker" in stderr and "Traceback" not in stderr, stderr
    assert hidden_files(tmp_path) == []
    assert stdout_totals(stdout) == disk_totals(tmp_path)


def test_a_stopped_generator_with_nothing_published_prints_zero_totals(tmp_path: Path) -> None:
    """SIGTERM before the first file is published (the batch size exceeds all the events,
    so no file can go out before the end): exit 143, zero totals, no file, no temporary."""
    process = start(
        GENERATE, "--number-of-groups=100000000", "--batch-size=1000000000", "--interval=0",
        f"--output-directory={tmp_path}", "--quiet",
    )
    try:
        wait_until(lambda: _children(process.pid), timeout=30, what="workers")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, stderr
    assert stdout == '"Viewed": 0\n"Interacted": 0\n"Click-Through": 0\n\n'
    assert event_files(tmp_path) == [] and hidden_files(tmp_path) == []
