"""Shared helpers for the generator's tests (no tests here): run it, read what it wrote."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from eventstream.report import parse_report
from tests.helpers import GENERATE, event_files, run

LINE = re.compile(
    rb'\{"type": "(Viewed|Interacted|Click-Through)", "data": \{"viewId": '
    rb'"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})", '
    rb'"eventDateTime": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"\}\}\n'
)
NAME = re.compile(r"events-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{6}\.json")
ALLOWED_GROUPS = {
    ("Viewed",),
    ("Viewed", "Interacted"),
    ("Viewed", "Click-Through"),
    ("Viewed", "Interacted", "Click-Through"),
}


@dataclass(frozen=True)
class Event:
    """One parsed line: the file it is in, its type, viewId and timestamp."""

    file: str
    type: str
    view_id: str
    date_time: str


def generate(
    directory: Path | str,
    *,
    groups: int,
    batch: int,
    interval: float = 0,
    extra: tuple[str, ...] = (),
    timeout: float = 120.0,
    **kwargs: object,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m eventgen` to completion (quietly) with the four required arguments."""
    return run(
        GENERATE,
        f"--number-of-groups={groups}",
        f"--batch-size={batch}",
        f"--interval={interval}",
        f"--output-directory={directory}",
        "--quiet",
        *extra,
        timeout=timeout,
        **kwargs,
    )


def read_events(directory: Path | str) -> list[Event]:
    """Every event in the published files, in publish order; each line must match exactly."""
    events: list[Event] = []
    for name in event_files(directory):
        data = Path(directory, name).read_bytes()
        position = 0
        while position < len(data):
            match = LINE.match(data, position)
            assert match, f"{name}: bad line at byte {position}: {data[position:position + 200]!r}"
            events.append(Event(name, *(g.decode() for g in match.groups())))
            position = match.end()
    return events


def line_counts(directory: Path | str) -> list[int]:
    """Lines per published file, in publish order."""
    return [Path(directory, n).read_bytes().count(b"\n") for n in event_files(directory)]


def disk_totals(directory: Path | str) -> dict[str, int]:
    """Events per type on disk, counted with the streamer's three core types."""
    totals = {"Viewed": 0, "Interacted": 0, "Click-Through": 0}
    for name in event_files(directory):
        data = Path(directory, name).read_bytes()
        for kind in totals:
            totals[kind] += data.count(b'{"type": "' + kind.encode() + b'"')
    return totals


def stdout_totals(stdout: str) -> dict[str, int]:
    """The totals the generator printed (parsed with the streamer's parser)."""
    return parse_report(stdout)


def hidden_files(directory: Path | str) -> list[str]:
    """Hidden (temporary) files left in `directory`."""
    return sorted(n for n in os.listdir(directory) if n.startswith("."))


def groups_of(events: list[Event]) -> list[list[Event]]:
    """Split events into groups: a group starts at each Viewed."""
    groups: list[list[Event]] = []
    for event in events:
        if event.type == "Viewed":
            groups.append([event])
        else:
            assert groups, "the first event is not a Viewed"
            groups[-1].append(event)
    return groups
