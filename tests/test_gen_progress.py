"""Unit tests of eventgen.progress: a tqdm bar only on a terminal, silenced by --quiet."""

from __future__ import annotations

import io

from eventgen.progress import BarProgress, NoProgress, make_progress
from eventgen.totals import Totals


class _Terminal(io.StringIO):
    """A text stream that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal_or_quiet() -> None:
    """Not a terminal, or --quiet: nothing is written."""
    stream = _Terminal()
    assert isinstance(make_progress(10, quiet=True, stream=stream), NoProgress)
    plain = io.StringIO()
    progress = make_progress(10, quiet=False, stream=plain)
    assert isinstance(progress, NoProgress)
    progress.update(Totals(viewed=5, files=1))
    progress.close()
    assert plain.getvalue() == stream.getvalue() == ""


def test_the_bar_shows_groups_files_and_events_per_second() -> None:
    """On a terminal the bar counts groups (one Viewed each) and shows files and events/s."""
    stream = _Terminal()
    progress = make_progress(1000, quiet=False, stream=stream)
    assert isinstance(progress, BarProgress)
    progress.update(Totals(viewed=400, interacted=20, click_through=30, files=3))
    progress.update(Totals(viewed=1000, interacted=50, click_through=60, files=7))
    progress.close()
    screen = stream.getvalue()
    assert "1.00k/1.00k" in screen and "groups" in screen
    assert "7 files" in screen and "events/s" in screen
