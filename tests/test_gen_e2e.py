"""End-to-end tests of `python -m eventgen`: real processes writing real directories."""

from __future__ import annotations

import fcntl
import math
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections import Counter
from pathlib import Path

import pytest

from eventgen.naming import publish_micros
from tests.gen_support import (
    ALLOWED_GROUPS,
    NAME,
    disk_totals,
    generate,
    groups_of,
    hidden_files,
    line_counts,
    read_events,
    stdout_totals,
)
from tests.helpers import GENERATE, event_files, start


def _micros(date_time: str) -> int:
    """An eventDateTime as microseconds since the epoch."""
    year, month, day, hour, minute, second = map(int, re.split(r"[-T:Z]", date_time)[:6])
    name = f"events-{year:04d}-{month:02d}-{day:02d}-{hour:02d}-{minute:02d}-{second:02d}-000000"
    return publish_micros(name + ".json")


def test_exact_batch_sizes_and_the_remainder(tmp_path: Path) -> None:
    """Every file holds exactly --batch-size events except the last, which holds the rest;
    stdout holds the totals of what is on disk."""
    result = generate(tmp_path, groups=20_000, batch=997, extra=("--seed=1",))
    assert result.returncode == 0, result.stderr
    counts = line_counts(tmp_path)
    total = sum(counts)
    assert counts[:-1] == [997] * (len(counts) - 1)
    assert counts[-1] == total - 997 * (len(counts) - 1)
    assert 1 <= counts[-1] <= 997
    assert len(counts) == math.ceil(total / 997)
    assert stdout_totals(result.stdout) == disk_totals(tmp_path)
    assert stdout_totals(result.stdout)["Viewed"] == 20_000
    assert hidden_files(tmp_path) == []


def test_batch_size_dividing_the_events_exactly_leaves_no_empty_file(tmp_path: Path) -> None:
    """When the events fill the files exactly, no empty last file is written."""
    result = generate(tmp_path, groups=1, batch=1, extra=("--seed=3",))
    assert result.returncode == 0, result.stderr
    assert line_counts(tmp_path) == [1] * sum(stdout_totals(result.stdout).values())


def test_zero_groups_creates_the_directory_and_no_file(tmp_path: Path) -> None:
    """--number-of-groups=0 is valid: the missing directory is created, no file, zero totals."""
    out = tmp_path / "a" / "b"
    result = generate(out, groups=0, batch=10)
    assert result.returncode == 0, result.stderr
    assert out.is_dir() and os.listdir(out) == []
    assert result.stdout == '"Viewed": 0\n"Interacted": 0\n"Click-Through": 0\n\n'


def test_the_view_id_invariants_hold_across_files(tmp_path: Path) -> None:
    """Groups are one of the four sequences, written consecutively with Viewed first; every
    Interacted / Click-Through shares its Viewed's viewId, which is in the same or an earlier
    file; each group has a fresh lowercase 36-character version-4 uuid."""
    result = generate(tmp_path, groups=30_000, batch=777, extra=("--workers=2",))
    assert result.returncode == 0, result.stderr
    events = read_events(tmp_path)  # asserts the exact line format, uuid v4 lowercase
    files = event_files(tmp_path)
    order = {name: index for index, name in enumerate(files)}
    groups = groups_of(events)
    assert len(groups) == 30_000
    for group in groups:
        assert tuple(e.type for e in group) in ALLOWED_GROUPS
        assert {e.view_id for e in group} == {group[0].view_id}
        assert all(order[e.file] >= order[group[0].file] for e in group)
        assert len(group[0].view_id) == 36 and group[0].view_id == group[0].view_id.lower()
    assert len({group[0].view_id for group in groups}) == len(groups)
    straddling = [g for g in groups if g[0].file != g[-1].file]
    assert straddling, "with 777-event files some group should straddle two files"


