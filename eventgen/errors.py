"""Exceptions whose type decides the exit status (as click does)."""

from __future__ import annotations


class UsageError(Exception):
    """A bad option or an unusable output directory: one line on stderr, exit status 2."""

    exit_code = 2


class PublishError(Exception):
    """A file could not be written or published (disk full, I/O error): exit status 1."""

    exit_code = 1


class GenerationError(Exception):
    """A worker process died or failed: exit status 1."""

    exit_code = 1
