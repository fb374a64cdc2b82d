"""Wiring of the embedded engine: observer, parser thread, reporter, signals, shutdown.

    watchdog observer --(Landed / Rescan items)--> queue --> parser thread (Harvester)
                                                                 |  one batch per read pass
    main thread: reporter every interval  <-- snapshot --  Tally (lock)
                 + watcher supervision                          |
                                                   checkpoint <-+  (same thread, consistent)

The parser thread also lists the directory once per report interval (the safety net for
missed events and the settle-time rule), and first of all at start-up. The observer is
started before that first listing, so no file can fall between the two.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType

from watchdog.observers.api import BaseObserver

from eventstream import checkpoint
from eventstream.backlog import Job, Outcome, count_job, ignore_signals
from eventstream.checkpoint import Checkpoint
from eventstream.config import StreamConfig
from eventstream.deadletter import DeadLetter
from eventstream.errors import StreamError
from eventstream.harvester import Harvester
from eventstream.report import format_report
from eventstream.tally import Tally
from eventstream.watcher import (
    EventHandler,
    Landed,
    Rescan,
    WorkItem,
    observer_alive,
    start_observer,
)

log = logging.getLogger(__name__)

PARALLEL_MIN_BYTES = 32 << 20  # smaller backlogs: one process is faster than starting a pool
SAVE_EVERY = 0.5  # under a backlog, checkpoint at most this often (seconds); always when idle


class Saver:
    """Saves the checkpoint (if any) after files are counted, coalescing under a backlog.

    Any save is exactly-once safe (totals and offsets travel together), so coalescing only
    decides how much a crash makes us re-read, never what is counted.
    """

    def __init__(
        self,
        path: str | None,
        harvester: Harvester,
        dead_letter: DeadLetter | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._harvester = harvester
        self._dead_letter = dead_letter
        self._clock = clock
        self._dirty = False
        self._last = clock()

    def changed(self, *, idle: bool) -> None:
        """Files were counted; save now if idle or the last save is old enough."""
        self._dirty = True
        if idle or self._clock() - self._last >= SAVE_EVERY:
            self.save()

    def save(self) -> None:
        """Save now if anything changed (dead letters first: they may repeat, totals never)."""
        if not self._dirty:
            return
        if self._dead_letter is not None:
            self._dead_letter.flush()
        if self._path is not None:
            checkpoint.save(self._path, self._harvester.checkpoint())
        self._dirty = False
        self._last = self._clock()


def print_report(tally: Tally) -> None:
    """One report block on stdout, flushed."""
    totals, other = tally.snapshot()
    sys.stdout.write(format_report(totals, other_types=other))
    sys.stdout.flush()


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT / SIGTERM set `stop` (the file in hand is finished first); restored after."""

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("got %s: finishing the file in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def rescan(harvester: Harvester, saver: Saver) -> list[str]:
    """List the directory; names renamed or forgotten by it change the checkpoint too."""
    known = set(harvester.files)
    names = harvester.rescan()
    if harvester.files.keys() != known:
        saver.changed(idle=False)
    return names


def harvest_all(
    harvester: Harvester, names: list[str], stop: threading.Event, saver: Saver, *, final: bool
) -> None:
    """Harvest `names` in order, stopping between files when asked."""
    for name in names:
        if stop.is_set():
            return
        if harvester.harvest(name, final=final):
            saver.changed(idle=False)
    saver.save()


def backlog_workers(names: list[str], directory: str) -> int:
    """Worker processes worth starting for `--once` over `names`: 0 for a small backlog."""
    cores = len(os.sched_getaffinity(0))
    if cores < 2:
        return 0
    total = 0
    for name in names:
        with contextlib.suppress(OSError):
            total += os.lstat(os.path.join(directory, name)).st_size
        if total >= PARALLEL_MIN_BYTES:
            return cores
    return 0


class Workers:
    """The worker processes of a parallel `--once`. If one dies, the pool is broken: every
    file not counted yet, and every later one, is counted in the parent instead."""

    def __init__(self, count: int) -> None:
        self._pool = ProcessPoolExecutor(
            count, mp_context=multiprocessing.get_context("fork"), initializer=ignore_signals
        )
        self._broken = False

    def submit(self, job: Job) -> Future[Outcome | None]:
        """Hand `job` to a worker (or, once the pool is broken, to the parent)."""
        if not self._broken:
            try:
                return self._pool.submit(count_job, job)
            except BrokenProcessPool:
                self._broke()
        done: Future[Outcome | None] = Future()
        done.set_result(None)  # None: the parent counts the file
        return done

    def outcome(self, future: Future[Outcome | None]) -> Outcome | None:
        """The worker's outcome, or None (the parent counts the file) if a worker died."""
        try:
            return future.result()
        except BrokenProcessPool:
            self._broke()
            return None

    def _broke(self) -> None:
        if not self._broken:
            log.warning("a worker process died: counting the remaining files in this process")
            self._broken = True

    def close(self) -> None:
        """Stop the workers by the pool's sentinel and join them."""
        self._pool.shutdown()


def harvest_backlog(
    harvester: Harvester, names: list[str], stop: threading.Event, saver: Saver, *, workers: int
) -> None:
    """`--once` over a big backlog: files counted by `workers` processes, applied in order.

    Only for `--once`, where no other thread runs, so forking is safe. At most two jobs per
    worker are in flight; on a stop signal the ones in flight are finished and applied.
    """
    sys.stdout.flush()  # a forked child must not inherit (and later flush) buffered output
    saver.save()
    pool = Workers(workers)
    in_flight: collections.deque[tuple[str, Future[Outcome | None]]] = collections.deque()

    def apply_oldest() -> None:
        done, future = in_flight.popleft()
        harvester.apply(done, pool.outcome(future))
        saver.changed(idle=False)

    try:
        for name in names:
            if stop.is_set():
                break
            job = harvester.plan(name)
            if job is not None:
                in_flight.append((name, pool.submit(job)))
            while len(in_flight) > 2 * workers or (in_flight and in_flight[0][1].done()):
                apply_oldest()
        while in_flight:
            apply_oldest()
    finally:
        pool.close()
    saver.save()


def parse_loop(
    harvester: Harvester,
    work: queue.SimpleQueue[WorkItem],
    stop: threading.Event,
    saver: Saver,
    *,
    rescan_interval: float,
) -> None:
    """The parser thread: work items as they come, a full rescan every `rescan_interval`."""
    next_rescan = 0.0  # start-up scan first
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_rescan:
            next_rescan = now + rescan_interval
            harvest_all(harvester, rescan(harvester, saver), stop, saver, final=False)
            continue
        try:
            item = work.get(timeout=next_rescan - now)
        except queue.Empty:
            continue
        if isinstance(item, Rescan):
            next_rescan = 0.0
        elif isinstance(item, Landed):
            renamed = item.moved_from is not None and harvester.moved(item.moved_from, item.name)
            if harvester.harvest(item.name, final=item.final) or renamed:
                saver.changed(idle=work.empty())
            elif work.empty():
                saver.save()  # a backlog just ended: save what it left unsaved


class Guarded:
    """Runs a thread's body; any exception is logged, kept, and stops the program."""

    def __init__(self, body: Callable[[], None], stop: threading.Event) -> None:
        self._body = body
        self._stop = stop
        self.failure: BaseException | None = None

    def __call__(self) -> None:
        try:
            self._body()
        except BaseException as error:
            if not isinstance(error, StreamError):
                log.exception("the parser thread failed")
            self.failure = error
            self._stop.set()


def run_embedded(config: StreamConfig) -> int:
    """Run the embedded engine until `--once` is done or a signal stops it; return 0."""
    state = checkpoint.load(config.checkpoint) if config.checkpoint else Checkpoint()
    tally = Tally(state.totals, state.other)
    stop = threading.Event()
    # The handlers stay until the final report is out, so a late signal cannot cut it short.
    with stop_on_signals(stop):
        dead_letter = DeadLetter(config.dead_letter) if config.dead_letter else None
        try:
            harvester = Harvester(
                config.input_directory,
                tally,
                files=state.files,
                settle_time=config.settle_time,
                dead_letter=dead_letter,
            )
            saver = Saver(config.checkpoint, harvester, dead_letter)
            if config.once:
                count_once(config, harvester, saver, stop)
            else:
                watch(config, harvester, saver, tally, stop)
            saver.save()
        finally:
            if dead_letter is not None:
                dead_letter.close()
            print_report(tally)
    return 0


def count_once(
    config: StreamConfig, harvester: Harvester, saver: Saver, stop: threading.Event
) -> None:
    """`--once`: every file present, to its end; several processes for a big backlog."""
    names = rescan(harvester, saver)
    workers = backlog_workers(names, config.input_directory)
    log.info("counting %d files with %d processes", len(names), max(workers, 1))
    if workers:
        harvest_backlog(harvester, names, stop, saver, workers=workers)
    else:
        harvest_all(harvester, names, stop, saver, final=True)


def watch(
    config: StreamConfig, harvester: Harvester, saver: Saver, tally: Tally, stop: threading.Event
) -> None:
    """Observer + parser thread; the calling (main) thread reports and supervises."""
    work: queue.SimpleQueue[WorkItem] = queue.SimpleQueue()
    handler = EventHandler(config.input_directory, work)
    observer = _start_observer(config, handler)
    body = Guarded(
        lambda: parse_loop(harvester, work, stop, saver, rescan_interval=config.report_interval),
        stop,
    )
    parser = threading.Thread(target=body, name="eventstream-parser")
    parser.start()
    try:
        observer = report_loop(config, tally, stop, observer, handler, work)
    finally:
        stop.set()
        work.put(Rescan())  # wake the parser thread if it waits on the queue
        parser.join()
        observer.stop()
        observer.join()
    if body.failure is not None:
        if isinstance(body.failure, StreamError):
            raise body.failure
        raise StreamError(f"the parser thread failed: {body.failure!r}") from body.failure


def report_loop(
    config: StreamConfig,
    tally: Tally,
    stop: threading.Event,
    observer: BaseObserver,
    handler: EventHandler,
    work: queue.SimpleQueue[WorkItem],
) -> BaseObserver:
    """Print a report every interval on a monotonic clock (late ticks are skipped, not
    bunched) and restart a dead watcher; return the observer in use when `stop` is set."""
    interval = config.report_interval
    start = time.monotonic()
    tick = 1
    while not stop.wait(max(0.0, start + tick * interval - time.monotonic())):
        print_report(tally)
        tick = max(tick + 1, math.floor((time.monotonic() - start) / interval) + 1)
        if not observer_alive(observer):
            observer = restart_observer(config, handler, observer, work)
    return observer


def _start_observer(config: StreamConfig, handler: EventHandler) -> BaseObserver:
    try:
        return start_observer(
            config.input_directory,
            handler,
            polling=config.polling,
            poll_interval=min(config.report_interval, 1.0),
        )
    except OSError as error:
        raise StreamError(
            f"cannot watch {config.input_directory}: {error.strerror or error}"
        ) from None


def restart_observer(
    config: StreamConfig,
    handler: EventHandler,
    dead: BaseObserver,
    work: queue.SimpleQueue[WorkItem],
) -> BaseObserver:
    """Replace a dead observer; a rescan covers whatever happened while it was down."""
    log.error("the directory watcher stopped; restarting it")
    dead.stop()
    dead.join()
    if not os.path.isdir(config.input_directory):
        raise StreamError(f"input directory {config.input_directory} is gone")
    observer = _start_observer(config, handler)
    work.put(Rescan())
    return observer
