"""Unit tests of eventgen.config: validation of the settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventgen.config import GeneratorConfig, default_workers
from eventgen.errors import UsageError


def _config(tmp_path: Path, **changes: object) -> GeneratorConfig:
    values: dict[str, object] = {
        "number_of_groups": 10, "batch_size": 5, "interval": 0.5,
        "output_directory": str(tmp_path),
    }
    values.update(changes)
    return GeneratorConfig(**values)  # type: ignore[arg-type]


def test_a_valid_config_is_frozen(tmp_path: Path) -> None:
    """Valid values are accepted and cannot be changed afterwards."""
    config = _config(tmp_path, number_of_groups=0, interval=0.0, seed=0)
    with pytest.raises(AttributeError):
        config.batch_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("number_of_groups", -1, "--number-of-groups"),
        ("batch_size", 0, "--batch-size"),
        ("interval", -0.5, "--interval"),
        ("interval", float("nan"), "--interval"),
        ("interval", float("inf"), "--interval"),
        ("workers", 0, "--workers"),
        ("workers", 65, "--workers"),
        ("seed", -3, "--seed"),
        ("output_directory", "", "--output-directory"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_option(
    tmp_path: Path, field: str, value: object, option: str
) -> None:
    """Each out-of-range value raises UsageError whose one-line message names the option."""
    with pytest.raises(UsageError) as error:
        _config(tmp_path, **{field: value})
    assert str(error.value).startswith(option) and "\n" not in str(error.value)


def test_default_workers_is_the_usable_cpu_count_capped() -> None:
    """One worker per CPU this process may run on, at least one and at most four."""
    assert default_workers() == max(1, min(4, len(os.sched_getaffinity(0))))
