"""Unit tests of eventstream.tally: whole-batch updates and the cap on tracked types."""

from __future__ import annotations

import threading

from eventstream.tally import MAX_OTHER_TYPES, Batch, Tally


def test_batch_applies_in_one_step() -> None:
    """Counts added to a batch are invisible until the batch is applied, then all visible."""
    tally = Tally()
    batch = Batch(tally)
    batch.add({"Viewed": 3, "Odd": 1})
    batch.add({"Viewed": 2})
    assert tally.snapshot() == ({}, 0)
    tally.apply(batch)
    assert tally.snapshot() == ({"Viewed": 5, "Odd": 1}, 0)


def test_types_past_the_cap_are_summed_exactly() -> None:
    """At most 1,000 non-core types are tracked; later new ones go to the other sum, while
    core and already-tracked types keep counting on their own lines."""
    tally = Tally()
    first = Batch(tally)
    first.add({f"t{n}": 1 for n in range(MAX_OTHER_TYPES - 1)})
    tally.apply(first)
    second = Batch(tally)
    second.add({"t5": 2, "new-a": 4, "new-b": 5, "Viewed": 6})
    second.add({"new-a": 1, "new-b": 1})
    tally.apply(second)
    totals, other = tally.snapshot()
    assert (totals["t5"], totals["new-a"], totals["Viewed"], other) == (3, 5, 6, 6)
    assert "new-b" not in totals
    assert tally.other_type_count == MAX_OTHER_TYPES


def test_tally_restores_from_saved_totals() -> None:
    """A tally built from a checkpoint keeps order and the other sum."""
    tally = Tally({"Interacted": 1, "X": 2}, other=7)
    assert tally.snapshot() == ({"Interacted": 1, "X": 2}, 7)
    assert list(tally.snapshot()[0]) == ["Interacted", "X"]


def test_snapshots_never_see_half_a_batch() -> None:
    """A reader thread sees totals that are always whole multiples of a batch."""
    tally = Tally()
    stop = threading.Event()
    torn: list[tuple[int, int]] = []

    def reader() -> None:
        while not stop.is_set():
            totals, _ = tally.snapshot()
            pair = (totals.get("Viewed", 0), totals.get("Interacted", 0))
            if pair[0] != pair[1]:
                torn.append(pair)

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(20_000):
        batch = Batch(tally)
        batch.add({"Viewed": 1, "Interacted": 1})
        tally.apply(batch)
    stop.set()
    thread.join()
    assert torn == []
    assert tally.snapshot()[0] == {"Viewed": 20_000, "Interacted": 20_000}
