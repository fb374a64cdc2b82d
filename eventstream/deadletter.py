"""The dead-letter file: one JSON line per invalid input line, appended."""

from __future__ import annotations

import json
from typing import BinaryIO

from eventstream.errors import StreamError


class DeadLetter:
    """Appends `{"file", "line", "reason", "text"}` lines; text is the line's first KiB."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._handle: BinaryIO = open(path, "ab")  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise StreamError(f"cannot open dead-letter file {path}: {error.strerror}") from None

    def write(self, file: str, line: int, reason: str, text: bytes) -> None:
        """Record one invalid line (`text` already cut to 1 KiB; bad UTF-8 is replaced)."""
        record = {
            "file": file,
            "line": line,
            "reason": reason,
            "text": text.decode("utf-8", errors="replace"),
        }
        try:
            self._handle.write(json.dumps(record).encode("ascii") + b"\n")
        except OSError as error:
            raise StreamError(f"cannot write dead-letter file {self.path}: {error}") from None

    def flush(self) -> None:
        """Push buffered lines to the file (done before each checkpoint save)."""
        try:
            self._handle.flush()
        except OSError as error:
            raise StreamError(f"cannot write dead-letter file {self.path}: {error}") from None

    def close(self) -> None:
        """Flush and close."""
        try:
            self.flush()
        finally:
            self._handle.close()
