"""stream-events: exact running totals of line-delimited JSON events landing in a directory."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
