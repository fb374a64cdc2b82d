"""End-to-end tests of `stream-events --engine=spark` through the real command.

Each Spark run starts a JVM (several seconds), so the tests that need one are marked
`spark` and `slow` and keep their number of runs small; `local[2]` matches CI's two cores.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from eventstream.report import format_report, parse_report
from tests.helpers import STREAM, run, wait_until

SPARK = (*STREAM, "--engine=spark", "--master=local[2]")
SPARK_TIMEOUT = 240.0
REPORT_LINE = re.compile(r'"(?:[^"\\]|\\.)*": \d+')


def event(kind: str) -> bytes:
    """One event line in the generator's format."""
    return (
        f'{{"type": "{kind}", "data": {{"viewId": "{uuid.uuid4()}", '
        f'"eventDateTime": "2018-05-14T12:00:00Z"}}}}\n'
    ).encode()


def publish(directory: Path, name: str, data: bytes) -> None:
    """Write a file under a hidden name, then rename it into place, as the generator does."""
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(data)
    os.rename(temporary, directory / name)


def events(viewed: int, interacted: int, click_through: int) -> bytes:
    """A block of well-formed core events with the given counts."""
    return (
        b"".join(event("Viewed") for _ in range(viewed))
        + b"".join(event("Interacted") for _ in range(interacted))
        + b"".join(event("Click-Through") for _ in range(click_through))
    )


def name(second: int) -> str:
    """A generator-style file name; names sort in `second` order."""
    return f"events-2024-01-01-00-00-{second:02d}-000000.json"


def assert_only_reports(stdout: str) -> None:
    """stdout holds report blocks and nothing else (Spark's logs go to stderr)."""
    for line in stdout.splitlines():
        assert line == "" or REPORT_LINE.fullmatch(line), f"not a report line: {line!r}"


