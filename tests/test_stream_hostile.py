"""Hostile input through the real `python -m eventstream --once`: exact counts, no crash,
one warning per file, and the dead-letter file's exact contents."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.helpers import STREAM, run
from tests.stream_support import event_line, events

Record = dict[str, Any]


def stream_once(directory: Path, tmp_path: Path) -> tuple[str, str, list[Record]]:
    """Run --once with a dead-letter file; return stdout, stderr and the dead letters."""
    dead = tmp_path / "dead.jsonl"
    result = run(STREAM, f"--input-directory={directory}", "--once", f"--dead-letter={dead}")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    letters = [json.loads(line) for line in dead.read_text().splitlines()] if dead.exists() else []
    return result.stdout, result.stderr, letters


def report(viewed: int, interacted: int, click: int, *extra: str) -> str:
    """The expected report text."""
    lines = [f'"Viewed": {viewed}', f'"Interacted": {interacted}', f'"Click-Through": {click}']
    return "\n".join([*lines, *extra]) + "\n\n"


def letter(path: Path, line: int, reason: str, text: str) -> Record:
    """One expected dead-letter record."""
    return {"file": str(path), "line": line, "reason": reason, "text": text}


def test_invalid_json_lines_are_skipped_and_dead_lettered(tmp_path: Path, inbox: Path) -> None:
    """Bad JSON lines are not counted; one warning names the count and the first line."""
    target = inbox / "events-1.json"
    target.write_bytes(
        event_line("Viewed") + b'{"type": "Viewed"\n' + b"\n  \n" + b"not json\n"
        + event_line("Interacted") + b'{"type": "Viewed"} trailing\n'
    )  # fmt: skip
    stdout, stderr, letters = stream_once(inbox, tmp_path)
    assert stdout == report(1, 1, 0)
    assert stderr == f"stream-events: WARNING: {target}: 3 invalid lines (first at line 2)\n"
    assert letters == [
        letter(target, 2, "invalid JSON", '{"type": "Viewed"'),
        letter(target, 5, "invalid JSON", "not json"),
        letter(target, 7, "invalid JSON", '{"type": "Viewed"} trailing'),
    ]


def test_invalid_utf8_is_an_invalid_line(tmp_path: Path, inbox: Path) -> None:
    """Invalid UTF-8 anywhere in a line makes it invalid; valid non-ASCII types count."""
    target = inbox / "events-1.json"
    target.write_bytes(
        b'{"type": "Vi\xffewed"}\n\xff\xfe\n' + '{"type": "Vüewed"}\n'.encode() + events(1)
        + b'{"type": "Viewed", "x": "\xed\xa0\x80"}\n'
    )  # fmt: skip
    stdout, _, letters = stream_once(inbox, tmp_path)
    assert stdout == report(1, 0, 0, '"V\\u00fcewed": 1')
    assert letters == [
        letter(target, 1, "invalid UTF-8", '{"type": "Vi\ufffdewed"}'),
        letter(target, 2, "invalid UTF-8", "\ufffd\ufffd"),
        letter(target, 5, "invalid UTF-8", '{"type": "Viewed", "x": "\ufffd\ufffd\ufffd"}'),
    ]


def test_nul_bytes(tmp_path: Path, inbox: Path) -> None:
    """Raw NUL bytes make a line invalid; an escaped NUL inside a type is just a type."""
    target = inbox / "events-1.json"
    target.write_bytes(
        b"\x00\x00\n" + b'{"type": "Viewed"}\x00\n' + b'{"type": "a\\u0000b"}\n' + events(2)
    )
    stdout, _, letters = stream_once(inbox, tmp_path)
    assert stdout == report(2, 0, 0, '"a\\u0000b": 1')
    assert letters == [
        letter(target, 1, "invalid JSON", "\x00\x00"),
        letter(target, 2, "invalid JSON", '{"type": "Viewed"}\x00'),
    ]


def test_line_over_one_mebibyte_is_invalid(tmp_path: Path, inbox: Path) -> None:
    """A 2 MiB line is one invalid line (text cut to 1 KiB); the lines around it count."""
    target = inbox / "events-1.json"
    huge = b'{"type": "Viewed", "pad": "' + b"x" * (2 << 20) + b'"}'
    target.write_bytes(events(1) + huge + b"\n" + events(0, 1) + huge)
    stdout, stderr, letters = stream_once(inbox, tmp_path)
    assert stdout == report(1, 1, 0)
    head = huge[:1024].decode()
    assert letters == [
        letter(target, 2, "line over 1 MiB", head),
        letter(target, 4, "line over 1 MiB", head),
    ]
    assert "2 invalid lines (first at line 2)" in stderr


def test_deep_nesting_is_caught(tmp_path: Path, inbox: Path) -> None:
    """200,000 nested brackets: the parser refuses them as one invalid line, no crash."""
    target = inbox / "events-1.json"
    target.write_bytes(b"[" * 200_000 + b"\n" + b'{"a": ' * 100_000 + b"\n" + events(0, 0, 1))
    stdout, _, letters = stream_once(inbox, tmp_path)
    assert stdout == report(0, 0, 1)
    assert letters == [
        letter(target, 1, "invalid JSON", "[" * 1024),
        letter(target, 2, "invalid JSON", ('{"a": ' * 200)[:1024]),
    ]


def test_arrays_and_scalars_are_not_events(tmp_path: Path, inbox: Path) -> None:
    """Valid JSON that is not an object is an invalid line."""
    target = inbox / "events-1.json"
    target.write_bytes(b'[{"type": "Viewed"}]\n"Viewed"\n42\nnull\ntrue\n' + events(1))
    stdout, _, letters = stream_once(inbox, tmp_path)
    assert stdout == report(1, 0, 0)
    texts = ['[{"type": "Viewed"}]', '"Viewed"', "42", "null", "true"]
    assert letters == [
        letter(target, n, "not a JSON object", text) for n, text in enumerate(texts, start=1)
    ]


def test_missing_null_or_non_string_type(tmp_path: Path, inbox: Path) -> None:
    """An object without a string `type` is an invalid line."""
    target = inbox / "events-1.json"
    texts = ['{"data": {}}', '{"type": null}', '{"type": 5}', '{"type": ["Viewed"]}', "{}"]
    target.write_bytes("\n".join(texts).encode() + b"\n" + events(0, 2))
    stdout, _, letters = stream_once(inbox, tmp_path)
    assert stdout == report(0, 2, 0)
    assert letters == [
        letter(target, n, "no string type", text) for n, text in enumerate(texts, start=1)
    ]


def test_other_types_are_counted_after_the_core_three(tmp_path: Path, inbox: Path) -> None:
    """Any string type counts, on its own line after the core three, escaped as JSON."""
    (inbox / "events-1.json").write_bytes(
        b'{"type": "Purchased"}\n{"type": "line\\nbreak"}\n{"type": ""}\n{"type": "Purchased"}\n'
    )
    stdout, stderr, letters = stream_once(inbox, tmp_path)
    assert stdout == report(0, 0, 0, '"Purchased": 2', '"line\\nbreak": 1', '"": 1')
    assert (stderr, letters) == ("", [])


def test_distinct_types_are_capped_at_one_thousand(tmp_path: Path, inbox: Path) -> None:
    """300,000 distinct types: the first 1,000 get lines, the rest are summed in one line;
    a tracked type seen again later still counts on its own line."""
    lines = b"".join(b'{"type": "t%06d"}\n' % n for n in range(300_000))
    (inbox / "events-1.json").write_bytes(events(1) + lines)
    (inbox / "events-2.json").write_bytes(b'{"type": "t000999"}\n{"type": "t001000"}\n')
    stdout, _, _ = stream_once(inbox, tmp_path)
    tracked = [f'"t{n:06d}": {2 if n == 999 else 1}' for n in range(1000)]
    assert stdout == report(1, 0, 0, *tracked, '"(other types)": 299001')


def test_symlink_to_a_file_outside_is_never_read(tmp_path: Path, inbox: Path) -> None:
    """A symlink named like an event file, pointing outside DIR, is not followed."""
    outside = tmp_path / "secret.json"
    outside.write_bytes(events(50))
    (inbox / "events-1.json").symlink_to(outside)
    (inbox / "events-2.json").write_bytes(events(1))
    stdout, stderr, letters = stream_once(inbox, tmp_path)
    assert (stdout, stderr, letters) == (report(1, 0, 0), "", [])


def test_empty_file_and_empty_directory(tmp_path: Path, inbox: Path) -> None:
    """An empty file counts nothing and warns nothing; the core three still print as 0."""
    (inbox / "events-1.json").write_bytes(b"")
    stdout, stderr, letters = stream_once(inbox, tmp_path)
    assert (stdout, stderr, letters) == (report(0, 0, 0), "", [])


def test_unterminated_last_line_counts_with_once(tmp_path: Path, inbox: Path) -> None:
    """With --once nobody writes any more, so an unterminated last line counts; CRLF and
    surrounding whitespace are fine."""
    (inbox / "events-1.json").write_bytes(
        b'  {"type": "Viewed"}\r\n' + event_line("Interacted").rstrip(b"\n")
    )
    stdout, stderr, _ = stream_once(inbox, tmp_path)
    assert (stdout, stderr) == (report(1, 1, 0), "")


def test_special_files_are_skipped(tmp_path: Path, inbox: Path) -> None:
    """A FIFO named like an event file neither blocks nor breaks the streamer."""
    os.mkfifo(inbox / "events-0.json")
    (inbox / "events-1.json").write_bytes(events(1))
    stdout, stderr, _ = stream_once(inbox, tmp_path)
    assert (stdout, stderr) == (report(1, 0, 0), "")
