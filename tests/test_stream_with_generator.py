"""End to end with the real generator: its totals equal the streamer's, byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import GENERATE, STREAM, run, start
from tests.stream_support import Streamer, totals


def test_once_matches_the_generator_byte_for_byte(tmp_path: Path) -> None:
    """`python -m eventgen` stdout equals `python -m eventstream --once` stdout."""
    out = tmp_path / "out"
    generated = run(
        GENERATE, "--number-of-groups=50000", "--batch-size=1000", "--interval=0",
        f"--output-directory={out}", "--quiet", "--seed=3",
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    streamed = run(STREAM, f"--input-directory={out}", "--once")
    assert (streamed.returncode, streamed.stderr) == (0, "")
    assert streamed.stdout == generated.stdout
    assert totals(generated.stdout)["Viewed"] == 50000


def test_streamer_keeps_up_with_a_running_generator(tmp_path: Path) -> None:
    """Watching while the generator publishes: the totals reach the generator's exactly."""
    out = tmp_path / "out"
    out.mkdir()
    with Streamer(tmp_path, f"--input-directory={out}", "--report-interval=0.1") as streamer:
        generator = start(
            GENERATE, "--number-of-groups=20000", "--batch-size=500", "--interval=0.02",
            f"--output-directory={out}", "--quiet",
        )  # fmt: skip
        stdout, stderr = generator.communicate(timeout=120)
        assert generator.returncode == 0, stderr
        streamer.wait_for(totals(stdout))
        assert streamer.stop() == 0
    assert streamer.stdout.endswith(stdout)
    assert streamer.stderr == ""
