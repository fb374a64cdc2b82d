"""`stream-events --engine=spark`: the counting job on Spark Structured Streaming.

The wiring of the Spark engine: checks that PySpark and Java are there, starts the session,
runs the query (`foreachBatch` counts each micro-batch and saves the cumulative totals
beside Spark's checkpoint), prints reports, and stops cleanly on SIGINT / SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any
from urllib.parse import urlparse

from eventstream.config import DEFAULT_MASTER, StreamConfig
from eventstream.errors import StreamError, UsageError
from eventstream.report import format_report
from eventstream.spark_totals import Totals

log = logging.getLogger(__name__)

PYSPARK_MINIMUM = 4  # major version
JAVA_MINIMUM = 17  # what Spark 4 runs on
POLL_SECONDS = 0.2  # how often the main thread checks for a signal while the query runs
JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
# The master URLs Spark accepts; checked here so a typo gets one line, not a JVM stack trace.
MASTER_URL = re.compile(
    r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|local-cluster\[\d+,\d+,\d+\]|yarn"
    r"|(spark|k8s|mesos)://\S+"
)


def run_spark(config: StreamConfig) -> int:
    """Run the job until `--once` is done or a signal arrives; return the exit status."""
    _require_pyspark()
    # Under spark-submit (or the pyspark shell) the JVM and the master are already chosen.
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if under_submit and config.master != DEFAULT_MASTER:
        log.warning(
            "--master=%s is ignored under spark-submit: give it to spark-submit", config.master
        )
    if not under_submit:
        if not MASTER_URL.fullmatch(config.master):
            raise UsageError(
                f"--master: {config.master!r} is not a Spark master URL "
                "(local[*], local[N], spark://HOST:PORT, yarn, k8s://...)"
            )
        _require_java(JAVA_MINIMUM)
    _check_local_input(config.input_directory)
    # py4j logs every callback at INFO; only its problems belong on our stderr.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from eventstream import spark_job

    stop = _StopOnSignal()
    stop.install()  # from the start: a signal during the JVM's start-up still stops cleanly
    try:
        with _checkpoint_location(config.checkpoint) as checkpoint:
            spark = _start_session(spark_job, master=None if under_submit else config.master)
            stop.install()  # again: PySpark's SparkContext put its own SIGINT handler in place
            try:
                return _run(spark, config, checkpoint, stop.event)
            finally:
                with _tolerate_dead_jvm("stopping Spark"):
                    spark.stop()
    finally:
        stop.restore()


def _require_pyspark() -> None:
    try:
        import pyspark
    except ImportError:
        raise UsageError(
            "--engine=spark needs PySpark: pip install 'eventgen[spark]' (and Java 17+)"
        ) from None
    version = str(pyspark.__version__)
    if _major(version) < PYSPARK_MINIMUM:
        # The line checks (try_parse_json, is_valid_utf8) are Spark 4 SQL functions.
        raise UsageError(
            f"--engine=spark needs PySpark {PYSPARK_MINIMUM}.0+, but PySpark {version} is "
            "installed: pip install 'eventgen[spark]'"
        )


def _major(version: str) -> int:
    """The major number of a version string such as "4.0.1" or "4.1.0.dev0" (0 if none)."""
    match = re.match(r"\d+", version)
    return int(match.group()) if match else 0


def _require_java(minimum: int) -> None:
    """Fail with one line unless the `java` Spark would launch is there and new enough."""
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no java on PATH"
        raise UsageError(
            f"--engine=spark needs Java {minimum}+, but {where}: install a JDK or set JAVA_HOME"
        )
    try:
        probe = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"--engine=spark could not run {java}: {error}") from None
    match = JAVA_VERSION.search(probe.stderr)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8.0_392" is Java 8
            major = int(match.group(2))
        if major < minimum:
            raise UsageError(
                f"--engine=spark needs Java {minimum}+, but {java} is Java {major}: "
                "install a newer JDK or set JAVA_HOME"
            )


def _is_local_path(location: str) -> bool:
    return urlparse(location).scheme in ("", "file")


def _local_path(location: str) -> str:
    return urlparse(location).path if location.startswith("file:") else location


def _check_local_input(directory: str) -> None:
    """Fail fast, before the JVM starts, on a local input directory that is not there."""
    if _is_local_path(directory) and not os.path.isdir(_local_path(directory)):
        raise UsageError(f"--input-directory: {directory} is not a directory")


@contextlib.contextmanager
def _checkpoint_location(checkpoint: str | None) -> Iterator[str]:
    """`--checkpoint`, or a temporary directory removed at exit (a fresh count every run)."""
    if checkpoint is not None:
        if _is_local_path(checkpoint) and os.path.isfile(_local_path(checkpoint)):
            raise UsageError(
                f"--checkpoint: {checkpoint} is a file; the Spark engine needs a directory"
            )
        yield checkpoint
        return
    with tempfile.TemporaryDirectory(prefix="stream-events-spark-") as temporary:
        yield temporary


def _spark_errors() -> tuple[type[Exception], ...]:
    """What PySpark raises for a failure in the JVM, or when the JVM is gone."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _start_session(spark_job: Any, *, master: str | None) -> Any:
    started = time.monotonic()
    try:
        spark = spark_job.build_session(master=master)
    except _spark_errors() as error:
        raise UsageError(
            f"could not start Spark (--master={master}): {_first_line(error)}"
        ) from None
    spark.sparkContext.setLogLevel("WARN")
    log.info(
        "Spark %s session on %s ready in %.1f s",
        spark.version,
        spark.sparkContext.master,
        time.monotonic() - started,
    )
    return spark


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def _tolerate_dead_jvm(action: str) -> Iterator[None]:
    """Log, not raise, when the JVM is already gone (e.g. SIGTERM sent to the whole group)."""
    errors: tuple[type[Exception], ...] = (*_spark_errors(), ConnectionError)
    try:
        yield
    except errors as error:
        log.warning("%s failed: %s", action, _first_line(error))


