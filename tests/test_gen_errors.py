"""Unit tests of eventgen.errors: the exit status belongs to the exception type."""

from __future__ import annotations

from eventgen.errors import GenerationError, PublishError, UsageError


def test_each_error_type_carries_its_exit_status() -> None:
    """Usage errors exit 2, write and worker failures exit 1 (as click does)."""
    assert UsageError("x").exit_code == 2
    assert PublishError("x").exit_code == 1
    assert GenerationError("x").exit_code == 1
