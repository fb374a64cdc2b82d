"""Pure event-group generation: (seed, chunk index, n) -> serialised JSON lines as bytes.

The hot loop of the generator. Every step is a bulk C-level operation over the whole chunk
(random bytes, `bytes.translate`, `bytes.replace`, big-integer masks, strided slice
assignment), so there is no Python-level work per event: that is what makes it fast.

A chunk's events depend only on the base seed, the chunk index and the chunk's size; the
number of groups is split into chunks of the constant `CHUNK_GROUPS`, so the event sequence
is the same for any number of workers and any batch size.

Timestamps: every line carries the `stamp` given (the worker passes its current second);
the writer rewrites the stamps that would fall outside the contract's window around the
publish time of the file the line lands in. `TIMESTAMP_PLACEHOLDER` is the default.
"""

from __future__ import annotations

import binascii
import random
from dataclasses import dataclass

CHUNK_GROUPS = 8192
"""Groups per chunk: a constant, never derived from the batch size or the worker count."""

TIMESTAMP_PLACEHOLDER = b"YYYY-MM-DDTHH:MM:SSZ"
"""Same width as a real `eventDateTime` value, so stamping never moves a byte."""

VIEWED = b"Viewed"
INTERACTED = b"Interacted"
CLICK_THROUGH = b"Click-Through"

# One-letter codes of the event types, as in `Chunk.types`.
CODE_V, CODE_I, CODE_C = b"V", b"I", b"C"


def _prefix(name: bytes) -> bytes:
    return b'{"type": "' + name + b'", "data": {"viewId": "'


SUFFIX = b'", "eventDateTime": "' + TIMESTAMP_PLACEHOLDER + b'"}}\n'
LINE_LENGTHS = {code: len(_prefix(name)) + 36 + len(SUFFIX) for code, name in
                ((CODE_V, VIEWED), (CODE_I, INTERACTED), (CODE_C, CLICK_THROUGH))}
MAX_CHUNK_BYTES = CHUNK_GROUPS * sum(LINE_LENGTHS.values())
"""The largest a chunk can be: every group Viewed -> Interacted -> Click-Through."""

# Group kinds are drawn from a random byte: values 0..239 are used (240 = 12 * 20, so each
# kind gets an exact multiple of 1/20), 240..255 are rejected. 204/240 = 0.85, 12/240 = 0.05.
_KIND_TABLE = bytes(
    b"a"[0] if v < 204 else b"b"[0] if v < 216 else b"c"[0] if v < 228 else b"d"[0]
    for v in range(240)
) + bytes(16)  # (rejected values are deleted by translate; their entries are never used)
_KIND_REJECT = bytes(range(240, 256))
# a = Viewed, b = Viewed -> Interacted, c = Viewed -> Click-Through, d = all three.
_KIND_EVENTS = ((b"a", b"V"), (b"b", b"VI"), (b"c", b"VC"), (b"d", b"VIC"))
# Events that take their viewId from the previous line (0xff) or have a fresh one (0x01).
_LATER = bytes.maketrans(b"VIC", b"\x01\xff\xff")

