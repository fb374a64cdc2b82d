"""generate-events: synthetic Viewed / Interacted / Click-Through events as JSON-lines files."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
