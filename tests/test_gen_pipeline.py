"""Unit tests of eventgen.pipeline: the interval schedule, the worker pool and run()."""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
from pathlib import Path

import pytest

from eventgen.config import GeneratorConfig
from eventgen.errors import GenerationError
from eventgen.groups import CHUNK_GROUPS, TIMESTAMP_PLACEHOLDER, build_chunk, chunk_size
from eventgen.pipeline import IN_FLIGHT_PER_WORKER, Schedule, StopRequest, WorkerPool, run
from eventgen.progress import NoProgress
from eventgen.totals import Totals
from tests.gen_support import disk_totals, hidden_files, line_counts


def test_the_schedule_has_no_drift() -> None:
    """File k is due at t0 + k * interval, however late the previous files went out."""
    schedule = Schedule(0.25)
    t0 = schedule.due()
    schedule.published(t0)
    for k in range(1, 6):
        assert schedule.due() == t0 + k * 0.25
        schedule.published(schedule.due() + 10.0)  # published very late: no effect
    assert schedule.due() == t0 + 6 * 0.25


def test_lateness_is_warned_once_and_never_at_interval_zero(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A file ready well after its due time warns once; later ones do not repeat it; with
    --interval=0 there is no schedule to be late for."""
    caplog.set_level(logging.WARNING, logger="eventgen")
    schedule = Schedule(0.5)
    due = schedule.due()
    schedule.check_late(due)
    assert caplog.records == []
    schedule.check_late(due - 5)
    schedule.check_late(due - 9)
    assert len(caplog.records) == 1 and "cannot keep up" in caplog.records[0].getMessage()
    Schedule(0).check_late(due - 100)
    assert len(caplog.records) == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_pool_yields_every_chunk_in_order_keeping_a_bounded_number_ahead(
    workers: int,
) -> None:
    """Chunks come back in order, equal to building them directly (but for the stamp: the
    current second), and the pool never
    asks for more than IN_FLIGHT_PER_WORKER chunks per worker beyond the one consumed."""
    groups = 7 * CHUNK_GROUPS + 5
    pool = WorkerPool(workers, seed=3)
    try:
        for index, chunk in enumerate(pool.chunks(groups, StopRequest())):
            expected = build_chunk(3, index, chunk_size(groups, index))
            assert chunk.types == expected.types
            # Workers stamp the current second; apart from it the lines are the same.
            assert bytes(chunk.data).replace(chunk.stamp, TIMESTAMP_PLACEHOLDER) == expected.data
            assert pool.requested <= index + IN_FLIGHT_PER_WORKER * workers
        assert index == 7
    finally:
        pool.close()
    assert multiprocessing.active_children() == []


def test_a_stop_request_ends_the_chunks_and_close_leaves_no_process() -> None:
    """With a stop requested, no chunk is yielded; close() still stops every worker."""
    pool = WorkerPool(2, seed=1)
    stop = StopRequest()
    stop.request(signal.SIGTERM)
    try:
        assert list(pool.chunks(100 * CHUNK_GROUPS, stop)) == []
    finally:
        pool.close()
    assert multiprocessing.active_children() == []


def test_a_dead_worker_is_a_generation_error() -> None:
    """A worker killed before sending its chunk raises GenerationError, not a hang."""
    pool = WorkerPool(1, seed=1)
    try:
        (worker,) = multiprocessing.active_children()
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        with pytest.raises(GenerationError, match="died"):
            list(pool.chunks(3 * CHUNK_GROUPS, StopRequest()))
    finally:
        pool.close()
    assert multiprocessing.active_children() == []


def _address_space() -> int:
    """This process's current virtual memory size, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def test_workers_that_cannot_start_are_closed_and_a_generation_error() -> None:
    """If memory runs out part-way through starting the workers (a real ENOMEM: the address
    space is limited), the ones already started are stopped and GenerationError says why."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + (40 << 20), hard))
    try:
        with pytest.raises(GenerationError, match=r"worker.*Cannot allocate memory"):
            WorkerPool(64, seed=1)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert multiprocessing.active_children() == []


def test_run_publishes_everything_and_counts_it(tmp_path: Path) -> None:
    """run() writes all groups in files of batch_size and totals what is on disk."""
    config = GeneratorConfig(number_of_groups=20_000, batch_size=3_000, interval=0,
                             output_directory=str(tmp_path), workers=2)
    totals = Totals()
    run(config, seed=8, totals=totals, stop=StopRequest(), progress=NoProgress())
    assert totals.viewed == 20_000
    assert disk_totals(tmp_path) == {"Viewed": totals.viewed, "Interacted": totals.interacted,
                                     "Click-Through": totals.click_through}
    counts = line_counts(tmp_path)
    assert counts[:-1] == [3_000] * (len(counts) - 1) and totals.files == len(counts)
    assert hidden_files(tmp_path) == []


def test_run_with_a_stop_already_requested_publishes_nothing(tmp_path: Path) -> None:
    """A stop request before the first file: no file, zero totals, no process left."""
    config = GeneratorConfig(number_of_groups=100_000, batch_size=10, interval=0,
                             output_directory=str(tmp_path), workers=2)
    stop = StopRequest()
    stop.request(signal.SIGINT)
    totals = Totals()
    run(config, seed=1, totals=totals, stop=stop, progress=NoProgress())
    assert totals == Totals() and os.listdir(tmp_path) == []
    assert multiprocessing.active_children() == []