def test_the_group_mix_is_85_5_5_5(tmp_path: Path) -> None:
    """Over 200k groups (fixed seed, so deterministic) each kind's share is within 6 sigma."""
    groups = 200_000
    result = generate(tmp_path, groups=groups, batch=50_000, extra=("--seed=2024",))
    assert result.returncode == 0, result.stderr
    kinds = Counter(tuple(e.type for e in g) for g in groups_of(read_events(tmp_path)))
    assert sum(kinds.values()) == groups
    expected = {
        ("Viewed",): 0.85,
        ("Viewed", "Interacted"): 0.05,
        ("Viewed", "Click-Through"): 0.05,
        ("Viewed", "Interacted", "Click-Through"): 0.05,
    }
    for kind, p in expected.items():
        sigma = math.sqrt(groups * p * (1 - p))
        assert abs(kinds[kind] - groups * p) <= 6 * sigma, (kind, kinds[kind])


def _without_timestamps(directory: Path) -> bytes:
    data = b"".join(Path(directory, n).read_bytes() for n in event_files(directory))
    return re.sub(rb'"eventDateTime": "[^"]*"', b'"eventDateTime": ""', data)


def test_a_seed_gives_the_same_events_for_any_workers_and_batch_size(tmp_path: Path) -> None:
    """--seed=S gives identical events (timestamps aside) with 1 or 2 workers and with two
    batch sizes; another seed gives different events."""
    runs = {
        "one": ("--workers=1", 1000),
        "two": ("--workers=2", 777),
        "three": ("--workers=2", 50_000),
    }
    contents = []
    for name, (workers, batch) in runs.items():
        result = generate(tmp_path / name, groups=20_000, batch=batch,
                          extra=("--seed=42", workers))
        assert result.returncode == 0, result.stderr
        contents.append(_without_timestamps(tmp_path / name))
    assert contents[0] == contents[1] == contents[2]
    other = generate(tmp_path / "other", groups=20_000, batch=1000, extra=("--seed=43",))
    assert other.returncode == 0, other.stderr
    assert _without_timestamps(tmp_path / "other") != contents[0]


@pytest.mark.parametrize("interval", [0, 0.3])
def test_timestamps_lie_within_the_publish_window(tmp_path: Path, interval: float) -> None:
    """eventDateTime is never later than its file's publish time (from the file name), never
    more than max(interval, 1 s) earlier, and never decreases within a group."""
    result = generate(tmp_path, groups=5_000, batch=1_500, interval=interval)
    assert result.returncode == 0, result.stderr
    events = read_events(tmp_path)
    window = max(interval, 1.0) * 1_000_000
    for event in events:
        published = publish_micros(event.file)
        stamped = _micros(event.date_time)
        assert published - window <= stamped <= published, event
    for group in groups_of(events):
        stamps = [_micros(e.date_time) for e in group]
        assert stamps == sorted(stamps)


def test_names_are_well_formed_unique_and_sorted_in_publish_order(tmp_path: Path) -> None:
    """At --interval=0 with tiny batches (many files per millisecond) every name matches
    events-YYYY-MM-DD-HH-MM-SS-ffffff.json and none is lost to a clash: the files hold
    exactly the printed totals, and read in name order they give the events in generation
    order (the same sequence as one big file with the same seed)."""
    result = generate(tmp_path / "small", groups=3_000, batch=2, extra=("--seed=6",))
    assert result.returncode == 0, result.stderr
    names = event_files(tmp_path / "small")
    assert all(NAME.fullmatch(n) for n in names)
    totals = stdout_totals(result.stdout)
    assert len(names) == math.ceil(sum(totals.values()) / 2)
    assert disk_totals(tmp_path / "small") == totals
    assert sorted(os.listdir(tmp_path / "small")) == names  # nothing else (no temporary file)
    whole = generate(tmp_path / "one", groups=3_000, batch=10_000, extra=("--seed=6",))
    assert whole.returncode == 0, whole.stderr
    assert len(event_files(tmp_path / "one")) == 1
    assert _without_timestamps(tmp_path / "small") == _without_timestamps(tmp_path / "one")


