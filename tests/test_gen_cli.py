"""Tests of eventgen.cli: arguments, exit statuses and output, in-process and as a process."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from eventgen.cli import build_parser, main
from tests.gen_support import disk_totals, hidden_files, stdout_totals
from tests.helpers import GENERATE, run

GOOD = {
    "--number-of-groups": "10",
    "--batch-size": "5",
    "--interval": "0",
}


def _args(directory: Path, **changes: str | None) -> list[str]:
    values: dict[str, str | None] = {**GOOD, "--output-directory": str(directory)}
    for option, value in changes.items():
        values["--" + option.replace("_", "-")] = value
    return [f"{option}={value}" for option, value in values.items() if value is not None]


BAD = [
    ("number_of_groups", None, "--number-of-groups"),
    ("batch_size", None, "--batch-size"),
    ("interval", None, "--interval"),
    ("output_directory", None, "--output-directory"),
    ("number_of_groups", "-1", "--number-of-groups"),
    ("number_of_groups", "ten", "--number-of-groups"),
    ("number_of_groups", "1.5", "--number-of-groups"),
    ("batch_size", "0", "--batch-size"),
    ("batch_size", "-5", "--batch-size"),
    ("batch_size", "2.0", "--batch-size"),
    ("interval", "-1", "--interval"),
    ("interval", "abc", "--interval"),
    ("interval", "nan", "--interval"),
    ("interval", "inf", "--interval"),
    ("workers", "0", "--workers"),
    ("workers", "65", "--workers"),
    ("workers", "two", "--workers"),
    ("seed", "-1", "--seed"),
    ("seed", "x", "--seed"),
    ("unknown_option", "1", "--unknown-option"),
]


@pytest.mark.parametrize(("option", "value", "named"), BAD)
def test_a_bad_argument_exits_2_with_one_line_naming_it_and_writes_nothing(
    tmp_path: Path, option: str, value: str | None, named: str
) -> None:
    """Missing, malformed or out-of-range arguments: exit 2, one line on stderr naming the
    argument, no traceback, nothing on stdout, and the output directory is not created."""
    target = tmp_path / "out"
    args = _args(target, **{option: value})
    result = run(GENERATE, *args, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("kind", ["file", "under-file", "not-writable"])
def test_an_unusable_output_directory_exits_2_and_writes_nothing(
    tmp_path: Path, kind: str
) -> None:
    """DIR that is a file, under a file, or where no file can be created (root is not
    stopped by permission bits, but /proc/self refuses new files): exit 2, one line naming
    --output-directory, nothing written."""
    regular = tmp_path / "regular"
    regular.write_text("keep\n")
    directory = {"file": regular, "under-file": regular / "sub",
                 "not-writable": Path("/proc/self")}[kind]
    before = sorted(os.listdir(tmp_path))
    result = run(GENERATE, *_args(directory), timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "--output-directory" in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == before and regular.read_text() == "keep\n"


def test_help_documents_every_option() -> None:
    """--help exits 0 and documents the four required options and --seed, --workers,
    --quiet."""
    text = build_parser().format_help()
    for option in ("--number-of-groups", "--batch-size", "--interval", "--output-directory",
                   "--seed", "--workers", "--quiet"):
        assert option in text
    result = run(GENERATE, "--help", timeout=60)
    assert result.returncode == 0 and "--workers" in result.stdout


def test_main_in_process_prints_the_totals_of_what_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main(argv) returns 0 and prints exactly the totals block of the files it wrote; the
    seed makes two runs identical."""
    assert main([*_args(tmp_path / "a"), "--seed=4", "--quiet", "--workers=1"]) == 0
    first = capsys.readouterr()
    assert stdout_totals(first.out) == disk_totals(tmp_path / "a")
    assert first.out.endswith("\n\n") and first.err == ""
    assert main([*_args(tmp_path / "b"), "--seed=4", "--quiet", "--workers=2"]) == 0
    assert capsys.readouterr().out == first.out


def test_without_quiet_the_seed_is_logged_to_stderr_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Informational messages (with the seed, to reproduce a run) go to stderr; stdout
    holds only the totals."""
    assert main(_args(tmp_path)) == 0
    captured = capsys.readouterr()
    assert "seed" in captured.err
    assert stdout_totals(captured.out)["Viewed"] == 10


def test_a_closed_stdout_is_not_an_error(tmp_path: Path) -> None:
    """`generate-events ... | true`: nobody reads the totals; the files are still written,
    the exit status is 0 and there is no traceback."""
    process = subprocess.Popen(
        [*GENERATE, *_args(tmp_path, number_of_groups="5000"), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 0, stderr
    assert stderr == ""
    assert disk_totals(tmp_path)["Viewed"] == 5000


def _close_failing_for(suffix: str) -> Callable[[int], None]:
    """os.close that reports EIO (as NFS and FUSE report write errors at close) the first time
    a file whose name ends with `suffix` is closed; the descriptor is released anyway, as Linux
    does."""
    real_close = os.close
    failed = False

    def close(fd: int) -> None:
        nonlocal failed
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        real_close(fd)
        if target.endswith(suffix) and not failed:
            failed = True
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    return close


def test_an_error_at_close_publishes_nothing_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write error reported only by close() (NFS, FUSE) on the second file: that file is not
    published, one line names it, exit 1, no temporary file, stdout totals equal the disk."""
    monkeypatch.setattr(os, "close", _close_failing_for("-2.tmp"))  # the second file's temporary
    status = main([*_args(tmp_path, number_of_groups="20"), "--quiet", "--workers=1"])
    captured = capsys.readouterr()
    assert status == 1, captured.err
    assert len(captured.err.splitlines()) == 1, captured.err
    assert "Input/output error" in captured.err and "events-" in captured.err
    assert len([n for n in os.listdir(tmp_path) if not n.startswith(".")]) == 1
    assert hidden_files(tmp_path) == []
    assert stdout_totals(captured.out) == disk_totals(tmp_path)
