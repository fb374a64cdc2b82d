"""A plain reference generator for the benchmark: one uuid4() and one json.dumps per event.

What a straightforward implementation looks like (same groups, same line format, same files
of --batch-size events), to show what the bulk approach of `eventgen.groups` buys.

    python benchmarks/gen_reference.py GROUPS BATCH_SIZE DIR
"""

from __future__ import annotations

import datetime
import json
import os
import random
import sys
import uuid

SEQUENCES = (
    ("Viewed",),
    ("Viewed", "Interacted"),
    ("Viewed", "Click-Through"),
    ("Viewed", "Interacted", "Click-Through"),
)


def main(groups: int, batch_size: int, directory: str) -> None:
    """Write `groups` groups into files of `batch_size` events in `directory`."""
    os.makedirs(directory, exist_ok=True)
    lines: list[str] = []
    files = 0

    def flush() -> None:
        nonlocal files
        now = datetime.datetime.now(datetime.UTC)
        name = f"events-{now:%Y-%m-%d-%H-%M-%S-%f}-{files}.json"
        with open(os.path.join(directory, name), "w", encoding="utf-8") as out:
            out.writelines(lines)
        lines.clear()
        files += 1

    for _ in range(groups):
        sequence = random.choices(SEQUENCES, weights=(85, 5, 5, 5))[0]
        view_id = str(uuid.uuid4())
        for kind in sequence:
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            event = {"type": kind, "data": {"viewId": view_id, "eventDateTime": stamp}}
            lines.append(json.dumps(event) + "\n")
            if len(lines) == batch_size:
                flush()
    if lines:
        flush()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
