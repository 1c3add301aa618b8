"""Vectorised reader for JSON-lines battle files whose lines share one flat layout.

Machine-written battle files repeat the same keys in the same order on every line, so the bytes
between values are identical. We learn that layout (a template) from the first line and check every
line against it with whole-file numpy operations, never building a Python object per line. Lines that
deviate in any way (escapes, control characters, nesting, another key order, odd values) come back
not `ok`; the caller parses those with `json` and applies the same validation, so the battles and the
error messages do not depend on which path a line took. One leniency: a number is read by its digits
and point, so `01` or `.5` are accepted here where `json` would refuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from leaderboard.ratings.array_types import BoolArray, FloatArray, IntArray
from leaderboard.ratings.battle_set import WINNER_LABELS

U8Array = npt.NDArray[np.uint8]
U64Array = npt.NDArray[np.uint64]

# The buffer holds FRONT_PAD zero bytes, the data, then BACK_PAD zero bytes: windows may start a
# little before a line (to align values on 8-byte words) and run past its end.
FRONT_PAD: Final = 8
BACK_PAD: Final = 1024
_LONG_VALUE: Final = 256
_INLINE_SPACE: Final = b" \t\r"
_QUOTE: Final = ord('"')
# Keep-masks for the first n bytes of a little-endian word, n = 0..8.
_BYTE_MASKS: Final = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)
# Sums of at most 15 decimal digits stay below 2**53, so they are exact in float64.
_MAX_DIGITS: Final = 15


@dataclass(frozen=True)
class TemplateSlot:
    key: str
    kind: Literal["string", "scalar"]
    window: int  # bytes searched for the value's end before falling back to a wide search


@dataclass(frozen=True)
class LineTemplate:
    """Literal byte runs around each value: literals[k] precedes slots[k]; the last one ends the line."""

    literals: tuple[bytes, ...]
    slots: tuple[TemplateSlot, ...]


@dataclass(frozen=True, eq=False)
class FastScan:
    """Per-line results; entries are meaningful only where `ok` is true. Model codes index `names`."""

    ok: BoolArray
    model_a: IntArray
    model_b: IntArray
    names: tuple[str, ...]
    outcome: IntArray
    tstamp: FloatArray
    anony: BoolArray


def _is_scalar_byte(byte: int) -> bool:
    char = chr(byte)
    return char.isascii() and (char.isalnum() or char in "+-.")


def _is_plain_string(content: bytes) -> bool:
    return all(byte != ord("\\") and byte != _QUOTE and byte >= 32 for byte in content)


def _window_for(length: int) -> int:
    # Room for values somewhat longer than the first line's; longer ones take the wide search.
    return min(_LONG_VALUE, _round8(2 * length + 8))


def template_learn(*, line: bytes) -> LineTemplate | None:
    """The layout of one flat JSON object line, or None when the line is not of that simple kind."""
    n = len(line)

    def skip_space(i: int) -> int:
        while i < n and line[i] in _INLINE_SPACE:
            i += 1
        return i

    literals: list[bytes] = []
    slots: list[TemplateSlot] = []
    i = skip_space(0)
    if i >= n or line[i] != ord("{"):
        return None
    i = skip_space(i + 1)
    literal_start = 0
    while True:
        if i >= n or line[i] != _QUOTE:
            return None
        close = line.find(b'"', i + 1)
        if close < 0 or not _is_plain_string(line[i + 1 : close]):
            return None
        try:
            key = line[i + 1 : close].decode("utf-8")
        except UnicodeDecodeError:
            return None
        i = skip_space(close + 1)
        if i >= n or line[i] != ord(":"):
            return None
        i = skip_space(i + 1)
        if i < n and line[i] == _QUOTE:
            close = line.find(b'"', i + 1)
            if close < 0 or not _is_plain_string(line[i + 1 : close]):
                return None
            literals.append(line[literal_start : i + 1])
            slots.append(TemplateSlot(key, "string", _window_for(close - i - 1)))
            literal_start, i = close, close + 1
        else:
            end = i
            while end < n and _is_scalar_byte(line[end]):
                end += 1
            if end == i or end - i > _LONG_VALUE // 2:
                return None
            literals.append(line[literal_start:i])
            slots.append(TemplateSlot(key, "scalar", _window_for(end - i)))
            literal_start, i = end, end
        i = skip_space(i)
        if i < n and line[i] == ord(","):
            i = skip_space(i + 1)
            continue
        if i < n and line[i] == ord("}"):
            if skip_space(i + 1) != n:
                return None
            literals.append(line[literal_start:n])
            break
        return None
    keys = [slot.key for slot in slots]
    if len(set(keys)) != len(keys) or max(len(literal) for literal in literals) > BACK_PAD // 4:
        return None
    return LineTemplate(tuple(literals), tuple(slots))


def _round8(width: int) -> int:
    return max(8, -(-width // 8) * 8)


def _rows(buf: U8Array, pos: IntArray, width: int) -> U8Array:
    # Row-gathering a strided view copies `width` contiguous bytes per line: much faster than
    # fancy-indexing pos[:, None] + arange(width), and the copy can be viewed as uint64 words.
    return sliding_window_view(buf, width)[pos]


def _all_columns(mask: BoolArray) -> BoolArray:
    # Column-wise AND: for a handful of columns this beats a reduce along the short axis.
    out = mask[:, 0].copy()
    for column in range(1, mask.shape[1]):
        out &= mask[:, column]
    return out


def _masked_words(words: U64Array, length: IntArray) -> U64Array:
    """Keep only each row's first `length` bytes (zero the rest)."""
    out = np.empty_like(words)
    for column in range(words.shape[1]):
        keep = np.clip(length - 8 * column, 0, 8)
        out[:, column] = words[:, column] & _BYTE_MASKS[keep]
    return out


