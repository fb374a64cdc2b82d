"""Totals of the published events, printed in the streamer's report format.

The format is pinned by a test against the streamer's own formatter; the two packages never
import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventgen.groups import CODE_C, CODE_I


@dataclass(slots=True)
class Totals:
    """Events and files published so far (owned by the writer)."""

    viewed: int = 0
    interacted: int = 0
    click_through: int = 0
    files: int = 0

    @property
    def events(self) -> int:
        """All events published."""
        return self.viewed + self.interacted + self.click_through

    def add_lines(self, types: bytes) -> None:
        """Count lines whose codes are `types` (one byte per line)."""
        interacted = types.count(CODE_I)
        clicks = types.count(CODE_C)
        self.viewed += len(types) - interacted - clicks
        self.interacted += interacted
        self.click_through += clicks

    def add(self, other: Totals) -> None:
        """Add another tally (a published file's) to this one."""
        self.viewed += other.viewed
        self.interacted += other.interacted
        self.click_through += other.click_through
        self.files += other.files


def format_totals(totals: Totals) -> str:
    """The report block: the three core types in order, then a blank line."""
    return (
        f'"Viewed": {totals.viewed}\n'
        f'"Interacted": {totals.interacted}\n'
        f'"Click-Through": {totals.click_through}\n\n'
    )
