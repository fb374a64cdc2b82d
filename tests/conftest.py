"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An empty directory for event files (the streamer's input, the generator's output)."""
    directory = tmp_path / "inbox"
    directory.mkdir()
    return directory
