"""Unit tests of eventgen.totals: counting and the report format shared with the streamer."""

from __future__ import annotations

from eventgen.totals import Totals, format_totals
from eventstream.report import format_report, parse_report


def test_lines_and_files_add_up() -> None:
    """Line codes add to the per-type counts; a file's tally adds to the totals."""
    file = Totals(files=1)
    file.add_lines(b"VVIVCVIC")
    file.add_lines(b"V")
    assert (file.viewed, file.interacted, file.click_through, file.events) == (5, 2, 2, 9)
    totals = Totals()
    totals.add(file)
    totals.add(file)
    assert totals == Totals(viewed=10, interacted=4, click_through=4, files=2)


def test_the_format_is_the_streamers_report_format_byte_for_byte() -> None:
    """format_totals equals eventstream.report.format_report for the three core types, so
    `diff` can compare the two apps' outputs."""
    for viewed, interacted, clicks in ((0, 0, 0), (10, 2, 2), (1_000_000, 99_610, 99_928)):
        totals = Totals(viewed=viewed, interacted=interacted, click_through=clicks)
        expected = format_report(
            {"Viewed": viewed, "Interacted": interacted, "Click-Through": clicks}
        )
        assert format_totals(totals) == expected
        assert parse_report(format_totals(totals)) == {
            "Viewed": viewed, "Interacted": interacted, "Click-Through": clicks
        }
    assert format_totals(Totals(viewed=3, interacted=1, click_through=0)) == (
        '"Viewed": 3\n"Interacted": 1\n"Click-Through": 0\n\n'
    )