_NAMES = {CODE_V: VIEWED, CODE_I: INTERACTED, CODE_C: CLICK_THROUGH}
# Markers left after each uuid by the bulk layout, one per type of the next line; each
# becomes the end of that line plus the start of the next one.
_MARK_OF_TYPE = bytes.maketrans(CODE_V + CODE_I + CODE_C, b"\x01\x02\x03")
_MARKS = ((b"\x02", INTERACTED), (b"\x03", CLICK_THROUGH), (b"\x01", VIEWED))
_FILLER = b"\x00"
# The variant nibble of an RFC 4122 uuid is 8, 9, a or b: keep the low two random bits.
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of groups, serialised.

    `data` holds the JSON lines, each with `stamp` as its `eventDateTime` (the worker's
    current second, or `TIMESTAMP_PLACEHOLDER`); `types` holds one code byte per line (`V`,
    `I`, `C`), from which line offsets and per-type counts follow cheaply. `data` is a
    memoryview when it lives in the pool's shared memory.
    """

    data: bytes | memoryview
    types: bytes
    stamp: bytes = TIMESTAMP_PLACEHOLDER


def chunk_count(number_of_groups: int) -> int:
    """How many chunks `number_of_groups` groups take."""
    return -(-number_of_groups // CHUNK_GROUPS)


def chunk_size(number_of_groups: int, index: int) -> int:
    """Number of groups in chunk `index` (all full except possibly the last)."""
    return min(CHUNK_GROUPS, number_of_groups - index * CHUNK_GROUPS)


def chunk_seed(seed: int, index: int) -> str:
    """The seed of chunk `index`. `random.Random` turns a str seed into an int through
    SHA-512 (all bits used, the same on every platform), so chunks are independent."""
    return f"eventgen:{seed}:{index}"


def lines_length(types: bytes, start: int, end: int) -> int:
    """Bytes taken by lines `start`..`end` of a chunk whose line codes are `types` (counting
    only those lines: cutting a chunk into many pieces stays linear)."""
    interacted = types.count(CODE_I, start, end)
    clicks = types.count(CODE_C, start, end)
    viewed = end - start - interacted - clicks
    return (viewed * LINE_LENGTHS[CODE_V] + interacted * LINE_LENGTHS[CODE_I]
            + clicks * LINE_LENGTHS[CODE_C])


def build_chunk(seed: int, index: int, groups: int, *,
                stamp: bytes = TIMESTAMP_PLACEHOLDER) -> Chunk:
    """Build chunk `index` of `groups` groups for base seed `seed`, timestamped `stamp`
    (20 bytes, like `2018-05-14T12:00:00Z`)."""
    parts, types = build_parts(seed, index, groups, stamp=stamp)
    return Chunk(data=b"".join(parts), types=types, stamp=stamp)


def build_parts(seed: int, index: int, groups: int, *,
                stamp: bytes = TIMESTAMP_PLACEHOLDER) -> tuple[list[bytes | bytearray], bytes]:
    """Like `build_chunk`, but the data as parts to concatenate (saves a copy of the whole
    chunk when the caller copies them somewhere anyway) and the line codes."""
    if len(stamp) != len(TIMESTAMP_PLACEHOLDER):
        raise ValueError(f"a stamp is {len(TIMESTAMP_PLACEHOLDER)} bytes, got {stamp!r}")
    rng = random.Random(chunk_seed(seed, index))
    types = _draw_kinds(rng, groups)
    for kind, codes in _KIND_EVENTS:
        types = types.replace(kind, codes)
    if not types:
        return [], types
    return _lines(_view_ids(rng, types), types, stamp), types


def _draw_kinds(rng: random.Random, groups: int) -> bytes:
    """One kind letter per group, exactly 85/5/5/5 by rejection sampling of random bytes."""
    kinds = b""
    while len(kinds) < groups:
        want = groups - len(kinds)
        kinds += rng.randbytes(want + want // 8 + 64).translate(_KIND_TABLE, _KIND_REJECT)
    return kinds[:groups]


def _view_ids(rng: random.Random, types: bytes) -> bytes:
    """16 random bytes per event; the later events of a group copy their Viewed's bytes.

    Done on big integers: with little-endian order, event e's bytes shifted left by 128 bits
    land on event e + 1. `later` masks the events that copy their predecessor; two rounds
    reach a Click-Through that follows an Interacted.
    """
    events = len(types)
    later = int.from_bytes(
        types.translate(_LATER).replace(b"\x01", bytes(16)).replace(b"\xff", b"\xff" * 16),
        "little",
    )
    raw = rng.getrandbits(128 * events)  # = from_bytes(randbytes(16 * events), "little")
    ids = raw ^ (raw & later)  # fresh bytes for each Viewed, zeros elsewhere
    for _ in range(2):
        ids |= (ids << 128) & later
    return ids.to_bytes(16 * events, "little")


def _lines(ids: bytes, types: bytes, stamp: bytes) -> list[bytes | bytearray]:
    """Lay out the uuids as text and wrap each one in its JSON line, all in bulk.

    `hexlify(sep, 2)` gives 4-hex-digit groups: `xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-`
    per event (40 bytes, with one dash appended at the very end). Removing the dashes at
    offsets 4, 29 and 34 yields `8-4-4-4-12`; offset 39 carries the marker of the next
    line's type, which `bytes.replace` turns into this line's end and the next one's start.
    """
    events = len(types)
    text = bytearray(binascii.hexlify(ids, b"-", 2))
    text.append(45)  # "-"
    text[15::40] = b"4" * events  # version 4
    text[20::40] = text[20::40].translate(_VARIANT)
    text[4::40] = _FILLER * events
    text[29::40] = _FILLER * events
    text[34::40] = _FILLER * events
    text[39::40] = types[1:].translate(_MARK_OF_TYPE) + _FILLER
    body = text.translate(None, _FILLER)
    suffix = SUFFIX.replace(TIMESTAMP_PLACEHOLDER, stamp)
    for mark, name in _MARKS:  # rarest first: the big one runs once, last
        body = body.replace(mark, suffix + _prefix(name))
    return [_prefix(_NAMES[types[:1]]), body, suffix]