def _as_words(data: bytes) -> U64Array:
    return np.frombuffer(data.ljust(_round8(len(data)), b"\0"), np.uint64)


@dataclass
class _Segment:
    """One literal followed by one value, scanned for all lines at once."""

    ok: BoolArray
    value_start: IntArray
    length: IntArray
    words: U64Array  # the value's bytes as little-endian words, zeroed past its end


def _segment_scan(
    buf: U8Array, pos: IntArray, literal: bytes, stop: int, window: int, want: bool
) -> _Segment:
    """Match `literal` at pos, then find the value's end: the first `stop` byte after it."""
    # Start the window `shift` bytes early so the value begins on a word boundary.
    shift = -len(literal) % 8
    head = shift + len(literal)
    rows = _rows(buf, pos - shift, head + window)
    words = rows.view(np.uint64)
    expected = _as_words(b"\0" * shift + literal)
    keep = _as_words(b"\0" * shift + b"\xff" * len(literal))
    ok = np.ones(len(pos), np.bool_)
    for column in range(head // 8):
        ok &= ((words[:, column] ^ expected[column]) & keep[column]) == 0
    value_start = pos + len(literal)
    length = (rows[:, head:] == stop).argmax(axis=1)
    at_stop = buf[value_start + length] == stop
    long_rows = np.flatnonzero(~at_stop)
    if len(long_rows):
        # Rare long values: search those lines again with a wide window.
        wide = _rows(buf, value_start[long_rows], _LONG_VALUE) == stop
        length[long_rows] = wide.argmax(axis=1)
        at_stop[long_rows] = buf[value_start[long_rows] + length[long_rows]] == stop
    ok &= at_stop
    value_words = np.zeros((len(pos), 1), np.uint64)
    if want:
        width = _round8(int(length[ok].max(initial=1)))
        if width <= window:
            value_words = words[:, head // 8 : (head + width) // 8]
        else:
            value_words = _rows(buf, value_start, width).view(np.uint64)
        value_words = _masked_words(value_words, np.where(ok, length, 0))
    return _Segment(ok, value_start, length, value_words)


def _scalar_content_ok(buf: U8Array, start: IntArray, length: IntArray) -> BoolArray:
    """Scalars we do not read must still look like JSON scalars (digits, letters, sign, point)."""
    rows = _rows(buf, start, _round8(int(length.max(initial=1))))
    inside = np.arange(rows.shape[1])[None, :] < length[:, None]
    folded = rows | 0x20
    allowed = (
        ((rows >= ord("0")) & (rows <= ord("9")))
        | ((folded >= ord("a")) & (folded <= ord("z")))
        | (rows == ord("+"))
        | (rows == ord("-"))
        | (rows == ord("."))
    )
    return np.logical_and.reduce(allowed | ~inside, axis=1) & (length > 0)


_WANTED: Final = frozenset({"model_a", "model_b", "winner", "tstamp", "anony"})


def lines_scan(*, buf: U8Array, starts: IntArray, ends: IntArray, template: LineTemplate) -> FastScan | None:
    """Check every line against `template` and decode the battle fields of the lines that match.

    `buf` holds FRONT_PAD zero bytes, the file, then BACK_PAD zero bytes; `starts`/`ends` are buffer
    positions. Lines holding a backslash or a control character must be excluded by the caller.
    Returns None when the template cannot carry a battle (a required field missing or mistyped).
    """
    kinds = {slot.key: slot.kind for slot in template.slots}
    if any(kinds.get(key) != "string" for key in ("model_a", "model_b", "winner")):
        return None
    if kinds.get("tstamp", "scalar") != "scalar" or kinds.get("anony", "scalar") != "scalar":
        return None
    data_end = len(buf) - BACK_PAD
    ok = np.ones(len(starts), np.bool_)
    pos = starts.astype(np.int64)
    found: dict[str, _Segment] = {}
    for k, slot in enumerate(template.slots):
        following = template.literals[k + 1]
        # A scalar ends where the next literal begins; that byte cannot occur inside a scalar.
        stop = _QUOTE if slot.kind == "string" else following[0]
        segment = _segment_scan(buf, pos, template.literals[k], stop, slot.window, slot.key in _WANTED)
        ok &= segment.ok
        if slot.kind == "scalar" and slot.key not in _WANTED:
            ok &= _scalar_content_ok(buf, segment.value_start, np.where(ok, segment.length, 0))
        found[slot.key] = segment
        pos = np.minimum(segment.value_start + segment.length, data_end)
    tail = template.literals[-1]
    tail_rows = _rows(buf, pos, len(tail)) if tail else np.zeros((len(pos), 0), np.uint8)
    if tail:
        ok &= _all_columns(tail_rows == np.frombuffer(tail, np.uint8))
    ok &= pos + len(tail) == ends

    model_a, model_b, names, names_ok = _model_codes(found["model_a"], found["model_b"], ok)
    ok &= names_ok
    outcome = _outcome_codes(found["winner"])
    ok &= outcome >= 0
    tstamp = np.full(len(ok), np.nan)
    if "tstamp" in found:
        stamp = found["tstamp"]
        tstamp, stamp_ok = decimals_parse(values=stamp.words.view(np.uint8), length=stamp.length)
        # null (no timestamp), exponents, NaN...: left to the careful path.
        ok &= stamp_ok
    anony = np.zeros(len(ok), np.bool_)
    if "anony" in found:
        anony, anony_ok = _anony_values(found["anony"])
        ok &= anony_ok
    return FastScan(ok, model_a, model_b, names, outcome, tstamp, anony)


def _digest(words: U64Array, length: IntArray) -> U64Array:
    digest = length.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for column in range(words.shape[1]):
        digest = (digest ^ words[:, column]) * np.uint64(0xBF58476D1CE4E5B9)
    return digest ^ (digest >> np.uint64(29))


def string_codes(*, words: U64Array, length: IntArray) -> tuple[IntArray, list[bytes]]:
    """Equal strings get equal codes: hash each row, then verify no two strings shared a hash."""
    if len(words) == 0:
        return np.zeros(0, np.int64), []
    digest = _digest(words, length)
    # Names repeat heavily: collect the distinct ones from a sample and look rows up in a small
    # direct-address table; rows the sample missed fall back to sorting.
    table = np.unique(digest[:: max(1, len(digest) // 20000)])
    bits = max(8, len(table).bit_length() + 8)
    bucket_of = (table >> np.uint64(64 - bits)).astype(np.int64)
    if len(np.unique(bucket_of)) == len(table):
        lookup = np.zeros(1 << bits, np.int64)
        lookup[bucket_of] = np.arange(len(table))
        code = lookup[(digest >> np.uint64(64 - bits)).astype(np.int64)]
        missing = table[code] != digest
    else:
        code = np.zeros(len(digest), np.int64)
        missing = np.ones(len(digest), np.bool_)
    if missing.any():
        table = np.unique(np.concatenate([table, digest[missing]]))
        code = np.searchsorted(table, digest).astype(np.int64)
    representative = np.zeros(len(table), np.int64)
    representative[code] = np.arange(len(digest))
    same = _all_columns(words == words[representative][code]) & (length == length[representative][code])
    if not same.all():
        fixed = np.ascontiguousarray(words).view(f"S{8 * words.shape[1]}").ravel()
        _, representative, code = np.unique(fixed, return_index=True, return_inverse=True)
        code = code.astype(np.int64).ravel()
    as_bytes = words.view(np.uint8)
    uniques = [as_bytes[i, : length[i]].tobytes() for i in representative.tolist()]
    return code, uniques


def _model_codes(
    side_a: _Segment, side_b: _Segment, ok: BoolArray
) -> tuple[IntArray, IntArray, tuple[str, ...], BoolArray]:
    every = bool(ok.all())
    rows = np.flatnonzero(ok)
    width = max(side_a.words.shape[1], side_b.words.shape[1])

    def chosen(words: U64Array) -> U64Array:
        # Usually every line matched and both sides share a width: no copies needed then.
        picked = words if every else words[rows]
        return picked if words.shape[1] == width else np.pad(picked, ((0, 0), (0, width - words.shape[1])))

    def lengths(segment: _Segment) -> IntArray:
        return segment.length if every else segment.length[rows]

    codes, uniques = string_codes(
        words=np.concatenate([chosen(side_a.words), chosen(side_b.words)]),
        length=np.concatenate([lengths(side_a), lengths(side_b)]),
    )
    names: list[str] = []
    bad = np.zeros(len(uniques) + 1, np.bool_)
    for code, raw in enumerate(uniques):
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = ""
        bad[code] = not name.strip()
        names.append(name)
    model_a = np.zeros(len(ok), np.int64)
    model_b = np.zeros(len(ok), np.int64)
    model_a[rows] = codes[: len(rows)]
    model_b[rows] = codes[len(rows) :]
    return model_a, model_b, tuple(names), ~(bad[model_a] | bad[model_b])


def _outcome_codes(winner: _Segment) -> IntArray:
    outcome = np.full(len(winner.length), -1, np.int64)
    for code, label in enumerate(WINNER_LABELS):
        expected = _as_words(label.encode())
        if len(expected) > winner.words.shape[1]:
            continue
        match = winner.length == len(label)
        for column, word in enumerate(expected):
            match &= winner.words[:, column] == word
        outcome[match] = code
    return outcome


def decimals_parse(*, values: U8Array, length: IntArray) -> tuple[FloatArray, BoolArray]:
    """Read plain decimals (`-`? digits, `.`? digits; at most 15 digits) from zero-padded byte rows.

    Rows sharing a shape (length, point position, sign) have their digits in the same columns, so
    the digits become one matrix product with powers of ten, exact below 2**53; dividing by the
    power of ten for the fraction is then correctly rounded, as float() would be. Rows of any other
    form come back not ok.
    """
    rows_count, width = values.shape
    result = np.full(rows_count, np.nan)
    ok = np.zeros(rows_count, np.bool_)
    point = (values == ord(".")).argmax(axis=1)
    has_point = values[np.arange(rows_count), point] == ord(".")
    # Rows whose length exceeds the padded width were not read whole; they stay not ok.
    fits = length <= width
    size_of = np.where(fits, length, 0)
    point = np.where(has_point & fits, point, size_of)
    negative = values[:, 0] == ord("-")
    shape_key = (size_of * (width + 1) + point) * 2 + negative
    for key in np.flatnonzero(np.bincount(shape_key[fits])).tolist():
        size, where_point, sign = key // 2 // (width + 1), key // 2 % (width + 1), key % 2
        columns = [c for c in range(sign, size) if c != where_point]
        if not columns or len(columns) > _MAX_DIGITS:
            continue
        members = np.flatnonzero((shape_key == key) & fits)
        digits = values[members][:, columns] - np.uint8(ord("0"))
        # uint8 wraps bytes below "0" to large values, so one comparison checks the digit range.
        all_digits = _all_columns(digits <= 9)
        weights = 10.0 ** np.arange(len(columns) - 1, -1, -1, dtype=np.float64)
        scale = 10.0 ** max(0, size - where_point - 1)
        number = (digits.astype(np.float64) @ weights) / scale
        result[members] = -number if sign else number
        ok[members] = all_digits
    return result, ok


def _anony_values(flag: _Segment) -> tuple[BoolArray, BoolArray]:
    word = flag.words[:, 0]
    is_true = (word == _as_words(b"true")[0]) & (flag.length == 4)
    is_false = (word == _as_words(b"false")[0]) & (flag.length == 5)
    return is_true, is_true | is_false