def spark_once(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `stream-events --engine=spark --once` and check it succeeded with only reports."""
    result = run(SPARK, f"--input-directory={directory}", "--once", *args, timeout=SPARK_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert_only_reports(result.stdout)
    return result


def invalid_lines(stderr: str, pattern: re.Pattern[str]) -> int:
    """The invalid lines an engine's warnings on stderr add up to."""
    return sum(int(count) for count in pattern.findall(stderr))


# What each engine warns: per file read (embedded) or per micro-batch (Spark).
EMBEDDED_INVALID = re.compile(r": (\d+) invalid lines? \(first at line \d+\)")
SPARK_INVALID = re.compile(r"batch \d+: (\d+) invalid lines? not counted")


@pytest.mark.spark
@pytest.mark.slow
def test_once_prints_the_same_totals_as_the_embedded_engine(tmp_path: Path) -> None:
    """On the same files (with every kind of ordinary bad line, extra types past the cap, and
    files that must be ignored) Spark's --once prints exactly the embedded engine's report,
    byte for byte, and finds the same number of invalid lines."""
    directory = tmp_path / "in"
    directory.mkdir()
    publish(directory, name(1), events(40, 3, 2))
    bad = (
        event("Viewed")
        + b"not json at all\n"
        + b'{"data": {"viewId": "x"}}\n'  # no type
        + b'{"type": null, "data": {}}\n'  # null type
        + b'{"type": 1}\n{"type": true}\n{"type": {"a": 1}}\n'  # a type that is not a string
        + b'[{"type":"Viewed"},{"type":"Viewed"}]\n'  # an array of events
        + b'{"type": "Viewed"} x\n'  # text after the object
        + b'{"type": "Viewed"}, "0"] x\n'  # text after it that closes Spark's wrapping array
        + b'[]\n42\n"Viewed"\n'  # JSON, but not an object
        + b"\n  \t \r\n"  # blank lines
        + event("Refund")
        + b'{"type": "Caf\xff"}\n'  # invalid UTF-8
        + b'{"type": "Refund", "tags": ["a", "]"]}\n'  # valid, not in the generator's shape
        + b' {"type":"Viewed"}\r\n'  # valid: JSON whitespace around the object
        + event("Interacted")
        + event("Viewed").rstrip(b"\n")  # unterminated last line of a finished file
    )
    publish(directory, name(2), bad)
    # 1,005 new types: 1,000 get a line (in order of first appearance), 5 are summed.
    many = b"".join(event(f"Type-{i:04d}") for i in range(1, 1006)) + event("Type-0003")
    publish(directory, name(3), many + events(1, 0, 1))
    publish(directory, name(4), events(5, 1, 1))
    # Not counted by either engine: hidden, other names, subdirectories.
    publish(directory, ".events-2024-01-01-00-00-05-000000.json", events(100, 0, 0))
    publish(directory, "other.json", events(100, 0, 0))
    (directory / "sub").mkdir()
    publish(directory / "sub", name(6), events(100, 0, 0))

    spark = spark_once(directory)
    embedded = run(STREAM, f"--input-directory={directory}", "--once", timeout=SPARK_TIMEOUT)
    assert embedded.returncode == 0, embedded.stderr

    assert spark.stdout == embedded.stdout
    expected = {"Viewed": 40 + 3 + 1 + 5, "Interacted": 3 + 1 + 1, "Click-Through": 2 + 1 + 1}
    expected |= {"Refund": 2} | {f"Type-{i:04d}": 1 for i in range(1, 1000)}
    expected["Type-0003"] = 2
    assert spark.stdout == format_report(expected, other_types=6)
    assert invalid_lines(embedded.stderr, EMBEDDED_INVALID) == 13
    assert invalid_lines(spark.stderr, SPARK_INVALID) == 13


@pytest.mark.spark
@pytest.mark.slow
def test_checkpoint_restart_counts_only_new_files(tmp_path: Path) -> None:
    """With the same --checkpoint, a second run adds only the new files, and a third run with
    nothing new prints the same cumulative totals (no micro-batch runs then)."""
    directory, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    directory.mkdir()
    publish(directory, name(1), events(10, 2, 1))
    publish(directory, name(2), event("Refund") + events(5, 0, 0))
    first = spark_once(directory, f"--checkpoint={checkpoint}")
    assert parse_report(first.stdout) == {
        "Viewed": 15,
        "Interacted": 2,
        "Click-Through": 1,
        "Refund": 1,
    }

    publish(directory, name(3), events(7, 1, 1) + event("Other"))
    second = spark_once(directory, f"--checkpoint={checkpoint}")
    assert second.stdout == format_report(
        {"Viewed": 22, "Interacted": 3, "Click-Through": 2, "Refund": 1, "Other": 1}
    )

    third = spark_once(directory, f"--checkpoint={checkpoint}")
    assert third.stdout == second.stdout


@pytest.mark.spark
@pytest.mark.slow
def test_replayed_batch_is_not_counted_twice(tmp_path: Path) -> None:
    """A crash after the totals of a batch were saved but before Spark committed it (simulated
    by removing Spark's commit file) makes Spark re-run that batch: its files stay counted once,
    and files that arrived meanwhile are still counted."""
    directory, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    directory.mkdir()
    publish(directory, name(1), events(4, 1, 0))
    first = spark_once(directory, f"--checkpoint={checkpoint}")
    assert parse_report(first.stdout) == {"Viewed": 4, "Interacted": 1, "Click-Through": 0}

    commits = checkpoint / "commits"
    for commit in commits.iterdir():
        commit.unlink()  # batch 0 (and its .crc): as if the driver died before committing
    publish(directory, name(2), events(3, 0, 2))
    second = spark_once(directory, f"--checkpoint={checkpoint}")
    assert parse_report(second.stdout) == {"Viewed": 7, "Interacted": 1, "Click-Through": 2}
    assert (commits / "0").is_file()  # Spark did re-run batch 0


@pytest.mark.spark
@pytest.mark.slow
def test_checkpoint_without_its_totals_is_refused(tmp_path: Path) -> None:
    """A checkpoint whose Spark commits are ahead of its saved totals (the totals were deleted)
    would silently lose the committed files: the run fails with exit 1 and says so."""
    directory, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    directory.mkdir()
    publish(directory, name(1), events(2, 0, 0))
    spark_once(directory, f"--checkpoint={checkpoint}")
    for path in (checkpoint / "eventstream-totals").iterdir():
        path.unlink()
    result = run(
        SPARK, f"--input-directory={directory}", "--once", f"--checkpoint={checkpoint}",
        timeout=SPARK_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Spark committed batch 0 but the totals" in result.stderr


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_live_stream_reports_new_files_and_stops_on_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """Without --once the running totals are reported every interval, a file landing later is
    added, and SIGINT / SIGTERM stop the query with a final report and exit status 0."""
    directory = tmp_path / "in"
    directory.mkdir()
    publish(directory, name(1), events(6, 1, 1))
    stdout_path, stderr_path = tmp_path / "stdout", tmp_path / "stderr"
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [*SPARK, f"--input-directory={directory}", "--report-interval=0.5"],
            stdout=stdout,
            stderr=stderr,
        )
    try:

        def report() -> dict[str, int]:
            text = stdout_path.read_text()
            return parse_report(text) if text.strip() else {}

        first = {"Viewed": 6, "Interacted": 1, "Click-Through": 1}
        wait_until(lambda: report() == first, timeout=SPARK_TIMEOUT, what="first report")
        publish(directory, name(2), events(2, 0, 3))
        second = {"Viewed": 8, "Interacted": 1, "Click-Through": 4}
        wait_until(lambda: report() == second, timeout=60, what="the new file in a report")
        process.send_signal(signum)
        assert process.wait(timeout=60) == 0, stderr_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = stdout_path.read_text()
    assert_only_reports(text)
    assert text.endswith(format_report(second))


@pytest.mark.spark
@pytest.mark.parametrize(
    "env",
    [
        {"PATH": "/nonexistent", "JAVA_HOME": None},
        {"PATH": "/nonexistent", "JAVA_HOME": "/nonexistent/jdk"},
    ],
    ids=["no-java-on-path", "java-home-nowhere"],
)
def test_missing_java_is_a_usage_error(tmp_path: Path, env: dict[str, str | None]) -> None:
    """Without a `java` to launch, the Spark engine exits 2 with one clear line."""
    environment = {k: v for k, v in os.environ.items() if k not in env}
    environment |= {k: v for k, v in env.items() if v is not None}
    result = run(SPARK, f"--input-directory={tmp_path}", "--once", env=environment)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "needs Java 17+" in result.stderr


@pytest.mark.spark
def test_old_java_is_a_usage_error(tmp_path: Path) -> None:
    """A JAVA_HOME whose java is older than PySpark needs (here a stand-in `java` that reports
    version 11, as a JDK 11 does) gives exit 2 and one line naming the version."""
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    environment = os.environ | {"JAVA_HOME": str(tmp_path / "jdk")}
    result = run(SPARK, f"--input-directory={tmp_path}", "--once", env=environment)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert f"but {java} is Java 11" in result.stderr


def run_once_with_pyspark(
    directory: Path, stand_in: str
) -> subprocess.CompletedProcess[str]:
    """Run `stream-events --engine=spark --once` in a fresh interpreter whose `pyspark` import
    is first replaced by `stand_in` (Python statements; `sys` and `types` are imported)."""
    code = (
        f"import sys, types\n{stand_in}\n"
        "from eventstream.cli import main\n"
        f"sys.exit(main(['--engine=spark', '--input-directory={directory}', '--once']))\n"
    )
    return run((sys.executable, "-c", code))


def test_missing_pyspark_is_a_usage_error(tmp_path: Path) -> None:
    """Without PySpark importable, --engine=spark exits 2 and says how to install it."""
    result = run_once_with_pyspark(tmp_path, "sys.modules['pyspark'] = None")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "needs PySpark: pip install 'eventgen[spark]'" in result.stderr


def test_old_pyspark_is_a_usage_error(tmp_path: Path) -> None:
    """With a PySpark older than 4.0 (here a stand-in module reporting 3.5.1), --engine=spark
    exits 2 and names the version it needs, before starting any JVM."""
    result = run_once_with_pyspark(
        tmp_path,
        "sys.modules['pyspark'] = types.ModuleType('pyspark')\n"
        "sys.modules['pyspark'].__version__ = '3.5.1'",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "needs PySpark 4.0+, but PySpark 3.5.1 is installed" in result.stderr


@pytest.mark.spark
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--master=mars", "--input-directory={tmp}"), "--master: 'mars' is not a Spark master"),
        (("--input-directory={tmp}/missing",), "missing is not a directory"),
        (("--input-directory={tmp}", "--checkpoint={tmp}/file"), "is a file"),
    ],
    ids=["bad-master", "missing-directory", "checkpoint-is-a-file"],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """A bad master URL, a missing input directory or a checkpoint that is a file: exit 2 with
    one line on stderr, before any JVM starts."""
    (tmp_path / "file").write_text("")
    argv = [arg.format(tmp=tmp_path) for arg in args]
    result = run(STREAM, "--engine=spark", "--once", *argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr


