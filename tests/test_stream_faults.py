"""Fault injection against the real processes: SIGKILL with a checkpoint, SIGSTOP backlogs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from eventstream.checkpoint import load
from tests.helpers import GENERATE, start, wait_until
from tests.stream_support import Streamer, counts, events, publish, totals

pytestmark = pytest.mark.slow


def kill_while_generating(
    tmp_path: Path, inbox: Path, *generator_args: str, kills: int, rng: random.Random
) -> tuple[Streamer, str]:
    """Run the generator with `generator_args` into `inbox` while a checkpointed streamer is
    SIGKILLed `kills` times; return the (stopped) streamer and the generator's stdout."""
    generator = start(GENERATE, *generator_args, f"--output-directory={inbox}", "--quiet")
    try:
        streamer = kill_repeatedly(
            tmp_path, inbox, tmp_path / "state.json", generator, kills=kills, rng=rng
        )
        generated, error = generator.communicate(timeout=120)
    finally:
        generator.kill()
        generator.wait()
    assert generator.returncode == 0, error
    return streamer, generated


def kill_repeatedly(
    tmp_path: Path,
    inbox: Path,
    checkpoint: Path,
    generator: subprocess.Popen[str],
    *,
    kills: int,
    rng: random.Random,
) -> Streamer:
    """Start a streamer with a checkpoint and SIGKILL it `kills` times at random moments
    after it saved progress (or the generator is done); check the checkpoint loads after
    every kill. Returns the streamer (stopped)."""
    streamer = Streamer(
        tmp_path, f"--input-directory={inbox}", "--report-interval=0.1",
        f"--checkpoint={checkpoint}",
    )  # fmt: skip
    for _ in range(kills):
        before = checkpoint.stat().st_mtime_ns if checkpoint.exists() else 0
        streamer.start()

        def saved(before: int = before) -> bool:
            if generator.poll() is not None:
                return True
            return checkpoint.exists() and checkpoint.stat().st_mtime_ns != before

        wait_until(saved, timeout=60, what="a checkpoint save")
        # Fault injection: a random moment, on purpose, not a wait for a condition.
        time.sleep(rng.uniform(0, 0.3))
        streamer.send(signal.SIGKILL)
        streamer.wait()
        load(str(checkpoint))  # always loadable: never torn, never empty
    return streamer


def finish(streamer: Streamer, expected: dict[str, int]) -> None:
    """Restart once more, wait for the expected totals, stop cleanly."""
    streamer.start()
    streamer.wait_for(expected, timeout=60)
    assert streamer.stop() == 0
    assert totals(streamer.stdout) == expected


def test_sigkill_with_checkpoint_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, inbox: Path
) -> None:
    """25 SIGKILLs while the generator writes, restarting each time with --checkpoint:
    the final totals equal the generator's own totals exactly."""
    streamer, generated = kill_while_generating(
        tmp_path, inbox, "--number-of-groups=60000", "--batch-size=300", "--interval=0.06",
        "--seed=11", kills=25, rng=random.Random(1),
    )  # fmt: skip
    finish(streamer, totals(generated))
    assert streamer.stdout.endswith(generated)


def test_sigkill_during_checkpoint_writes_loses_nothing(tmp_path: Path, inbox: Path) -> None:
    """Tiny files land one by one, so the streamer saves its (large) checkpoint after nearly
    every file and spends most of its time saving: random SIGKILLs often hit the save itself,
    yet the checkpoint always loads and the totals are exact."""
    for n in range(8000):  # a large checkpoint (about 350 KB): one entry per file present
        (inbox / f"events-0-{n:05d}.json").write_bytes(events(1))
    streamer, generated = kill_while_generating(
        tmp_path, inbox, "--number-of-groups=2000", "--batch-size=2", "--interval=0.012",
        "--seed=12", kills=30, rng=random.Random(2),
    )  # fmt: skip
    expected = totals(generated)
    expected["Viewed"] += 8000
    finish(streamer, expected)


def test_files_landing_while_stopped_are_all_counted(tmp_path: Path, inbox: Path) -> None:
    """30,000 files land while the streamer is SIGSTOPped (the inotify queue overflows); after
    SIGCONT the rescan finds them all."""
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.2") as streamer:
        publish(inbox, "events-first.json", events(1))
        streamer.wait_for(counts(1))
        streamer.send(signal.SIGSTOP)
        try:
            block = events(1, 1)
            for n in range(30_000):
                publish(inbox, f"events-{n:06d}.json", block)
        finally:
            streamer.send(signal.SIGCONT)
        streamer.wait_for(counts(30_001, 30_000), timeout=90)
        assert streamer.stop() == 0
    with open("/proc/sys/fs/inotify/max_queued_events") as limit:
        if int(limit.read()) < 30_000:
            assert "overflow" in streamer.stderr.lower()
    assert len(os.listdir(inbox)) == 30_001
