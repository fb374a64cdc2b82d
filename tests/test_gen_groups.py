"""Unit tests of eventgen.groups: the bulk builder of serialised event groups."""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter

import pytest

from eventgen.groups import (
    CHUNK_GROUPS,
    LINE_LENGTHS,
    TIMESTAMP_PLACEHOLDER,
    build_chunk,
    chunk_count,
    chunk_seed,
    chunk_size,
    lines_length,
)

ALLOWED = {("Viewed",), ("Viewed", "Interacted"), ("Viewed", "Click-Through"),
           ("Viewed", "Interacted", "Click-Through")}
CODES = {"Viewed": "V", "Interacted": "I", "Click-Through": "C"}


def _parse(data: bytes) -> list[dict[str, object]]:
    lines = data.split(b"\n")
    assert lines[-1] == b""
    return [json.loads(line) for line in lines[:-1]]


@pytest.mark.parametrize("groups", [1, 2, 3, 17, 1000, CHUNK_GROUPS])
def test_a_chunk_is_valid_json_lines_in_the_contract_format(groups: int) -> None:
    """Every line is exactly the contract's event line (with the timestamp placeholder), the
    codes match the lines, and there is one group per Viewed."""
    chunk = build_chunk(7, 3, groups)
    events = _parse(chunk.data)
    assert len(events) == len(chunk.types)
    placeholder = TIMESTAMP_PLACEHOLDER.decode()
    for event, code, line in zip(events, chunk.types.decode(), chunk.data.split(b"\n"),
                                 strict=False):
        data = event["data"]
        assert isinstance(data, dict)
        expected = (
            f'{{"type": "{event["type"]}", "data": {{"viewId": "{data["viewId"]}", '
            f'"eventDateTime": "{placeholder}"}}}}'
        )
        assert line.decode() == expected
        assert CODES[str(event["type"])] == code
        assert len(line) + 1 == LINE_LENGTHS[code.encode()]
    assert chunk.types.count(b"V") == groups


def test_groups_are_allowed_sequences_with_one_fresh_v4_uuid_each() -> None:
    """Groups are consecutive, Viewed first, one of the four sequences; all events of a group
    share a lowercase 36-character RFC 4122 version-4 uuid, different for every group."""
    events = _parse(build_chunk(1, 0, CHUNK_GROUPS).data)
    groups: list[list[dict[str, object]]] = []
    for event in events:
        if event["type"] == "Viewed":
            groups.append([])
        groups[-1].append(event)
    ids = []
    for group in groups:
        assert tuple(e["type"] for e in group) in ALLOWED
        view_ids = {e["data"]["viewId"] for e in group}  # type: ignore[index]
        assert len(view_ids) == 1
        view_id = view_ids.pop()
        parsed = uuid.UUID(view_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == view_id and len(view_id) == 36
        ids.append(view_id)
    assert len(set(ids)) == len(ids) == CHUNK_GROUPS


def test_the_mix_is_85_5_5_5_within_6_sigma() -> None:
    """Over 25 chunks (204,800 groups) each group kind's share is within 6 sigma."""
    kinds: Counter[bytes] = Counter()
    for index in range(25):
        types = build_chunk(99, index, CHUNK_GROUPS).types
        # Each group is V followed by its other codes: split on V.
        kinds.update(b"V" + rest for rest in types.split(b"V")[1:])
    n = sum(kinds.values())
    for kind, p in ((b"V", 0.85), (b"VI", 0.05), (b"VC", 0.05), (b"VIC", 0.05)):
        assert abs(kinds[kind] - n * p) <= 6 * math.sqrt(n * p * (1 - p)), (kind, kinds)
    assert set(kinds) == {b"V", b"VI", b"VC", b"VIC"}


def test_a_chunk_depends_only_on_seed_index_and_size() -> None:
    """Same (seed, index, size): same bytes; another seed or index: different bytes."""
    assert build_chunk(5, 2, 500) == build_chunk(5, 2, 500)
    assert build_chunk(5, 2, 500).data != build_chunk(6, 2, 500).data
    assert build_chunk(5, 2, 500).data != build_chunk(5, 3, 500).data
    assert chunk_seed(5, 2) != chunk_seed(2, 5)


def test_chunks_split_the_groups_exactly() -> None:
    """chunk_count / chunk_size cover every group once, all chunks full but the last."""
    for groups in (0, 1, CHUNK_GROUPS - 1, CHUNK_GROUPS, CHUNK_GROUPS + 1, 5 * CHUNK_GROUPS + 3):
        sizes = [chunk_size(groups, i) for i in range(chunk_count(groups))]
        assert sum(sizes) == groups
        assert all(s == CHUNK_GROUPS for s in sizes[:-1])
        assert all(s > 0 for s in sizes)


def test_lines_length_is_the_byte_length_of_a_run_of_lines() -> None:
    """lines_length(types, j, k) is the number of bytes of lines j..k, for every j <= k."""
    chunk = build_chunk(3, 0, 40)
    starts = [0]
    for line in chunk.data.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    for j in range(len(starts)):
        for k in range(j, len(starts)):
            assert lines_length(chunk.types, j, k) == starts[k] - starts[j], (j, k)
