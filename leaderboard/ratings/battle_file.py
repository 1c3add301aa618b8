"""Reading battle files: a JSON list, or JSON lines (one battle object per line), decoded by msgspec."""

from __future__ import annotations

import io
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from itertools import count, islice
from os import PathLike
from pathlib import Path
from typing import BinaryIO, Literal

import msgspec
import numpy as np

from leaderboard.ratings.battle_set import OUTCOME_OF_WINNER, BattleSet, battles_parse, row_parse
from leaderboard.ratings.forked import Forked, cpus_usable

# JSON lines are decoded a chunk of whole lines at a time: the battle objects of one chunk become
# arrays before the next is decoded, so only a chunk's worth of Python objects is ever alive.
_CHUNK_BYTES = 1 << 20
# Below this a second process costs more than it saves.
_SPLIT_BYTES = 16 << 20


class _Battle(msgspec.Struct, gc=False):
    """One row of the common arena format; other fields are skipped (still checked to be JSON)."""

    model_a: str
    model_b: str
    winner: Literal["model_a", "model_b", "tie", "tie (bothbad)"]
    tstamp: float | None = None
    anony: bool = False


_ONE = msgspec.json.Decoder(_Battle)
_LIST = msgspec.json.Decoder(list[_Battle])
_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def battles_read(*, path: str | PathLike[str]) -> BattleSet:
    """Read battles in the common arena format from a JSON list or a JSON-lines file.

    Each battle has `model_a`, `model_b`, `winner` (model_a, model_b, tie, tie (bothbad)) and
    optionally `tstamp` (seconds) and `anony` (bool); other fields are ignored. Bad rows raise a
    ValueError naming the line (JSON lines, 1-based) or the index (JSON list, 0-based).
    """
    with Path(path).open("rb") as handle:
        start = handle.read(65536)
        head = start.lstrip()[:1]
        if head == b"[":
            return _json_list_parse(start + handle.read())
        if head in (b"{", b""):
            return _jsonl_read(start, handle, path=Path(path))
    raise ValueError(f"{path}: expected a JSON list of battles or one JSON object per line")


def battles_from_jsonl(*, data: bytes) -> BattleSet:
    """Parse JSON-lines bytes (see battles_read)."""
    return _battles_build(*_jsonl_parse(b"", io.BytesIO(data)))


def _jsonl_read(start: bytes, handle: BinaryIO, *, path: Path) -> BattleSet:
    """A large file's second half (from a line start) is decoded in a forked process meanwhile."""
    size = os.fstat(handle.fileno()).st_size
    if size < _SPLIT_BYTES or cpus_usable() < 2:
        return _battles_build(*_jsonl_parse(start, handle))
    handle.seek(size // 2)
    handle.readline()
    split = handle.tell()
    handle.seek(len(start))
    second = Forked(lambda: _jsonl_range_parse(path=path, begin=split))
    try:
        parts, table = _jsonl_parse(start, handle, end=split)
    except BaseException:
        second.cancel()
        raise
    columns, names = second.result()
    # The child coded its names in its own order of appearance; give them this table's codes.
    recode = np.array([table[name] for name in names], np.int32)
    parts.append((recode[columns[0]], recode[columns[1]], *columns[2:]))
    return _battles_build(parts, table)


def _jsonl_range_parse(*, path: Path, begin: int) -> tuple[_Columns, list[str]]:
    with path.open("rb") as handle:
        handle.seek(begin)
        try:
            parts, table = _jsonl_parse(b"", handle)
        except ValueError:
            # Bad lines are named by their number in the whole file: count the lines before this
            # half (only now, as a good file never needs it) and read again to name the line.
            handle.seek(0)
            first_line = 1 + _newlines_before(handle, begin)
            handle.seek(begin)
            _jsonl_parse(b"", handle, first_line=first_line)
            raise
    return _columns_join(parts, table), list(table)


def _newlines_before(handle: BinaryIO, end: int) -> int:
    found = 0
    while handle.tell() < end and (block := handle.read(min(_CHUNK_BYTES * 8, end - handle.tell()))):
        found += block.count(b"\n")
    return found


def _json_list_parse(raw: bytes) -> BattleSet:
    try:
        rows = _LIST.decode(raw)
    except msgspec.MsgspecError as error:
        refused = str(error)
    else:
        if _names_ok(rows) and _utf8_ok(raw):
            table: defaultdict[str, int] = defaultdict(count().__next__)
            return _battles_build([_columns(rows, table)], table)
        refused = "a model name is blank, or the file is not UTF-8 text"
    # Refused: json and the row checks say what is wrong, and where, in words.
    try:
        loaded = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})") from None
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    if not isinstance(loaded, list):
        raise ValueError("expected a JSON list of battles")
    battles_parse(rows=loaded)
    raise ValueError(f"not a list of battles ({refused})")  # json took what msgspec refused


