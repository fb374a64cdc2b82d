"""Wiring: a pool of worker processes builds chunks, the main process is the single writer.

Each worker has its own pipe: it receives chunk numbers, writes the finished lines into
shared memory and sends back only their length and line codes, so only finished bytes are
shared and no lock is shared between workers. Chunk i goes to worker i mod W and at most
`IN_FLIGHT_PER_WORKER` chunks per worker are requested ahead of the writer, so the workers
run only a bounded distance ahead and memory does not grow with the number of groups.

Why not `multiprocessing.Pool` / `ProcessPoolExecutor`: if a worker dies while sending a
result, their shared result pipe is left with half a message and the parent blocks forever;
with one pipe per worker the parent sees EOF and exits with an error instead.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from eventgen.batches import Batcher
from eventgen.config import GeneratorConfig
from eventgen.errors import GenerationError
from eventgen.groups import MAX_CHUNK_BYTES, Chunk, build_parts, chunk_count, chunk_size
from eventgen.naming import event_timestamp
from eventgen.progress import Progress
from eventgen.totals import Totals
from eventgen.writer import Publisher

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from <malloc.h>

IN_FLIGHT_PER_WORKER = 2
"""Chunks requested per worker ahead of the writer (one being built, one ready), and so
its shared-memory slots: a chunk is written out completely before the next one is taken,
and only then is its slot requested again."""

POLL = 0.05
"""How often a wait checks for a stop request (the latency of SIGINT / SIGTERM)."""

LATE_SLACK = 0.05
"""A file more than this (plus 10 % of the interval) behind its schedule means we are late."""


@dataclass(slots=True)
class StopRequest:
    """Set by the signal handlers (it only stores a number, so it is async-signal safe)."""

    signum: int | None = None

    def request(self, signum: int) -> None:
        """Ask the pipeline to stop before the next file."""
        self.signum = signum


@dataclass(slots=True)
class Schedule:
    """File k is due at t0 + k * interval on the monotonic clock, t0 = first publish."""

    interval: float
    _t0: float | None = None
    _files: int = 0
    _warned: bool = False

    def due(self) -> float:
        """When the next file is due (now, for the first file)."""
        if self._t0 is None:
            return time.monotonic()
        return self._t0 + self._files * self.interval

    def check_late(self, due: float) -> None:
        """Warn once if the next file is ready well after its due time."""
        late = time.monotonic() - due
        if self.interval > 0 and not self._warned and late > LATE_SLACK + 0.1 * self.interval:
            self._warned = True
            logger.warning(
                "generation cannot keep up with --interval=%g: files are published as soon "
                "as they are ready (%.3f s behind schedule)", self.interval, late,
            )

    def published(self, due: float) -> None:
        """Record that the file due at `due` went out (the first one fixes t0)."""
        if self._t0 is None:
            self._t0 = due
        self._files += 1


def run(config: GeneratorConfig, *, seed: int, totals: Totals, stop: StopRequest,
        progress: Progress) -> None:
    """Generate and publish everything (or until `stop`), updating `totals` as files go out.

    Raises `PublishError` (nothing partial left) or `GenerationError`; `totals` then still
    holds exactly what was published.
    """
    chunks = chunk_count(config.number_of_groups)
    if chunks == 0:
        return
    publisher = Publisher(config.output_directory, window=max(config.interval, 1.0))
    schedule = Schedule(config.interval)
    batcher = Batcher(config.batch_size)
    pool = WorkerPool(min(config.workers, chunks), seed=seed)  # if it fails, it cleans up
    try:
        for chunk in pool.chunks(config.number_of_groups, stop):
            for piece in batcher.cut(chunk):
                publisher.append(piece)
                if piece.last and not _publish(publisher, schedule, totals, stop, progress):
                    return
        if publisher.pending and stop.signum is None:  # the last file holds the rest
            _publish(publisher, schedule, totals, stop, progress)
    finally:
        publisher.discard()  # an unpublished file (stop or error): remove its temporary
        pool.close()


class WorkerPool:
    """W forked worker processes, one pipe each; chunk i is built by worker i mod W.

    A worker writes each chunk's lines into one of its `IN_FLIGHT_PER_WORKER` shared-memory
    slots (mapped before the fork) and sends back only the length, line codes and stamp, so
    the writer publishes straight from shared memory, without copying through a pipe.
    Chunk i uses slot (i // W) mod IN_FLIGHT_PER_WORKER, so the slot of chunk i is requested
    again (for chunk i + IN_FLIGHT_PER_WORKER * W) only once chunk i has been consumed.
    """

    def __init__(self, workers: int, *, seed: int) -> None:
        self._conns: list[Connection] = []
        self._processes: list[BaseProcess] = []
        self._slots: list[list[mmap.mmap]] = []
        self.requested = 0  # chunks asked for so far (at most 2 per worker ahead)
        try:
            for number in range(workers):
                self._start(number, seed)
        except OSError as exc:  # no memory for the slots, or fork failed (ENOMEM, EAGAIN)
            self.close()
            raise GenerationError(
                f"cannot start worker process {len(self._processes) + 1} of {workers}: "
                f"{exc.strerror or exc}"
            ) from exc

    def _start(self, number: int, seed: int) -> None:
        """Map a worker's slots, fork it (instant; nothing to re-import) and keep its pipe."""
        slots = [mmap.mmap(-1, MAX_CHUNK_BYTES) for _ in range(IN_FLIGHT_PER_WORKER)]
        context = multiprocessing.get_context("fork")
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_work, args=(child_end, slots, seed, os.getpid()), daemon=True,
            name=f"eventgen-worker-{number}",
        )
        with child_end:  # closed here after the fork: its death reads as EOF
            try:
                process.start()
            except OSError:
                parent_end.close()
                raise
        self._conns.append(parent_end)
        self._processes.append(process)
        self._slots.append(slots)

    def chunks(self, number_of_groups: int, stop: StopRequest) -> Iterator[Chunk]:
        """Yield all chunks in order (stopping early if asked), requesting a bounded number
        ahead of the consumer. A chunk's data is valid until the next one is asked for."""
        total = chunk_count(number_of_groups)
        workers = len(self._conns)
        for index in range(total):
            while self.requested < min(total, index + IN_FLIGHT_PER_WORKER * workers):
                self._request(self.requested, chunk_size(number_of_groups, self.requested))
                self.requested += 1
            chunk = self._receive(index, stop)
            if chunk is None:
                return
            yield chunk

    def _place(self, index: int) -> tuple[int, int]:
        """(worker, slot) of chunk `index`."""
        workers = len(self._conns)
        return index % workers, (index // workers) % IN_FLIGHT_PER_WORKER

    def _request(self, index: int, size: int) -> None:
        worker, slot = self._place(index)
        try:
            self._conns[worker].send((index, size, slot))
        except OSError as exc:  # EPIPE: the worker is gone; _receive reports it
            logger.debug("cannot send chunk %d to worker %d: %s", index, worker, exc)

    def _receive(self, index: int, stop: StopRequest) -> Chunk | None:
        """Chunk `index` from its worker, or None if a stop was requested while waiting."""
        worker, slot = self._place(index)
        conn, process = self._conns[worker], self._processes[worker]
        while stop.signum is None:
            ready = multiprocessing.connection.wait([conn, process.sentinel], timeout=POLL)
            if not ready:
                continue
            try:
                length, types, stamp = conn.recv()
            except (EOFError, OSError) as exc:
                if stop.signum is not None:  # the same signal hit the workers too
                    return None
                raise GenerationError(
                    f"worker process {process.pid} died (exit status {process.exitcode})"
                ) from exc
            if length < 0:
                raise GenerationError(f"worker process {process.pid} failed: {types}")
            data = memoryview(self._slots[worker][slot])[:length]
            return Chunk(data=data, types=types, stamp=stamp)
        return None

    def close(self) -> None:
        """Stop the workers with a sentinel, drain what they still send, then join them."""
        for conn in self._conns:
            with contextlib.suppress(OSError):  # already gone
                conn.send(None)
        for conn, process in zip(self._conns, self._processes, strict=True):
            with contextlib.suppress(EOFError, OSError):
                while True:
                    conn.recv()
            conn.close()
            process.join()


def _work(conn: Connection, slots: list[mmap.mmap], seed: int, parent: int) -> None:
    """A worker's loop: build each requested chunk into its slot, until the sentinel.

    The lines are stamped with the current second; the writer restamps the few that would
    fall outside the contract's window when they are published.
    """
    _init_worker(parent)
    while (task := _next_task(conn)) is not None:
        index, size, slot = task
        stamp = event_timestamp(time.time_ns() // 1000)
        try:
            parts, types = build_parts(seed, index, size, stamp=stamp)
        except Exception as exc:  # reported to the parent, which stops with an error
            conn.send((-1, repr(exc), b""))
            continue
        length = 0
        for part in parts:
            slots[slot][length:length + len(part)] = part
            length += len(part)
        conn.send((length, types, stamp))
    conn.close()


def _next_task(conn: Connection) -> tuple[int, int, int] | None:
    """The next request, or None at the sentinel or if the parent is gone (EOF)."""
    try:
        task: tuple[int, int, int] | None = conn.recv()
    except EOFError:
        return None
    return task


def _init_worker(parent: int) -> None:
    """Workers leave SIGINT (Ctrl-C hits the whole process group) to the parent, which stops
    them with a sentinel; SIGTERM keeps its default; and they die with the parent.

    A forked worker may hold copies of pipe ends, so without this it could outlive a
    SIGKILLed parent: ask Linux to kill it when the parent goes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes  # here, in the worker: the writer's start-up does not pay for it

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # glibc hands big freed blocks back to the kernel, so each chunk's few MB of
        # temporaries would be page-faulted in afresh (measured: 118k faults and a third
        # of the worker's time per 1M groups). Keep them in the heap for reuse instead.
        libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (ImportError, OSError, AttributeError):  # not Linux / glibc, or no memory left
        return  # to map _ctypes: the worker still ends at its pipe's EOF
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _publish(publisher: Publisher, schedule: Schedule, totals: Totals, stop: StopRequest,
             progress: Progress) -> bool:
    """Wait for the file's due time, publish it; False if a stop came first."""
    due = schedule.due()
    schedule.check_late(due)
    while stop.signum is None and (remaining := due - time.monotonic()) > 0:
        time.sleep(min(remaining, POLL))
    if stop.signum is not None:
        return False
    _, contents = publisher.publish()
    schedule.published(due)
    totals.add(contents)
    progress.update(totals)
    return True
