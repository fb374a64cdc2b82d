"""End-to-end tests of `python -m eventstream` watching a real directory (real watchdog)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from tests.helpers import STREAM, run, wait_until
from tests.stream_support import Streamer, blocks, counts, event_line, events, publish, totals

# The challenge's own example, copied verbatim (irregular spacing included).
CHALLENGE_EXAMPLE = (
    '{ "type": "Viewed", "data": { "viewId": "aa072e9e-cb04-45c8-9ad6-cfeae76dcbe7", "eventDateTime": "2018-05-14T12:00:00Z" } }\n'  # noqa: E501
    '{ "type": "Interacted", "data": { "viewId": "aa072e9e-cb04-45c8-9ad6-cfeae76dcbe7", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Viewed", "data": { "viewId": "1665f348-086a-4781-9aad-4ede19535376", "eventDateTime": "2018-05-14T12:00:00Z" } }\n'  # noqa: E501
    '{ "type": "Click-Through", "data": {"viewId": "1665f348-086a-4781-9aad-4ede19535376", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Viewed", "data": { "viewId": "e78a2f0c-f0bf-4b6c-947f-5988233f74bd", "eventDateTime": "2018-05-14T12:00:00Z" } }\n'  # noqa: E501
    '{ "type": "Viewed", "data": { "viewId": "da4a7eae-e801-480f-bfc0-03438ec8da6d", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Viewed", "data": { "viewId": "522187cb-439a-4327-9958-9321a7d23b27", "eventDateTime": "2018-05-14T12:00:00Z" } }\n'  # noqa: E501
    '{ "type": "Viewed", "data": {"viewId": "5dd31ff0-18b7-41d2-95b4-c4264d8b15c3", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Viewed", "data": {"viewId": "38391820-dee0-44da-9926-b23cbd9a7fed", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Interacted", "data": { "viewId": "f017a45c-0886-452f-b867-1b4586ae73bf", "eventDateTime": "2018-05-14T12:00:00Z" } }\n'  # noqa: E501
    '{ "type": "Click-Through", "data": {"viewId": "f017a45c-0886-452f-b867-1b4586ae73bf", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Viewed", "data": {"viewId": "6e820e8d-fc55-49dc-a017-818b756e4d31", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
    '{ "type": "Viewed", "data": { "viewId": "3aea6700-ce17-4316-af27-e1fb79bd51af", "eventDateTime": "2018-05-14T12:00:00Z" } }\n'  # noqa: E501
    '{ "type": "Viewed", "data": { "viewId": "f017a45c-0886-452f-b867-1b4586ae73bf", "eventDateTime": "2018-05-14T12:00:00Z"} }\n'  # noqa: E501
)
BLOCK = re.compile(r'"Viewed": \d+\n"Interacted": \d+\n"Click-Through": \d+\n\n')


def test_counts_files_present_at_start_then_each_landing(tmp_path: Path, inbox: Path) -> None:
    """Files already there are counted, then renames, `cp` and hard links as they land."""
    publish(inbox, "events-1.json", events(3, 1))
    publish(inbox, "events-2.json", events(2, 0, 1))
    outside = tmp_path / "outside"
    outside.mkdir()
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1") as streamer:
        streamer.wait_for(counts(5, 1, 1))
        publish(inbox, "events-3.json", events(1))  # atomic rename inside DIR
        streamer.wait_for(counts(6, 1, 1))
        (outside / "copy.json").write_bytes(events(0, 4))
        shutil.copy(outside / "copy.json", inbox / "events-4.json")  # cp: create+write+close
        streamer.wait_for(counts(6, 5, 1))
        (outside / "linked.json").write_bytes(events(0, 0, 7))
        os.link(outside / "linked.json", inbox / "events-5.json")  # a hard link lands whole
        streamer.wait_for(counts(6, 5, 8))
        assert streamer.stop() == 0
    assert totals(streamer.stdout) == counts(6, 5, 8)
    assert streamer.stderr == ""


def test_moved_in_file_is_counted_from_its_create_event(tmp_path: Path, inbox: Path) -> None:
    """A file moved in from another directory is counted at once (`on_created`), long before
    the next rescan: the rescan interval (= report interval) is 60 s, so only the watch
    event can explain the checkpoint showing it within the deadline."""
    checkpoint = tmp_path / "state.json"
    publish(inbox, "events-1.json", events(1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "events-2.json").write_bytes(events(4, 2))
    with Streamer(
        tmp_path,
        f"--input-directory={inbox}",
        "--report-interval=60",
        f"--checkpoint={checkpoint}",
    ) as streamer:
        wait_until(checkpoint.exists, what="the start-up scan's checkpoint")
        os.rename(elsewhere / "events-2.json", inbox / "events-2.json")
        wait_until(
            lambda: "events-2.json" in json.loads(checkpoint.read_bytes())["files"],
            timeout=20,
            what="the moved-in file in the checkpoint",
        )
        assert streamer.stop() == 0
    assert streamer.stdout == '"Viewed": 5\n"Interacted": 2\n"Click-Through": 0\n\n'


def test_partial_last_line_waits_for_its_newline(tmp_path: Path, inbox: Path) -> None:
    """A slow writer's partial last line is not counted until its newline arrives: reports in
    between show only the complete lines."""
    line = event_line("Interacted")
    with Streamer(
        tmp_path, f"--input-directory={inbox}", "--report-interval=0.1", "--settle-time=120"
    ) as streamer, open(inbox / "events-slow.json", "wb", buffering=0) as writer:
        writer.write(events(2) + line[:40])
        streamer.wait_for(counts(2))
        seen = streamer.stdout.count("\n\n")
        wait_until(lambda: streamer.stdout.count("\n\n") >= seen + 10, what="ten more reports")
        assert streamer.totals() == counts(2)
        writer.write(line[40:])
        streamer.wait_for(counts(2, 1))
        writer.write(line[:10])
        writer.close()  # closed after writing: the unterminated last line now counts (invalid)
        wait_until(lambda: "invalid line" in streamer.stderr, what="the invalid-line warning")
        assert streamer.stop() == 0
    assert totals(streamer.stdout) == counts(2, 1)
    assert "events-slow.json: 1 invalid line (first at line 4)" in streamer.stderr


def test_file_grown_later_is_counted_line_by_line(tmp_path: Path, inbox: Path) -> None:
    """A file that grows after it was counted adds only its new lines (offsets per file)."""
    target = inbox / "events-1.json"
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1") as streamer:
        target.write_bytes(events(2))
        streamer.wait_for(counts(2))
        with open(target, "ab") as handle:
            handle.write(events(0, 3))
        streamer.wait_for(counts(2, 3))
        with open(target, "ab") as handle:
            handle.write(events(1))
        streamer.wait_for(counts(3, 3))
        assert streamer.stop() == 0


def test_entries_that_are_not_event_files_are_ignored(tmp_path: Path, inbox: Path) -> None:
    """Hidden, temporary, non-matching, subdirectory and symlink entries are never counted,
    at start or while watching."""
    outside = tmp_path / "outside.json"
    outside.write_bytes(events(100))

    def decoys(tag: str) -> None:
        (inbox / f".events-{tag}.json").write_bytes(events(1))
        (inbox / f"events-{tag}.json.tmp").write_bytes(events(1))
        (inbox / f"other-{tag}.json").write_bytes(events(1))
        (inbox / f"events-{tag}.txt").write_bytes(events(1))
        sub = inbox / f"events-{tag}-dir.json"
        sub.mkdir()
        (sub / f"events-{tag}.json").write_bytes(events(1))
        (inbox / f"events-{tag}-link.json").symlink_to(outside)
        (inbox / f"events-{tag}-inner-link.json").symlink_to(inbox / "events-real-1.json")

    publish(inbox, "events-real-1.json", events(1, 1))
    decoys("a")
    once = run(STREAM, f"--input-directory={inbox}", "--once")
    assert (once.returncode, once.stdout, once.stderr) == (
        0,
        '"Viewed": 1\n"Interacted": 1\n"Click-Through": 0\n\n',
        "",
    )
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1") as streamer:
        streamer.wait_for(counts(1, 1))
        decoys("b")
        publish(inbox, "events-real-2.json", events(0, 0, 1))
        streamer.wait_for(counts(1, 1, 1))
        seen = streamer.stdout.count("\n\n")
        wait_until(lambda: streamer.stdout.count("\n\n") >= seen + 5, what="five more reports")
        assert streamer.stop() == 0
    assert totals(streamer.stdout) == counts(1, 1, 1)
    assert streamer.stderr == ""


def test_report_format_order_blank_lines_and_cadence(tmp_path: Path, inbox: Path) -> None:
    """Reports come every interval in the exact format: three core lines in order, then a
    blank line; the final report ends the output."""
    publish(inbox, "events-1.json", events(0, 0, 2))
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1") as streamer:
        wait_until(lambda: streamer.stdout.count("\n\n") >= 8, what="eight reports")
        assert streamer.stop() == 0
    output = streamer.stdout
    assert re.fullmatch(f"(?:{BLOCK.pattern})+", output)
    assert output.endswith('"Viewed": 0\n"Interacted": 0\n"Click-Through": 2\n\n')
    assert len(BLOCK.findall(output)) >= 9


def test_other_types_follow_the_core_three_in_order_of_first_appearance(
    tmp_path: Path, inbox: Path
) -> None:
    """Types beyond the core three follow them, in order of first appearance, JSON-escaped."""
    publish(inbox, "events-1.json", b'{"type": "Zeta"}\n{"type": "Al\\"pha"}\n')
    publish(inbox, "events-2.json", events(1) + b'{"type": "Zeta"}\n{"type": "Beta"}\n')
    result = run(STREAM, f"--input-directory={inbox}", "--once")
    assert result.stdout == (
        '"Viewed": 1\n"Interacted": 0\n"Click-Through": 0\n'
        '"Zeta": 2\n"Al\\"pha": 1\n"Beta": 1\n\n'
    )


def test_challenge_example_counts_ten_two_two(tmp_path: Path, inbox: Path) -> None:
    """The challenge's own 14-line example, irregular spacing and all, counts 10 / 2 / 2."""
    assert CHALLENGE_EXAMPLE.count("\n") == 14
    (inbox / "events-2017-05-14-18-47-29-879763.json").write_text(CHALLENGE_EXAMPLE)
    result = run(STREAM, f"--input-directory={inbox}", "--once")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == '"Viewed": 10\n"Interacted": 2\n"Click-Through": 2\n\n'


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_prints_final_report_saves_checkpoint_exits_zero(
    tmp_path: Path, inbox: Path, signum: int
) -> None:
    """SIGINT / SIGTERM: final report, checkpoint saved, exit 0; a restart goes on from it."""
    checkpoint = tmp_path / "state.json"
    publish(inbox, "events-1.json", events(2, 1))
    streamer = Streamer(
        tmp_path,
        f"--input-directory={inbox}",
        "--report-interval=0.1",
        f"--checkpoint={checkpoint}",
    )
    with streamer:
        streamer.wait_for(counts(2, 1))
        assert streamer.stop(signum) == 0
    assert streamer.stdout.endswith('"Viewed": 2\n"Interacted": 1\n"Click-Through": 0\n\n')
    saved = json.loads(checkpoint.read_bytes())
    assert saved["totals"] == [["Viewed", 2], ["Interacted", 1]]
    assert list(saved["files"]) == ["events-1.json"]
    publish(inbox, "events-2.json", events(1))
    again = run(STREAM, f"--input-directory={inbox}", "--once", f"--checkpoint={checkpoint}")
    assert again.stdout == '"Viewed": 3\n"Interacted": 1\n"Click-Through": 0\n\n'


