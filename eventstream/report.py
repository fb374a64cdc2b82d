"""The report block: running totals in the challenge's format, one block per report.

    "Viewed": 10
    "Interacted": 2
    "Click-Through": 2
    <blank line>

Shared by both engines (embedded and Spark) so their output is identical byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

CORE_TYPES: tuple[str, ...] = ("Viewed", "Interacted", "Click-Through")
OTHER_TYPES_LABEL = "(other types)"


def format_report(totals: Mapping[str, int], *, other_types: int = 0) -> str:
    """Return one report block, ending in a blank line.

    The core types come first, in the challenge's order and 0 when unseen; any other type
    follows in the mapping's order (first appearance). Names are JSON strings, so a hostile
    type cannot break the format. `other_types` is the sum of events whose type was past the
    cap on tracked types; it is shown on its own line only when non-zero.
    """
    lines = [f"{json.dumps(name)}: {totals.get(name, 0)}" for name in CORE_TYPES]
    lines += [
        f"{json.dumps(name)}: {count}" for name, count in totals.items() if name not in CORE_TYPES
    ]
    if other_types:
        lines.append(f"{json.dumps(OTHER_TYPES_LABEL)}: {other_types}")
    return "\n".join(lines) + "\n\n"


def parse_report(text: str) -> dict[str, int]:
    """Parse the last report block in `text` back into totals (for tests and scripts)."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    if not blocks:
        raise ValueError("no report block in the text")
    totals: dict[str, int] = {}
    for line in blocks[-1].splitlines():
        name, _, count = line.rpartition(": ")
        totals[json.loads(name)] = int(count)
    return totals