def test_two_generators_in_one_directory_never_clobber_each_other(tmp_path: Path) -> None:
    """Two generators writing small files into one directory at once: every file of both is
    there, whole, and the files sum to both totals."""
    args = ("--number-of-groups=4000", "--batch-size=3", "--interval=0",
            f"--output-directory={tmp_path}", "--quiet")
    first, second = start(GENERATE, *args), start(GENERATE, *args)
    out_first, err_first = first.communicate(timeout=120)
    out_second, err_second = second.communicate(timeout=120)
    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second
    totals_first, totals_second = stdout_totals(out_first), stdout_totals(out_second)
    both = {k: totals_first[k] + totals_second[k] for k in totals_first}
    assert disk_totals(tmp_path) == both
    files = math.ceil(sum(totals_first.values()) / 3) + math.ceil(sum(totals_second.values()) / 3)
    assert len(event_files(tmp_path)) == files
    read_events(tmp_path)  # every line of every file is whole
    assert hidden_files(tmp_path) == []


def test_files_follow_the_interval_schedule(tmp_path: Path) -> None:
    """With --interval=0.2, file k is not published before t0 + k * interval (names carry the
    publish time), and all files arrive."""
    result = generate(tmp_path, groups=1_000, batch=300, interval=0.2, extra=("--seed=5",))
    assert result.returncode == 0, result.stderr
    names = event_files(tmp_path)
    assert len(names) == math.ceil(sum(stdout_totals(result.stdout).values()) / 300) >= 4
    first = publish_micros(names[0])
    for k, name in enumerate(names):
        # Names come from the wall clock, the schedule from the monotonic one, and a loaded
        # machine delays the first name more than the others: allow a quarter of the
        # interval (publishing early by a whole interval is what must never happen).
        assert publish_micros(name) - first >= k * 200_000 - 50_000


def test_a_generator_that_cannot_keep_up_still_publishes_everything(tmp_path: Path) -> None:
    """An interval far shorter than one file takes to write: files all go out, and the
    warning that generation cannot keep up comes at most once (whether it comes at all
    depends on the disk's speed; the warning itself is tested on the Schedule)."""
    result = generate(tmp_path, groups=3_000, batch=1, interval=0.00001)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("cannot keep up") <= 1, result.stderr
    assert len(event_files(tmp_path)) == sum(stdout_totals(result.stdout).values())


def _run_on_a_terminal(directory: Path, *extra: str) -> tuple[int, str, str]:
    """Run the generator with stderr on a pseudo-terminal; return status, stdout, terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        process = subprocess.Popen(
            [*GENERATE, "--number-of-groups=200000", "--batch-size=5000", "--interval=0",
             f"--output-directory={directory}", *extra],
            stdout=subprocess.PIPE, stderr=follower, text=True,
        )
        os.close(follower)
        follower = -1
        screen = b""
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not data:
                break
            screen += data
        stdout = process.stdout.read() if process.stdout else ""
        if process.stdout:
            process.stdout.close()
        return process.wait(timeout=60), stdout, screen.decode(errors="replace")
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def test_a_progress_bar_on_a_terminal_and_quiet_silences_it(tmp_path: Path) -> None:
    """On a terminal, stderr shows a progress bar with groups, files and events/s; --quiet
    shows nothing there; stdout holds only the totals either way."""
    status, stdout, screen = _run_on_a_terminal(tmp_path / "bar")
    assert status == 0, screen
    assert "groups" in screen and "files" in screen and "events/s" in screen, screen
    assert stdout_totals(stdout)["Viewed"] == 200_000
    status, stdout, screen = _run_on_a_terminal(tmp_path / "quiet", "--quiet")
    assert status == 0, screen
    assert screen == ""
    assert stdout_totals(stdout)["Viewed"] == 200_000


def test_python_dash_m_and_the_console_script_are_the_same_program(tmp_path: Path) -> None:
    """The `generate-events` console script runs the same generator as `python -m eventgen`."""
    script = Path(sys.executable).with_name("generate-events")
    if not script.exists():
        pytest.skip("generate-events is not installed next to this Python")
    for name, command in (("m", GENERATE), ("script", (str(script),))):
        result = subprocess.run(
            [*command, "--number-of-groups=500", "--batch-size=100", "--interval=0",
             f"--output-directory={tmp_path / name}", "--seed=9", "--quiet"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 0, result.stderr
    assert _without_timestamps(tmp_path / "m") == _without_timestamps(tmp_path / "script")
