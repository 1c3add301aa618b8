"""Vectorised reader for JSON-lines battle files whose lines share one flat layout.

Machine-written battle files repeat the same keys in the same order on every line, so the bytes
between values are identical. We learn that layout (a template) from one line and check every line
against it with numpy operations over a chunk of lines at a time (a few MB, so that the arrays stay
in cache), never building a Python object per line. Each (literal, value) step of the layout costs
one gather per line (a one-byte-strided view with a void dtype, fancy-indexed by the lines'
positions), from which everything is done on 64-bit words (SWAR): the literal is compared word by
word, the value's end is the first stop byte (found with zero-byte bit tricks), and the value's
bytes are the following words. Winner and anony values are matched whole against their few
possible spellings; timestamps shaped like the first line's are read with constant masks.

Lines that deviate in any way (escapes, control characters, nesting, another key order, odd values)
come back not `ok`; the caller parses those with `json` and applies the same validation, so the
battles and the error messages do not depend on which path a line took. Values are checked as
strictly as `json` does: numbers must follow the JSON grammar (exponents and numbers of more than
15 digits are left to `json`), other scalars must be exactly `true`, `false` or `null`, and string
values must not hold a backslash (escapes go to `json`). Control characters and UTF-8 validity are
checked per distinct model name here; for string fields the battle does not use, the caller checks
them (see `LineTemplate.has_ignored_strings`).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from leaderboard.ratings.array_types import BoolArray, FloatArray, IntArray
from leaderboard.ratings.battle_set import WINNER_LABELS

U8Array = npt.NDArray[np.uint8]
U64Array = npt.NDArray[np.uint64]

# A buffer handed to lines_scan holds at least FRONT_PAD bytes before its first line and BACK_PAD
# bytes after its last one (zeros, or further lines): windows start a little before a literal (to
# align the value on an 8-byte word) and run past a line's end.
FRONT_PAD: Final = 8
BACK_PAD: Final = 1024
_LONG_VALUE: Final = 256
_INLINE_SPACE: Final = b" \t\r"
_QUOTE: Final = ord('"')
_WANTED: Final = frozenset({"model_a", "model_b", "winner", "tstamp", "anony"})

# Keep-masks for the first n bytes of a little-endian word, n = 0..8.
_BYTE_MASKS: Final = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)
_ALL: Final = 0xFFFF_FFFF_FFFF_FFFF
_HIGH: Final = np.uint64(0x8080_8080_8080_8080)
_LOW7: Final = np.uint64(0x7F7F_7F7F_7F7F_7F7F)
_ONES: Final = np.uint64(0x0101_0101_0101_0101)
_ZEROS: Final = np.uint64(0x3030_3030_3030_3030)
_DOTS: Final = np.uint64(0x2E2E_2E2E_2E2E_2E2E)
_DIGIT_TEST: Final = np.uint64(0x7676_7676_7676_7676)
# Decimals of at most 15 digits are integers below 2**53, so exact in float64.
_MAX_DIGITS: Final = 15
_POW10_INT: Final = np.array([10**k for k in range(17)], np.uint64)
_POW10_FLOAT: Final = np.array([10.0**k for k in range(17)], np.float64)


@dataclass(frozen=True)
class TemplateSlot:
    key: str
    kind: Literal["string", "scalar"]


@dataclass(frozen=True)
class LineTemplate:
    """Literal byte runs around each value: literals[k] precedes slots[k]; the last one ends the line."""

    literals: tuple[bytes, ...]
    slots: tuple[TemplateSlot, ...]

    @property
    def has_ignored_strings(self) -> bool:
        """Whether some string value is not read: its bytes then need the caller's checks
        (control characters, UTF-8) since the scan does not look inside it."""
        return any(slot.kind == "string" and slot.key not in _WANTED for slot in self.slots)


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


def _round8(width: int) -> int:
    return max(8, -(-width // 8) * 8)


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
            slots.append(TemplateSlot(key, "string"))
            literal_start, i = close, close + 1
        else:
            end = i
            while end < n and _is_scalar_byte(line[end]):
                end += 1
            if end == i or end - i > _LONG_VALUE // 2:
                return None
            literals.append(line[literal_start:i])
            slots.append(TemplateSlot(key, "scalar"))
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


_StepKind = Literal["name", "choice", "number", "string", "scalar"]


@dataclass(frozen=True)
class _Step:
    """One literal and the value after it, read with one gather a line: `width` bytes from `shift`
    bytes before the literal, so that the value starts on the word boundary `head`.

    Kinds: "name" (model_a, model_b: the end is searched, the bytes kept), "choice" (winner,
    anony: the value and the byte after it must be one of `choices`), "number" (tstamp),
    "string" and "scalar" (fields not read: the end is searched, a scalar is validated).
    """

    key: str
    kind: _StepKind
    literal: bytes
    stop: int  # the byte that ends the value: a quote, or the next literal's first byte
    shift: int
    head: int
    width: int
    checks: tuple[tuple[int, int, int], ...]  # (word column, expected word, keep mask)
    choices: tuple[tuple[int, bytes], ...] = ()  # (code, value bytes and the stop byte)


# The number window holds a value of up to 16 bytes and the byte after it.
_NUMBER_WORDS: Final = 3
# Bytes in which the end of a name (or of a field not read) is looked for: one flag bit a byte fills
# one word. Longer values are searched again, in _LONG_VALUE bytes.
_SEARCH_WINDOW: Final = 64
# Row n: the 8 word masks keeping the first n bytes of a 64-byte window (as one 64-byte item).
_WINDOW_MASKS: Final = (
    np.array(
        [[(1 << (8 * min(max(n - 8 * c, 0), 8))) - 1 for c in range(8)] for n in range(_SEARCH_WINDOW + 1)],
        np.uint64,
    )
    .view(f"V{_SEARCH_WINDOW}")
    .ravel()
)


@dataclass(frozen=True)
class _Plan:
    steps: tuple[_Step, ...]
    tail: bytes


def _words_of(data: bytes) -> list[int]:
    padded = data.ljust(_round8(len(data)), b"\0")
    return [int.from_bytes(padded[i : i + 8], "little") for i in range(0, len(padded), 8)]


def _literal_checks(literal: bytes, shift: int) -> tuple[tuple[int, int, int], ...]:
    expected = _words_of(b"\0" * shift + literal)
    keep = _words_of(b"\0" * shift + b"\xff" * len(literal))
    return tuple((c, e, m) for c, (e, m) in enumerate(zip(expected, keep, strict=True)) if m)


@functools.lru_cache(maxsize=16)
def _plan(template: LineTemplate) -> _Plan | None:
    kinds = {slot.key: slot.kind for slot in template.slots}
    if any(kinds.get(key) != "string" for key in ("model_a", "model_b", "winner")):
        return None
    if kinds.get("tstamp", "scalar") != "scalar" or kinds.get("anony", "scalar") != "scalar":
        return None
    steps = []
    for k, slot in enumerate(template.slots):
        literal = template.literals[k]
        stop = _QUOTE if slot.kind == "string" else template.literals[k + 1][0]
        kind: _StepKind = "string" if slot.kind == "string" else "scalar"
        choices: tuple[tuple[int, bytes], ...] = ()
        words = _SEARCH_WINDOW // 8
        if slot.key in ("model_a", "model_b"):
            kind = "name"
        elif slot.key == "winner":
            kind = "choice"
            choices = tuple((code, label.encode() + b'"') for code, label in enumerate(WINNER_LABELS))
        elif slot.key == "anony":
            kind, choices = "choice", ((1, b"true" + bytes([stop])), (0, b"false" + bytes([stop])))
        elif slot.key == "tstamp":
            kind, words = "number", _NUMBER_WORDS
        if choices:
            words = -(-max(len(choice) for _, choice in choices) // 8)
        shift = -len(literal) % 8
        head = shift + len(literal)
        steps.append(
            _Step(
                key=slot.key,
                kind=kind,
                literal=literal,
                stop=stop,
                shift=shift,
                head=head,
                width=head + 8 * words,
                checks=_literal_checks(literal, shift),
                choices=choices,
            )
        )
    return _Plan(tuple(steps), template.literals[-1])


def _gather(buf: U8Array, pos: IntArray, width: int) -> U64Array:
    """The `width` bytes (a multiple of 8) at each position, as rows of little-endian words.

    Fancy-indexing a one-dimensional view with a `width`-byte void dtype and a one-byte stride
    copies each line's bytes in one go: several times faster than a 2-D sliding-window gather.
    """
    view = np.ndarray(shape=(len(buf) - width + 1,), dtype=f"V{width}", buffer=buf, strides=(1,))
    rows: U64Array = view[pos].view(np.uint64).reshape(len(pos), width // 8)
    return rows


def _ctz(x: U64Array) -> IntArray:
    """Trailing zero bits (64 for 0)."""
    return np.bitwise_count((x & (~x + np.uint64(1))) - np.uint64(1)).astype(np.int64)


def _byte_flags(x: U64Array) -> U64Array:
    """0x80 in every byte of x that is zero (exact: no carries between bytes)."""
    return ~(((x & _LOW7) + _LOW7) | x) & _HIGH


def _first_zero_flags(x: U64Array) -> U64Array:
    """Nonzero iff x has a zero byte, and then its lowest flag (0x80) marks the first one. Cheaper
    than _byte_flags: a borrow can only flag bytes above a zero byte, never a word without one."""
    return (x - _ONES) & ~x & _HIGH


@dataclass
class _Value:
    columns: list[U64Array]  # the value's bytes as little-endian words (at least two), zeroed past its end
    length: IntArray


def _mask_past_end(columns: list[U64Array], length: IntArray, ok: BoolArray) -> list[U64Array]:
    """The columns with the bytes past each value's end zeroed, at least two of them."""
    longest = int(length.max(where=ok, initial=0))
    shortest = int(length.min(where=ok, initial=_LONG_VALUE))
    count = max(2, -(-longest // 8))
    out = []
    for index in range(count):
        column = columns[index] if index < len(columns) else np.zeros(len(length), np.uint64)
        if 8 * index + 8 > shortest:
            column = column & _BYTE_MASKS[np.clip(length - 8 * index, 0, 8)]
        out.append(column)
    return out


def _value_read(
    buf: U8Array, rows: U64Array, start: IntArray, step: _Step, ok: BoolArray
) -> tuple[IntArray, list[U64Array]]:
    """Each value's length (up to the first stop byte; _LONG_VALUE where none within that many
    bytes) and its bytes as word columns, zeroed past the end.

    The words gathered with the literal are searched first (a compare of the window's bytes packed
    into one word of flag bits a line); lines whose value goes on are read again, _LONG_VALUE
    bytes from the value's start."""
    first = step.head // 8
    columns = [rows[:, column] for column in range(first, rows.shape[1])]
    if rows.shape[1] - first == 8:
        window = rows.view(np.uint8)[:, step.head :]
        length = _ctz(np.packbits(window == step.stop, bitorder="little").view(np.uint64))
        length[length == _SEARCH_WINDOW] = _LONG_VALUE
    else:
        length = _stop_search(columns, step.stop)
    longer = np.flatnonzero((length == _LONG_VALUE) & ok)
    if len(longer):
        limit = len(buf) - BACK_PAD
        more = _gather(buf, np.minimum(start[longer], limit), _LONG_VALUE)
        more_columns = [more[:, column] for column in range(_LONG_VALUE // 8)]
        more_length = _stop_search(more_columns, step.stop)
        length[longer] = more_length
        found = np.flatnonzero(more_length < _LONG_VALUE)
        if len(found):
            count = -(-int(more_length[found].max()) // 8)
            columns = [column.copy() for column in columns]
            columns.extend(np.zeros(len(start), np.uint64) for _ in range(len(columns), count))
            for index in range(count):
                columns[index][longer[found]] = more_columns[index][found]
            return length, _mask_past_end(columns, length, ok & (length < _LONG_VALUE))
    valid = ok & (length < _LONG_VALUE)
    longest = int(length.max(where=valid, initial=0))
    shortest = int(length.min(where=valid, initial=_LONG_VALUE))
    if rows.shape[1] - first == 8 and -(-longest // 8) - shortest // 8 >= 3:
        # Several words to cut per line (names of many lengths): one gathered row of masks a line
        # (indexed by the length) and one AND beat masking word by word.
        masks = _WINDOW_MASKS[np.minimum(length, _SEARCH_WINDOW)].view(np.uint64).reshape(len(length), 8)
        kept = rows[:, first:] & masks
        return length, [kept[:, column] for column in range(max(2, -(-longest // 8)))]
    return length, _mask_past_end(columns, length, valid)


# Multiplying the 0x01 bits of a word's bytes by this gathers them into its top byte.
_GATHER_BITS: Final = np.uint64(0x0102_0408_1020_4080)


def _stop_search(columns: list[U64Array], stop: int) -> IntArray:
    """The index of the first `stop` byte in each row of words; _LONG_VALUE where there is none."""
    stop_word = np.uint64(int.from_bytes(bytes([stop]) * 8, "little"))
    length = np.full(len(columns[0]), _LONG_VALUE, np.int64)
    for group in reversed(range(0, len(columns), 8)):
        # One bit a byte for up to 8 words (64 bytes), then the lowest set bit.
        mask = np.zeros(len(columns[0]), np.uint64)
        for index, column in enumerate(columns[group : group + 8]):
            flags = _first_zero_flags(column ^ stop_word)
            mask |= ((flags >> np.uint64(7)) * _GATHER_BITS >> np.uint64(56)) << np.uint64(8 * index)
        length = np.where(mask != 0, 8 * group + _ctz(mask), length)
    return length


def _choice_codes(rows: U64Array, step: _Step) -> tuple[IntArray, IntArray]:
    """The code and value length of the choice each line's value (with the byte after it) is; -1
    and 0 for none."""
    first = step.head // 8
    code = np.zeros(len(rows), np.int8)
    lengths = np.zeros(len(step.choices) + 1, np.int64)
    for index, (_, choice) in enumerate(step.choices):
        keeps = _words_of(b"\xff" * len(choice))
        match = None
        for column, (expected, keep) in enumerate(zip(_words_of(choice), keeps, strict=True)):
            word = rows[:, first + column]
            same = (word if keep == _ALL else word & np.uint64(keep)) == np.uint64(expected)
            match = same if match is None else match & same
        assert match is not None
        # The choices are distinct strings, each with the stop byte after it: at most one matches.
        code += match.view(np.int8) * np.int8(index + 1)
        lengths[index + 1] = len(choice) - 1
    values = np.array([-1] + [value for value, _ in step.choices], np.int64)
    return values[code], lengths[code]


def _number_values(
    buf: U8Array, rows: U64Array, start: IntArray, step: _Step, ok: BoolArray
) -> tuple[FloatArray, IntArray, BoolArray]:
    """The numbers (NaN for null), their lengths, and which lines hold one we read.

    Lines laid out like the first good line (same length, sign and point, then the stop byte)
    are read with constant masks and no search for the end; the others one by one."""
    n = len(start)
    first = step.head // 8
    values = np.full(n, np.nan)
    length = np.zeros(n, np.int64)
    good = np.zeros(n, np.bool_)
    sample = np.flatnonzero(ok)[:1].tolist()
    if sample:
        window = rows[sample[0], first:].tobytes()
        size = window.find(bytes([step.stop]))
        if 1 <= size <= 16:
            columns = [np.ascontiguousarray(rows[:, first + index]) for index in range(max(2, size // 8 + 1))]
            shaped = _decimals_shaped(columns, window[:size], step.stop)
            if shaped is not None:
                values, good = shaped
                length[good] = size
    rest = np.flatnonzero(~good & ok)
    if len(rest):
        rest_length, rest_words = _value_read(
            buf, rows[rest], start[rest], step, np.ones(len(rest), np.bool_)
        )
        rest_values, rest_good = _decimals_general(rest_words[0], rest_words[1], rest_length)
        is_null = (rest_words[0] == np.uint64(_words_of(b"null")[0])) & (rest_length == 4)
        values[rest] = np.where(is_null, np.nan, rest_values)
        good[rest] = (rest_good | is_null) & (rest_length <= 16)
        length[rest] = rest_length
    return values, length, good


def lines_scan(*, buf: U8Array, starts: IntArray, ends: IntArray, template: LineTemplate) -> FastScan | None:
    """Check every line against `template` and decode the battle fields of the lines that match.

    `buf` holds the lines with at least FRONT_PAD bytes before the first and BACK_PAD bytes after
    the last; `starts`/`ends` are buffer positions (`ends` exclusive, line terminator excluded).
    Lines are best a few tens of thousands at a time, so that the arrays stay in cache. Control
    characters, backslashes and UTF-8 are checked for model names only (see
    LineTemplate.has_ignored_strings).
    Returns None when the template cannot carry a battle (a required field missing or mistyped).
    """
    plan = _plan(template)
    if plan is None or sys.byteorder != "little":  # the word arithmetic reads bytes little-endian
        return None
    limit = len(buf) - BACK_PAD
    n = len(starts)
    ok = np.ones(n, np.bool_)
    pos = starts.astype(np.int64)
    names: dict[str, _Value] = {}
    outcome = np.zeros(n, np.int64)
    tstamp = np.full(n, np.nan)
    anony = np.zeros(n, np.bool_)
    for step in plan.steps:
        rows = _gather(buf, pos - step.shift, step.width)
        for column, expected, keep in step.checks:
            if keep == _ALL:
                ok &= rows[:, column] == np.uint64(expected)
            else:
                ok &= (rows[:, column] ^ np.uint64(expected)) & np.uint64(keep) == 0
        start = pos + len(step.literal)
        if step.kind == "choice":
            code, length = _choice_codes(rows, step)
            ok &= code >= 0
            if step.key == "winner":
                outcome = code
            else:
                anony = code == 1
        elif step.kind == "number":
            tstamp, length, good = _number_values(buf, rows, start, step, ok)
            ok &= good
        else:
            length, columns = _value_read(buf, rows, start, step, ok)
            ok &= length < _LONG_VALUE
            if step.kind == "name":
                names[step.key] = _Value(columns, length)
            elif step.kind == "scalar":
                ok &= _scalar_ok(_Value(columns, length))
        pos = np.minimum(start + length, limit)
    tail = plan.tail
    if len(tail) > 1:
        # tail[0] is the last value's stop byte, checked above; compare the rest.
        tail_rows = _gather(buf, pos, _round8(len(tail)))
        for column, expected, keep in _literal_checks(tail, 0):
            ok &= (tail_rows[:, column] ^ np.uint64(expected)) & np.uint64(keep) == 0
    ok &= pos + len(tail) == ends
    model_a, model_b, codes_names, names_ok = _model_codes(names["model_a"], names["model_b"], ok)
    ok &= names_ok
    return FastScan(ok, model_a, model_b, codes_names, outcome, tstamp, anony)


def _is_word(value: _Value, text: bytes) -> BoolArray:
    """Whether the value is exactly `text` (at most 8 bytes)."""
    matches: BoolArray = (value.columns[0] == np.uint64(_words_of(text)[0])) & (value.length == len(text))
    return matches


def _scalar_ok(value: _Value) -> BoolArray:
    """A scalar nobody reads must still be valid JSON: a number, true, false or null."""
    _, number = decimals_parse(words=value.columns, length=value.length)
    return number | _is_word(value, b"true") | _is_word(value, b"false") | _is_word(value, b"null")


def _digest(columns: list[U64Array], length: IntArray) -> U64Array:
    # Any mix will do: codes are verified against the strings' bytes (string_codes).
    digest = length.astype(np.uint64)
    for index, column in enumerate(columns):
        digest = digest ^ (column * np.uint64(_MIX[index % len(_MIX)]))
    # Fold the high half down before the last multiplication: the table uses the top bits.
    return (digest ^ (digest >> np.uint64(32))) * np.uint64(0x9E37_79B9_7F4A_7C15)


_MIX: Final = (0xBF58_476D_1CE4_E5B9, 0x94D0_49BB_1331_11EB, 0xD6E8_FEB8_6659_FD93, 0xFF51_AFD7_ED55_8CCD)


def string_codes(*, columns: list[U64Array], length: IntArray) -> tuple[IntArray, list[bytes]]:
    """Equal strings get equal codes: hash each row, then verify no two strings shared a hash.

    Row i's string is the first length[i] bytes of its words (little-endian, zero past the end),
    column c holding bytes 8c..8c+7.
    """
    if len(length) == 0:
        return np.zeros(0, np.int64), []
    digest = _digest(columns, length)
    # Names repeat heavily: collect the distinct ones from a sample and look rows up in a small
    # direct-address table (on the digest's top bits); rows the sample missed fall back to sorting.
    step = max(1, len(digest) // 2048)
    table, sampled = np.unique(digest[::step], return_index=True)
    representative = sampled * step
    bits = max(8, len(table).bit_length() + 8)
    bucket_of = (table >> np.uint64(64 - bits)).astype(np.int64)
    missing = np.ones(1, np.bool_)
    if len(np.unique(bucket_of)) == len(table):
        lookup = np.zeros(1 << bits, np.int64)
        lookup[bucket_of] = np.arange(len(table))
        code = lookup[(digest >> np.uint64(64 - bits)).astype(np.int64)]
        missing = table[code] != digest
    if missing.any():
        table = np.unique(np.concatenate([table, digest[missing] if len(missing) > 1 else digest]))
        code = np.searchsorted(table, digest).astype(np.int64)
        representative = np.zeros(len(table), np.int64)
        representative[code] = np.arange(len(digest))
    same = length == length[representative][code]
    for column in columns:
        same &= column == column[representative][code]
    if not same.all():
        # Two strings shared a hash: sort the strings themselves.
        fixed = np.ascontiguousarray(np.stack(columns, axis=1)).view(f"S{8 * len(columns)}").ravel()
        _, representative, code = np.unique(fixed, return_index=True, return_inverse=True)
        code = code.astype(np.int64).ravel()
    table_bytes = np.stack([column[representative] for column in columns], axis=1).tobytes()
    row_bytes = 8 * len(columns)
    uniques = [
        table_bytes[row * row_bytes : row * row_bytes + size]
        for row, size in enumerate(length[representative].tolist())
    ]
    return code, uniques


def _model_codes(
    side_a: _Value, side_b: _Value, ok: BoolArray
) -> tuple[IntArray, IntArray, tuple[str, ...], BoolArray]:
    every = bool(ok.all())
    rows = np.flatnonzero(ok)
    zeros = np.zeros(len(ok), np.uint64)

    def chosen(values: _Value, column: int) -> U64Array:
        # Usually every line matched: no selection needed then.
        words = values.columns[column] if column < len(values.columns) else zeros
        return words if every else words[rows]

    count = max(len(side_a.columns), len(side_b.columns))
    codes, uniques = string_codes(
        columns=[np.concatenate([chosen(side_a, c), chosen(side_b, c)]) for c in range(count)],
        length=np.concatenate(
            [side_a.length, side_b.length] if every else [side_a.length[rows], side_b.length[rows]]
        ),
    )
    names = [_name_of(raw) for raw in uniques]
    bad = np.array([name is None for name in names] + [False], np.bool_)
    if every:
        model_a, model_b = codes[: len(rows)], codes[len(rows) :]
    else:
        model_a = np.zeros(len(ok), np.int64)
        model_b = np.zeros(len(ok), np.int64)
        model_a[rows] = codes[: len(rows)]
        model_b[rows] = codes[len(rows) :]
    return model_a, model_b, tuple(name or "" for name in names), ~(bad[model_a] | bad[model_b])


@functools.lru_cache(maxsize=4096)
def _name_of(raw: bytes) -> str | None:
    """A model name's bytes as text; None when the line must go to json: an escape, a raw control
    character (json refuses those), bytes that are not UTF-8, or a blank name (refused)."""
    if b"\\" in raw or (raw and min(raw) < 32):
        return None
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return name if name.strip() else None


def _parse8(x: U64Array) -> U64Array:
    """Eight decimal digit values (one per byte, the first byte most significant) as one number."""
    x = (x * np.uint64(10) + (x >> np.uint64(8))) & np.uint64(0x00FF_00FF_00FF_00FF)
    x = (x * np.uint64(100) + (x >> np.uint64(16))) & np.uint64(0x0000_FFFF_0000_FFFF)
    return (x * np.uint64(10000) + (x >> np.uint64(32))) & np.uint64(0xFFFF_FFFF)


def _bytes_word(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 8].ljust(8, b"\0"), "little")


def _shift_left_bytes(low: U64Array, high: U64Array, count: int) -> tuple[U64Array, U64Array]:
    """(low, high) as one 16-byte little-endian number, moved `count` bytes up."""
    if count == 0:
        return low, high
    if count >= 8:
        return np.zeros_like(low), low << np.uint64(8 * (count - 8))
    bits = np.uint64(8 * count)
    return low << bits, (high << bits) | (low >> np.uint64(64 - 8 * count))


def _decimals_shaped(columns: list[U64Array], shape: bytes, stop: int) -> tuple[FloatArray, BoolArray] | None:
    """decimals_parse for the lines laid out like `shape` (same length, sign and point) and then the
    `stop` byte: every mask and shift is then a constant, and the end needs no search. `columns`
    hold the value's first 24 bytes. None when `shape` is not a number we read."""
    size = len(shape)
    sign = shape[:1] == b"-"
    point = shape.find(b".")
    digits = size - sign - (point >= 0)
    int_digits = (point if point >= 0 else size) - sign
    if size > 16 or int_digits < 1 or digits > _MAX_DIGITS or (point >= 0 and point == size - 1):
        return None
    # Per byte: 0xff on digits, the byte itself on the sign, the point and the stop byte after.
    layout = bytearray(24)
    for i in range(size):
        layout[i] = shape[i] if (i == 0 and sign) or i == point else 0xFF
    layout[size] = stop
    digit_mask = bytes(0xFF if byte == 0xFF else 0 for byte in layout)
    fixed_mask = bytes(0xFF if byte not in (0, 0xFF) else 0 for byte in layout)
    ok = np.ones(len(columns[0]), np.bool_)
    digit_words = []
    for index, word in enumerate(columns):
        offset = 8 * index
        keep = np.uint64(_bytes_word(digit_mask, offset))
        digit = (word ^ _ZEROS) & keep
        # Digits became 0..9; adding 0x76 to anything larger sets the byte's top bit.
        ok &= ((digit + (_DIGIT_TEST & keep)) | digit) & _HIGH == 0
        fixed = _bytes_word(fixed_mask, offset)
        if fixed:
            ok &= word & np.uint64(fixed) == np.uint64(_bytes_word(bytes(layout), offset) & fixed)
        digit_words.append(digit)
    if int_digits > 1:
        ok &= (columns[0] >> np.uint64(8 * sign)) & np.uint64(0xFF) != np.uint64(ord("0"))
    # Right-align the digits at byte 15, squeezing out the sign and the point.
    low, high = digit_words[0], digit_words[1]
    if point >= 0:
        int_mask = bytes(0xFF if i < point else 0 for i in range(16))
        keep_low, keep_high = np.uint64(_bytes_word(int_mask, 0)), np.uint64(_bytes_word(int_mask, 8))
        int_low, int_high = _shift_left_bytes(low & keep_low, high & keep_high, 17 - size)
        frac_low, frac_high = _shift_left_bytes(low & ~keep_low, high & ~keep_high, 16 - size)
        low, high = int_low | frac_low, int_high | frac_high
    else:
        low, high = _shift_left_bytes(low, high, 16 - size)
    number = (_parse8(low) * np.uint64(10**8) + _parse8(high)).astype(np.float64)
    if point < 0:
        # An integer: json gives a Python int, so -0 reads as 0.0 (and -0.0 as -0.0).
        return (0.0 - number if sign else number), ok
    number /= 10.0 ** (size - 1 - point)
    return (-number if sign else number), ok


def decimals_parse(*, words: list[U64Array], length: IntArray) -> tuple[FloatArray, BoolArray]:
    """Read JSON numbers without exponent (`-`? int (`.` digits)?, at most 15 digits, 16 bytes)
    from the first two little-endian word columns of each row (bytes past `length` zero).

    Works on whole words (SWAR): digit and point tests per byte, the point squeezed out, then the
    digits combined pairwise by multiplications. The digits form an integer below 2**53, exact in
    float64; dividing it by the power of ten of the fraction is then correctly rounded, as float()
    is. Rows of any other form (exponent, leading zero, `.5`, `5.`, too many digits) come back not
    ok.
    """
    return _decimals_general(words[0], words[1], length)


def _decimals_general(w0: U64Array, w1: U64Array, length: IntArray) -> tuple[FloatArray, BoolArray]:
    """decimals_parse with masks and shifts computed per row."""
    keep0 = _BYTE_MASKS[np.clip(length, 0, 8)]
    keep1 = _BYTE_MASKS[np.clip(length - 8, 0, 8)]
    t0, t1 = w0 ^ _ZEROS, w1 ^ _ZEROS
    # 0x80 on every byte that is not a digit: digits became 0..9; adding 0x76 to anything larger
    # sets the top bit (a carry out of a byte only happens above 0x89, itself flagged).
    other0 = ((t0 + _DIGIT_TEST) | t0) & _HIGH & keep0
    other1 = ((t1 + _DIGIT_TEST) | t1) & _HIGH & keep1
    dot0, dot1 = _byte_flags(w0 ^ _DOTS) & keep0, _byte_flags(w1 ^ _DOTS) & keep1
    negative = (w0 & np.uint64(0xFF)) == np.uint64(ord("-"))
    sign = negative.astype(np.uint64) << np.uint64(7)
    ok = (other0 == (dot0 | sign)) & (other1 == dot1) & (length >= 1) & (length <= 16)
    ok &= np.bitwise_count(dot0) + np.bitwise_count(dot1) <= 1
    has_dot = (dot0 | dot1) != 0
    # A one-hot flag at bit 8p + 7 has 8p + 7 ones below it.
    point = np.where(
        dot0 != 0,
        np.bitwise_count(dot0 - np.uint64(1)) >> 3,
        np.where(dot1 != 0, 8 + (np.bitwise_count(dot1 - np.uint64(1)) >> 3), length),
    ).astype(np.int64)
    start = negative.astype(np.int64)
    int_digits = point - start
    frac_digits = np.where(has_dot, length - 1 - point, 0)
    ok &= (int_digits >= 1) & (~has_dot | (frac_digits >= 1)) & (int_digits + frac_digits <= _MAX_DIGITS)
    leading = (w0 >> (start.astype(np.uint64) << np.uint64(3))) & np.uint64(0xFF)
    ok &= (int_digits == 1) | (leading != np.uint64(ord("0")))
    # Digit values with the sign and point bytes zeroed; then the integer part moves up one byte,
    # over the point, so that the digits are contiguous, ending at byte `end`.
    digit0 = t0 & keep0 & ~((other0 >> np.uint64(7)) * np.uint64(0xFF))
    digit1 = t1 & keep1 & ~((other1 >> np.uint64(7)) * np.uint64(0xFF))
    int0 = digit0 & _BYTE_MASKS[np.clip(point, 0, 8)]
    int1 = digit1 & _BYTE_MASKS[np.clip(point - 8, 0, 8)]
    joined0 = (int0 << np.uint64(8)) | (digit0 ^ int0)
    joined1 = (int1 << np.uint64(8)) | (int0 >> np.uint64(56)) | (digit1 ^ int1)
    end = np.where(has_dot, length, length + 1)
    ok &= end <= 16
    scaled = _parse8(joined0) * np.uint64(10**8) + _parse8(joined1)
    number = scaled // _POW10_INT[np.clip(16 - end, 0, 16)]
    result = number.astype(np.float64) / _POW10_FLOAT[np.clip(frac_digits, 0, 16)]
    # An integer is a Python int to json, so -0 reads as 0.0 (but -0.0 as -0.0).
    return np.where(negative, np.where(has_dot, -result, 0.0 - result), result), ok
