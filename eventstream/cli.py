"""`stream-events`: arguments -> StreamConfig, logging, and exit codes by exception type."""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

from eventstream.config import (
    DEFAULT_MASTER,
    DEFAULT_REPORT_INTERVAL,
    DEFAULT_SETTLE_TIME,
    ENGINES,
    MIN_REPORT_INTERVAL,
    StreamConfig,
)
from eventstream.errors import StreamError, UsageError

log = logging.getLogger("eventstream")

EMBEDDED_ONLY = ("dead_letter", "polling", "settle_time")

DESCRIPTION = """\
Watch DIR for line-delimited JSON event files named events-*.json and print exact running
totals per event type every --report-interval seconds (and once more on exit).
Files already there are counted first, oldest name first; then each new file as it lands
(closed after writing, renamed into DIR, or moved in). Only complete lines count: a partial
last line waits for its newline, or for its writer to finish.
Exit status: 0 done (also after SIGINT/SIGTERM), 1 failure, 2 bad usage."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and an exception (exit 2 via UsageError)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _seconds(minimum: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, at least `minimum`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g} seconds, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented in --help."""
    parser = _Parser(
        prog="stream-events",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input-directory", required=True, metavar="DIR",
        help="directory to watch (for --engine=spark also any URL Spark reads, e.g. s3a://...)",
    )  # fmt: skip
    parser.add_argument(
        "--report-interval", type=_seconds(MIN_REPORT_INTERVAL), default=DEFAULT_REPORT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between reports, at least {MIN_REPORT_INTERVAL:g} "
        f"(default {DEFAULT_REPORT_INTERVAL:g}); the directory is also rescanned this often",
    )  # fmt: skip
    parser.add_argument(
        "--once", action="store_true",
        help="count the files present (partial last lines included), print one report, exit",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoint", metavar="PATH",
        help="keep totals and per-file offsets in the file PATH (saved atomically), so a "
        "restart after a crash goes on exactly where it left off; without it a restart "
        "recounts DIR (for --engine=spark PATH is Spark's checkpoint directory)",
    )  # fmt: skip
    parser.add_argument(
        "--dead-letter", metavar="FILE",
        help="append each invalid line to FILE as JSON {file, line, reason, text<=1KiB} "
        "(embedded engine)",
    )  # fmt: skip
    parser.add_argument(
        "--polling", action="store_true",
        help="poll the directory instead of inotify, for NFS/SMB/some container volumes "
        "(embedded engine)",
    )  # fmt: skip
    parser.add_argument(
        "--settle-time", type=_seconds(0.0), default=None, metavar="SECONDS",
        help="an unterminated last line counts once its file is unchanged this long "
        f"(default {DEFAULT_SETTLE_TIME:g}; closed or renamed files count at once; "
        "embedded engine)",
    )  # fmt: skip
    parser.add_argument(
        "--engine", choices=ENGINES, default="embedded",
        help="embedded (default) or spark (Spark Structured Streaming, needs pip install .[spark])",
    )  # fmt: skip
    parser.add_argument(
        "--master", default=DEFAULT_MASTER,
        help=f"Spark master URL for --engine=spark (default {DEFAULT_MASTER})",
    )  # fmt: skip
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress details on stderr",
    )  # fmt: skip
    return parser


def _given(value: object) -> bool:
    """Whether an option was given: not left at its default None / False (0 is given)."""
    return value is not None and value is not False


def parse_config(argv: list[str] | None) -> tuple[StreamConfig, bool]:
    """Validate the command line into a config; raise UsageError with a one-line reason."""
    args = build_parser().parse_args(argv)
    if args.engine == "spark":
        given = [name for name in EMBEDDED_ONLY if _given(getattr(args, name))]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise UsageError(f"{option} works only with --engine=embedded")
    else:
        if not os.path.isdir(args.input_directory):
            raise UsageError(f"--input-directory: {args.input_directory} is not a directory")
        if args.checkpoint is not None and os.path.isdir(args.checkpoint):
            raise UsageError(f"--checkpoint: {args.checkpoint} is a directory, not a file")
    config = StreamConfig(
        input_directory=args.input_directory,
        report_interval=args.report_interval,
        once=args.once,
        checkpoint=args.checkpoint,
        dead_letter=args.dead_letter,
        polling=args.polling,
        settle_time=DEFAULT_SETTLE_TIME if args.settle_time is None else args.settle_time,
        engine=args.engine,
        master=args.master,
    )
    return config, args.verbose


def run(config: StreamConfig) -> int:
    """Run the chosen engine; return its exit status."""
    if config.engine == "spark":
        from eventstream.spark import run_spark  # lazy: PySpark is an optional extra

        return run_spark(config)
    from eventstream.pipeline import run_embedded

    return run_embedded(config)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `stream-events` and `python -m eventstream`; returns the exit status."""
    try:
        config, verbose = parse_config(argv)
    except SystemExit as done:  # --help
        return int(done.code or 0)
    except UsageError as error:
        print(f"stream-events: error: {error}", file=sys.stderr)
        return error.exit_code
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="stream-events: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return run(config)
    except (UsageError, StreamError) as error:
        log.error("%s", error)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout's reader went away: nothing more can be reported, and no traceback either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        log.error("stdout was closed")
        return 1
    finally:
        if argv is None:
            # Run as a program: the final report is out, so a signal arriving while the
            # interpreter exits has nothing left to stop (in-process callers keep theirs).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
