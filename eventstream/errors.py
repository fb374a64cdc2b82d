"""Exceptions whose type decides the exit status (as click does): usage 2, failure 1."""

from __future__ import annotations


class UsageError(Exception):
    """A bad option or a missing input: one line on stderr, exit status 2."""

    exit_code = 2


class StreamError(Exception):
    """The job could not go on (a dead watcher, an unusable checkpoint...): exit status 1."""

    exit_code = 1
