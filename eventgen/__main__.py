"""`python -m eventgen`: the same as the console script."""

from __future__ import annotations

import sys

from eventgen.cli import main

if __name__ == "__main__":
    sys.exit(main())
