"""Unit tests of eventstream.spark_totals: merging micro-batches into cumulative totals."""

from __future__ import annotations

import pytest

from eventstream.spark_totals import NO_BATCH, BatchCounts, Totals
from eventstream.tally import MAX_OTHER_TYPES


def test_apply_adds_tracked_and_new_types_in_order() -> None:
    """A batch adds to tracked types and appends new types in their first-appearance order."""
    totals = Totals({"Viewed": 2, "Refund": 1}, batch_id=0)
    batch = BatchCounts(
        tracked={"Viewed": 3, "Interacted": 1, "Refund": 2}, new=[("Zeta", 1), ("Alpha", 4)]
    )
    result = totals.apply(1, batch)
    assert list(result.counts.items()) == [
        ("Viewed", 5),
        ("Refund", 3),
        ("Interacted", 1),
        ("Zeta", 1),
        ("Alpha", 4),
    ]
    assert result.batch_id == 1


def test_apply_is_idempotent_for_a_replayed_batch() -> None:
    """A batch id already included (foreachBatch re-run after a crash) changes nothing."""
    totals = Totals({"Viewed": 2}, batch_id=4)
    batch = BatchCounts(tracked={"Viewed": 10}, invalid=3)
    assert totals.apply(4, batch) is totals
    assert totals.apply(3, batch) is totals
    assert totals.apply(5, batch).counts == {"Viewed": 12}


def test_apply_sums_types_past_the_cap_into_other() -> None:
    """Once 1,000 types besides the core three are tracked, new types go to `other`."""
    full = Totals({f"T{i}": 1 for i in range(MAX_OTHER_TYPES - 1)} | {"Viewed": 1})
    assert full.room() == 1
    batch = BatchCounts(new=[("First", 2), ("Second", 3)], rest=7, invalid=1)
    result = full.apply(0, batch)
    assert result.counts["First"] == 2
    assert "Second" not in result.counts
    assert result.other == 3 + 7
    assert result.invalid == 1
    assert result.room() == 0


def test_tracked_types_always_start_with_the_core_three() -> None:
    """The types a batch is split against are the core three, then those already seen."""
    assert Totals({"Refund": 1, "Viewed": 1}).tracked_types() == [
        "Viewed",
        "Interacted",
        "Click-Through",
        "Refund",
    ]


def test_json_round_trip_keeps_order_and_values() -> None:
    """Totals survive serialisation with their type order, other, invalid and batch id."""
    totals = Totals({"Viewed": 3, 'Odd "name"': 1, "Aardvark": 2}, other=4, invalid=5, batch_id=7)
    again = Totals.from_json(totals.to_json())
    assert again == totals
    assert list(again.counts) == list(totals.counts)


def test_empty_totals_include_no_batch() -> None:
    """Fresh totals include no batch, so batch 0 is applied."""
    assert Totals().batch_id == NO_BATCH
    assert Totals().apply(0, BatchCounts(tracked={"Viewed": 1})).counts == {"Viewed": 1}


@pytest.mark.parametrize("text", ["", "{", "[]", '{"counts": []}', '{"counts": [[1]], "other": 0}'])
def test_from_json_rejects_malformed_text(text: str) -> None:
    """A damaged totals file is reported as ValueError, never half-loaded."""
    with pytest.raises(ValueError, match="malformed totals"):
        Totals.from_json(text)