class _Reports:
    """The latest totals and their printing, shared by `foreachBatch` and the main thread."""

    def __init__(self, totals: Totals) -> None:
        self._lock = threading.Lock()
        self._totals = totals
        self._printed_at = time.monotonic()

    @property
    def totals(self) -> Totals:
        with self._lock:
            return self._totals

    def update(self, totals: Totals, *, show: bool) -> None:
        with self._lock:
            self._totals = totals
            if show:
                self._print()

    def print_if_due(self, interval: float) -> None:
        """Print the totals if no report went out for `interval` s (no batch ran)."""
        with self._lock:
            if time.monotonic() - self._printed_at >= interval:
                self._print()

    def print_now(self) -> None:
        with self._lock:
            self._print()

    def _print(self) -> None:
        sys.stdout.write(format_report(self._totals.counts, other_types=self._totals.other))
        sys.stdout.flush()
        self._printed_at = time.monotonic()


def _run(spark: Any, config: StreamConfig, checkpoint: str, stop: threading.Event) -> int:
    from eventstream.spark_store import TotalsStore

    directory_error = _remote_directory_error(spark, config.input_directory)
    if directory_error:
        raise UsageError(f"--input-directory: {directory_error}")
    store = TotalsStore(spark, checkpoint)
    try:
        reports = _Reports(store.load_consistent())
    except ValueError as error:
        raise StreamError(f"--checkpoint {checkpoint}: {error}") from None
    on_batch = _BatchHandler(store, reports, show=not config.once)
    if not stop.is_set():
        query = _writer(spark, config, checkpoint, on_batch).start()
        log.info("query started, checkpoint %s", checkpoint)
        try:
            _wait(query, stop, reports, None if config.once else config.report_interval)
        except _spark_errors() as error:
            if not stop.is_set():
                cause = on_batch.failure or error
                raise StreamError(f"the Spark query failed: {_first_line(cause)}") from None
            # A signal sent to the whole process group also stopped the JVM: still report.
            log.warning("the query ended while stopping: %s", _first_line(error))
        finally:
            with _tolerate_dead_jvm("stopping the query"):
                query.stop()
        log.info("query stopped")
    reports.print_now()
    return 0


def _writer(spark: Any, config: StreamConfig, checkpoint: str, on_batch: Any) -> Any:
    """The query, ready to start: trigger = --once (available-now) or --report-interval."""
    from eventstream.spark_job import event_stream

    writer = (
        event_stream(spark, config.input_directory)
        .writeStream.foreachBatch(on_batch)
        .option("checkpointLocation", checkpoint)
        .queryName("stream-events")
    )
    if config.once:
        return writer.trigger(availableNow=True)
    return writer.trigger(processingTime=f"{round(config.report_interval * 1000)} milliseconds")


class _BatchHandler:
    """The `foreachBatch` function: count a micro-batch, save the totals, then report them.

    It runs on a py4j thread of this process, one batch at a time. The totals are saved
    before Spark commits the batch, so a batch re-run after a crash finds its id already
    in the totals and is skipped.
    """

    def __init__(self, store: Any, reports: _Reports, *, show: bool) -> None:
        self._store = store
        self._reports = reports
        self._show = show
        self.failure: BaseException | None = None  # the Python error behind a failed query

    def __call__(self, batch: Any, batch_id: int) -> None:
        from eventstream.spark_job import count_batch, describe_invalid

        try:
            totals = self._reports.totals
            if batch_id <= totals.batch_id:
                log.info("batch %d: already counted before a restart, skipped", batch_id)
                return
            started = time.monotonic()
            counts, bad_files = count_batch(batch, totals)
            if bad_files:
                log.warning("%s", describe_invalid(batch_id, bad_files))
            updated = totals.apply(batch_id, counts)
            self._store.save(updated)
            self._reports.update(updated, show=self._show)
            log.info("batch %d counted in %.2f s", batch_id, time.monotonic() - started)
        except BaseException as error:
            self.failure = error
            raise


def _wait(query: Any, stop: threading.Event, reports: _Reports, interval: float | None) -> None:
    """Block until the query ends or `stop` is set; print idle reports every `interval` s."""
    while not stop.is_set():
        if query.awaitTermination(POLL_SECONDS):
            return
        if interval is not None:
            reports.print_if_due(interval)


def _remote_directory_error(spark: Any, directory: str) -> str | None:
    """Why `directory` cannot be the input (checked through Hadoop, for any scheme)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(directory)
    try:
        fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.getFileStatus(path).isDirectory():
            return f"{directory} is not a directory"
    except _spark_errors() as error:
        # A Java exception's own message names the problem (e.g. "File ... does not exist").
        return _first_line(getattr(error, "java_exception", error))
    return None


class _StopOnSignal:
    """SIGINT / SIGTERM set `event` instead of killing the process (main thread only)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Put the handler in place; the first handlers replaced are kept for `restore`."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous.setdefault(sig, signal.signal(sig, self._handle))

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping the query", signal.Signals(signum).name)
        self.event.set()