def test_restart_without_checkpoint_recounts(tmp_path: Path, inbox: Path) -> None:
    """Without --checkpoint every run counts the directory from scratch."""
    publish(inbox, "events-1.json", events(2))
    for _ in range(2):
        result = run(STREAM, f"--input-directory={inbox}", "--once")
        assert result.stdout == '"Viewed": 2\n"Interacted": 0\n"Click-Through": 0\n\n'


def test_missing_directory_is_a_one_line_usage_error(tmp_path: Path) -> None:
    """A missing DIR: one line on stderr, exit 2, nothing on stdout."""
    result = run(STREAM, f"--input-directory={tmp_path / 'nope'}")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_removed_directory_stops_with_an_error(tmp_path: Path, inbox: Path) -> None:
    """If DIR disappears the watcher dies: the streamer says so and exits non-zero."""
    publish(inbox, "events-1.json", events(1))
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1") as streamer:
        streamer.wait_for(counts(1))
        shutil.rmtree(inbox)
        assert streamer.wait() == 1
    assert "inbox" in streamer.stderr
    assert "Traceback" not in streamer.stderr
    assert streamer.stdout.endswith('"Viewed": 1\n"Interacted": 0\n"Click-Through": 0\n\n')


def test_polling_observer_counts_new_files(tmp_path: Path, inbox: Path) -> None:
    """--polling (for filesystems without inotify) counts files as they land."""
    publish(inbox, "events-1.json", events(1))
    with Streamer(
        tmp_path, f"--input-directory={inbox}", "--report-interval=0.1", "--polling"
    ) as streamer:
        streamer.wait_for(counts(1))
        publish(inbox, "events-2.json", events(0, 2))
        shutil.copy(inbox / "events-2.json", inbox / "events-3.json")
        streamer.wait_for(counts(1, 4))
        assert streamer.stop(signal.SIGTERM) == 0
    assert streamer.stderr == ""


