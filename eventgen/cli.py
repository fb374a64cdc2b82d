"""`generate-events`: parse the arguments, set up logging and signals, run, print totals."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from eventgen.config import MAX_WORKERS, GeneratorConfig, default_workers
from eventgen.errors import GenerationError, PublishError, UsageError
from eventgen.pipeline import StopRequest, run
from eventgen.progress import make_progress
from eventgen.totals import Totals, format_totals
from eventgen.writer import prepare_directory

PROG = "generate-events"
logger = logging.getLogger("eventgen")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented for `--help`."""
    parser = _Parser(
        prog=PROG,
        description="Generate synthetic Viewed / Interacted / Click-Through event groups as "
        "line-delimited JSON files, one file of --batch-size events every --interval seconds. "
        "At the end, stdout gets the totals of what was published (the stream-events report "
        "format). Exit status: 0 done, 1 write error, 2 bad argument, 130 SIGINT, 143 SIGTERM.",
    )
    required = parser.add_argument_group("required arguments")
    required.add_argument("--number-of-groups", type=int, required=True, metavar="N",
                          help="event groups to generate (>= 0); each gives 1 to 3 events")
    required.add_argument("--batch-size", type=int, required=True, metavar="B",
                          help="events per file (>= 1); the last file holds the rest")
    required.add_argument("--interval", type=float, required=True, metavar="SECONDS",
                          help="seconds between files (>= 0, fractions allowed; "
                          "0 = as fast as possible)")
    required.add_argument("--output-directory", required=True, metavar="DIR",
                          help="where the files go; created if missing")
    parser.add_argument("--seed", type=int, metavar="S",
                        help="make the events (apart from timestamps) reproducible: the same "
                        "for any --workers and --batch-size (default: a random seed, logged)")
    parser.add_argument("--workers", type=int, metavar="W",
                        help=f"worker processes building events, 1 to {MAX_WORKERS} (default: "
                        f"one per usable CPU, at most 4; here {default_workers()})")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar and no informational messages on stderr "
                        "(warnings and errors still show)")
    return parser


def parse_config(argv: list[str]) -> GeneratorConfig:
    """Parse and validate the arguments; raise UsageError naming the bad one."""
    args = build_parser().parse_args(argv)
    return GeneratorConfig(
        number_of_groups=args.number_of_groups,
        batch_size=args.batch_size,
        interval=args.interval,
        output_directory=args.output_directory,
        seed=args.seed,
        workers=default_workers() if args.workers is None else args.workers,
        quiet=args.quiet,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the generator; return the exit status."""
    stop = StopRequest()
    with _signals_to(stop):  # from the start: a signal never gives a traceback
        return _main(sys.argv[1:] if argv is None else argv, stop)


def _main(argv: list[str], stop: StopRequest) -> int:
    try:
        config = parse_config(argv)
        prepare_directory(config.output_directory)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    _configure_logging(quiet=config.quiet)
    seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(8), "big")
    logger.info("generating %d groups into %s (seed %d, %d workers)",
                config.number_of_groups, config.output_directory, seed, config.workers)
    totals = Totals()
    progress = make_progress(config.number_of_groups, quiet=config.quiet)
    status = 0
    try:
        run(config, seed=seed, totals=totals, stop=stop, progress=progress)
    except (PublishError, GenerationError) as exc:
        logger.error("%s", exc)
        status = exc.exit_code
    finally:
        progress.close()
    if status == 0 and stop.signum is not None:
        logger.warning("stopped by %s after %d files", signal.Signals(stop.signum).name,
                       totals.files)
        status = 128 + stop.signum
    try:
        sys.stdout.write(format_totals(totals))
        sys.stdout.flush()
    except BrokenPipeError:  # `generate-events ... | head -1`: nobody reads the totals
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
    return status


class _Formatter(logging.Formatter):
    """`generate-events: warning: ...`; informational lines carry no level."""

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        return f"{PROG}: {level}{record.getMessage()}"


def _configure_logging(*, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


@contextmanager
def _signals_to(stop: StopRequest) -> Iterator[None]:
    """SIGINT / SIGTERM ask the pipeline to stop cleanly; the old handlers come back after."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.request(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