def _chunks(start: bytes, handle: BinaryIO, end: int | None = None) -> Iterator[bytes]:
    """Whole lines, about _CHUNK_BYTES at a time, up to byte `end` (a line start) if given; the last
    chunk may lack its final newline."""
    carry = start
    while block := handle.read(_CHUNK_BYTES if end is None else min(_CHUNK_BYTES, end - handle.tell())):
        carry += block
        cut = carry.rfind(b"\n") + 1
        if cut:
            yield carry[:cut]
            carry = carry[cut:]
    if carry:
        yield carry


def _jsonl_parse(
    start: bytes, handle: BinaryIO, *, end: int | None = None, first_line: int = 1
) -> tuple[list[_Columns], defaultdict[str, int]]:
    table: defaultdict[str, int] = defaultdict(count().__next__)
    parts = []
    for chunk in _chunks(start, handle, end):
        buf = np.frombuffer(chunk, np.uint8)
        newlines = np.flatnonzero(buf == ord("\n"))
        try:
            rows = _ONE.decode_lines(chunk)
        except msgspec.MsgspecError:
            rows = []
        if not (_one_battle_a_line(buf, newlines, len(rows)) and _utf8_ok(chunk)):
            rows = _lines_decode(chunk, first_line)
        known = len(table)
        parts.append(_columns(rows, table))
        if any(not name.strip() for name in islice(table, known, None)):
            _lines_decode(chunk, first_line)  # raises, naming the line
        first_line += len(newlines)
    return parts, table


def _one_battle_a_line(buf: np.ndarray, newlines: np.ndarray, values: int) -> bool:
    """Whether the values decode_lines found (it takes any whitespace between them) are the lines.

    True when every line starts with `{` and ends with `}` (a CR aside) and there are as many values
    as lines: inside an object a `}` is never followed by a `{`, so no object spans a line break, and
    then the count leaves one object a line. Anything else (blank lines, indented lines) is False.
    """
    ends_with_newline = bool(buf[-1] == ord("\n"))
    if values != len(newlines) + (not ends_with_newline) or buf[0] != ord("{"):
        return False
    last = newlines - 1
    last -= buf[last] == ord("\r")
    starts = newlines[:-1] + 1 if ends_with_newline else newlines + 1
    return bool(
        (buf[last] == ord("}")).all()
        and (buf[starts] == ord("{")).all()
        and (ends_with_newline or buf[-1] == ord("}"))
    )


def _lines_decode(chunk: bytes, first_line: int) -> list[_Battle]:
    """Line by line: blank lines are skipped, and the first bad line raises with its number."""
    rows = []
    for number, raw in enumerate(chunk.split(b"\n"), start=first_line):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            row = _ONE.decode(raw)
        except msgspec.MsgspecError as error:
            raise _line_error(raw, where, str(error)) from None
        if not (row.model_a.strip() and row.model_b.strip() and _utf8_ok(raw)):
            raise _line_error(raw, where, "a model name is blank")
        rows.append(row)
    return rows


def _line_error(raw: bytes, where: str, refused: str) -> ValueError:
    """What json and the row checks say about a line msgspec refused (they put it in words, with the
    value at fault); msgspec's own reason for the rare line they accept."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ValueError(f"{where}: not UTF-8 text")
    try:
        row_parse(row=json.loads(text), where=where)
    except json.JSONDecodeError as error:
        return ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})")
    except ValueError as error:
        return error
    return ValueError(f"{where}: {refused}")


def _names_ok(rows: Sequence[_Battle]) -> bool:
    names = {row.model_a for row in rows} | {row.model_b for row in rows}
    return all(name.strip() for name in names)


def _utf8_ok(raw: bytes) -> bool:
    """msgspec skips unused fields without decoding their strings; json refuses bytes that are not UTF-8."""
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _columns(rows: Sequence[_Battle], table: defaultdict[str, int]) -> _Columns:
    """Arrays of a run of battles; model names get codes from `table` in order of appearance."""
    outcome = OUTCOME_OF_WINNER
    return (
        np.array([table[row.model_a] for row in rows], np.int32),
        np.array([table[row.model_b] for row in rows], np.int32),
        np.array([outcome[row.winner] for row in rows], np.int8),
        np.array([row.tstamp for row in rows], np.float64),  # None (no timestamp) becomes NaN
        np.array([row.anony for row in rows], np.bool_),
    )


def _columns_join(parts: list[_Columns], table: defaultdict[str, int]) -> _Columns:
    a, b, outcome, tstamp, anony = (
        np.concatenate(column) for column in zip(*(parts or [_columns([], table)]), strict=True)
    )
    return a, b, outcome, tstamp, anony


def _battles_build(parts: list[_Columns], table: defaultdict[str, int]) -> BattleSet:
    """Model indices follow the sorted names (the codes followed first appearance)."""
    names = list(table)
    order = sorted(range(len(names)), key=names.__getitem__)
    recode = np.empty(len(names), np.int32)
    recode[order] = np.arange(len(names), dtype=np.int32)
    model_a, model_b, outcome, tstamp, anony = _columns_join(parts, table)
    return BattleSet(
        models=tuple(names[i] for i in order),
        model_a=recode[model_a],
        model_b=recode[model_b],
        outcome=outcome,
        tstamp=tstamp,
        anony=anony,
    )