def test_files_deleted_right_after_landing_are_harmless(tmp_path: Path, inbox: Path) -> None:
    """Files removed between their event and the read: no error, the others count exactly."""
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1") as streamer:
        for n in range(200):
            publish(inbox, f"events-gone-{n:03d}.json", b"")  # empty: counts 0 either way
            os.unlink(inbox / f"events-gone-{n:03d}.json")
        publish(inbox, "events-kept.json", events(3))
        streamer.wait_for(counts(3))
        assert streamer.stop() == 0
    assert streamer.stderr == ""


def test_a_report_never_shows_part_of_a_file(tmp_path: Path, inbox: Path) -> None:
    """Each file holds 30,000 Viewed lines then 30,000 Interacted lines (about 7 MB, read in
    several blocks): since a file is applied in one step, every report shows equal totals."""
    payload = events(30_000) + events(0, 30_000)
    with Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.05") as streamer:
        for n in range(8):
            publish(inbox, f"events-{n}.json", payload)
        streamer.wait_for(counts(240_000, 240_000), timeout=60)
        assert streamer.stop() == 0
    seen = blocks(streamer.stdout)
    assert len(seen) >= 3
    assert all(block["Viewed"] == block["Interacted"] for block in seen)
    assert {block["Viewed"] % 30_000 for block in seen} == {0}


