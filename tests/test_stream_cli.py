"""Unit tests of eventstream.cli: options, usage errors (exit 2, one line), --once in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventstream.cli import main, parse_config
from eventstream.config import StreamConfig
from tests.stream_support import events, publish


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run main with a bad command line; return the single stderr line."""
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("stream-events: error: ")
    return err


def test_defaults(tmp_path: Path) -> None:
    """Only --input-directory is required; everything else has the documented default."""
    config, verbose = parse_config([f"--input-directory={tmp_path}"])
    assert config == StreamConfig(input_directory=str(tmp_path))
    assert (config.report_interval, config.settle_time, config.engine) == (5.0, 10.0, "embedded")
    assert not verbose


def test_every_option_is_parsed(tmp_path: Path) -> None:
    """Each option lands in the config."""
    config, verbose = parse_config(
        [f"--input-directory={tmp_path}", "--report-interval=0.05", "--once",
         "--checkpoint=c.json", "--dead-letter=d.jsonl", "--polling", "--settle-time=0", "-v"]
    )  # fmt: skip
    assert config == StreamConfig(
        input_directory=str(tmp_path), report_interval=0.05, once=True, checkpoint="c.json",
        dead_letter="d.jsonl", polling=True, settle_time=0.0,
    )  # fmt: skip
    assert verbose


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "--input-directory"),
        (["--input-directory=/nonexistent/dir"], "/nonexistent/dir"),
        (["--input-directory=.", "--report-interval=0.01"], "--report-interval"),
        (["--input-directory=.", "--report-interval=nan"], "--report-interval"),
        (["--input-directory=.", "--report-interval=five"], "--report-interval"),
        (["--input-directory=.", "--settle-time=-1"], "--settle-time"),
        (["--input-directory=.", "--engine=flink"], "--engine"),
        (["--input-directory=.", "--bogus"], "--bogus"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """A bad option or a missing DIR: one line naming it, exit status 2."""
    assert needle in usage_error(capsys, *argv)


@pytest.mark.parametrize("option", ["--dead-letter=x", "--polling", "--settle-time=3"])
def test_embedded_only_options_are_refused_with_spark(
    capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """--dead-letter, --polling and --settle-time belong to the embedded engine only."""
    err = usage_error(capsys, "--input-directory=s3a://bucket/in", "--engine=spark", option)
    assert option.split("=")[0] in err and "embedded" in err


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    """--help lists every option and exits 0."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    options = "--input-directory --report-interval --once --checkpoint --dead-letter --polling"
    for option in [*options.split(), "--settle-time", "--engine", "--master"]:
        assert option in out


def test_once_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """main() can be called in-process: --once prints one report and returns 0."""
    publish(tmp_path, "events-1.json", events(2, 1, 1))
    assert main([f"--input-directory={tmp_path}", "--once"]) == 0
    assert capsys.readouterr().out == '"Viewed": 2\n"Interacted": 1\n"Click-Through": 1\n\n'


def test_unreadable_checkpoint_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged checkpoint is a failure (exit 1) with a one-line message, no report."""
    checkpoint = tmp_path / "state.json"
    checkpoint.write_bytes(b"{garbage")
    assert main([f"--input-directory={tmp_path}", "--once", f"--checkpoint={checkpoint}"]) == 1
    assert capsys.readouterr().out == ""
    [record] = caplog.records
    assert record.levelname == "ERROR" and "state.json is unreadable" in record.getMessage()
    assert "\n" not in record.getMessage()


def test_embedded_only_option_with_a_zero_value_is_refused_for_spark(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--settle-time=0 is given, so it is refused with --engine=spark like any other value."""
    err = usage_error(capsys, "--input-directory=.", "--engine=spark", "--settle-time=0")
    assert "--settle-time" in err


def test_checkpoint_that_is_a_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--checkpoint naming a directory: one line, exit 2."""
    err = usage_error(capsys, f"--input-directory={tmp_path}", f"--checkpoint={tmp_path}")
    assert "--checkpoint" in err
