"""The Python copy floor for the benchmark: read every file of SRC, write the same bytes to
DST (same file system). What any Python program writing these bytes pays at least:
interpreter start-up plus the I/O.

    python benchmarks/gen_copy_floor.py SRC DST
"""

from __future__ import annotations

import os
import sys


def main(source: str, target: str) -> None:
    """Copy the regular files of `source` into the new directory `target`."""
    os.mkdir(target)
    for name in os.listdir(source):
        with open(os.path.join(source, name), "rb") as src:
            data = src.read()
        with open(os.path.join(target, name), "xb") as dst:
            dst.write(data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