def test_rename_is_saved_so_a_restart_counts_nothing_twice(tmp_path: Path, inbox: Path) -> None:
    """A counted file renamed inside DIR: the checkpoint follows the new name at once (and on
    SIGINT), so a restart with the checkpoint does not count the file again."""
    checkpoint = tmp_path / "state.json"
    publish(inbox, "events-a.json", events(3))
    streamer = Streamer(
        tmp_path, f"--input-directory={inbox}", "--report-interval=0.1",
        f"--checkpoint={checkpoint}",
    )  # fmt: skip
    with streamer:
        streamer.wait_for(counts(3))
        os.rename(inbox / "events-a.json", inbox / "events-b.json")
        wait_until(
            lambda: b"events-b.json" in checkpoint.read_bytes(), timeout=10,
            what="the new name in the checkpoint",
        )  # fmt: skip
        assert streamer.stop() == 0
    assert list(json.loads(checkpoint.read_bytes())["files"]) == ["events-b.json"]
    again = run(STREAM, f"--input-directory={inbox}", "--once", f"--checkpoint={checkpoint}")
    assert again.stdout == '"Viewed": 3\n"Interacted": 0\n"Click-Through": 0\n\n'


def test_restarted_streamer_reports_are_read_from_the_new_run_only(
    tmp_path: Path, inbox: Path
) -> None:
    """The test helper's view of a restarted streamer starts empty: a report left by the
    killed run never passes for one of the new run (which might not handle signals yet)."""
    publish(inbox, "events-1.json", events(1))
    streamer = Streamer(tmp_path, f"--input-directory={inbox}", "--report-interval=0.1")
    with streamer:
        streamer.wait_for(counts(1))
        streamer.send(signal.SIGKILL)
        streamer.wait()
        streamer.start()
        assert streamer.totals() == {}
        streamer.wait_for(counts(1))
        assert streamer.stop() == 0
    assert totals(streamer.stdout) == counts(1)
