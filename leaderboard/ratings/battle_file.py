"""Reading battle files: a JSON list, or JSON lines (one battle object per line)."""

from __future__ import annotations

import io
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path

import numpy as np

from leaderboard.ratings.array_types import BoolArray, IntArray
from leaderboard.ratings.battle_set import (
    BattleSet,
    ParsedRow,
    battles_from_parsed,
    battles_parse,
    row_parse,
)
from leaderboard.ratings.jsonl_fast_scan import (
    BACK_PAD,
    FRONT_PAD,
    FastScan,
    LineTemplate,
    U8Array,
    lines_scan,
    template_learn,
)

# JSON lines are read and scanned a chunk at a time: a few MB stay in cache between the read and
# the scan, and chunks are scanned in parallel threads (numpy releases the GIL in its loops), one
# per CPU the process may use.
_CHUNK_BYTES = 4 << 20
_MAX_WORKERS = 4
# Lines the first layout did not fit are scanned again with a layout learned from one of them
# when there are at least this many (json.loads costs a few microseconds a line).
_RELEARN_LINES = 1000
_RELEARN_ROUNDS = 3

ReadInto = Callable[[memoryview], int]


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
            return _jsonl_parse(lambda free: _chunks(start, handle.readinto, free))
    raise ValueError(f"{path}: expected a JSON list of battles or one JSON object per line")


def battles_from_jsonl(*, data: bytes) -> BattleSet:
    """Parse JSON-lines bytes (see battles_read)."""
    return _jsonl_parse(lambda free: _chunks(b"", io.BytesIO(data).readinto, free))


def _json_list_parse(raw: bytes) -> BattleSet:
    try:
        rows = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})") from None
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    if not isinstance(rows, list):
        raise ValueError("expected a JSON list of battles")
    return battles_parse(rows=rows)


@dataclass(frozen=True, eq=False)
class _Chunk:
    """Whole lines: store[FRONT_PAD : FRONT_PAD + size] (bytes), zeros or more bytes after them."""

    store: bytearray
    size: int

    @property
    def buf(self) -> U8Array:
        return np.frombuffer(self.store, np.uint8)


def _chunks(
    start: bytes, read_into: ReadInto, free: list[bytearray] | None = None, chunk_bytes: int = _CHUNK_BYTES
) -> Iterator[_Chunk]:
    """Cut the stream (`start`, then what read_into gives) into chunks of whole lines; the last one
    may end without a newline. Buffers put back on `free` are reused."""
    carry = start
    done = False
    while not done:
        need = FRONT_PAD + len(carry) + chunk_bytes + BACK_PAD
        store = free.pop() if free else bytearray(0)
        if len(store) < need:
            store = bytearray(need)
        store[FRONT_PAD : FRONT_PAD + len(carry)] = carry
        size = len(carry)
        view = memoryview(store)
        while size < len(carry) + chunk_bytes:
            got = read_into(view[FRONT_PAD + size : FRONT_PAD + len(carry) + chunk_bytes])
            if not got:
                done = True
                break
            size += got
        view.release()
        cut = size if done else store.rfind(b"\n", FRONT_PAD, FRONT_PAD + size) + 1 - FRONT_PAD
        if cut <= 0 and not done:
            # No line ends in this chunk: carry it all into a larger one.
            carry = bytes(store[FRONT_PAD : FRONT_PAD + size])
            continue
        carry = bytes(store[FRONT_PAD + cut : FRONT_PAD + size])
        store[FRONT_PAD + cut : FRONT_PAD + cut + BACK_PAD] = bytes(BACK_PAD)
        if cut:
            yield _Chunk(store, cut)


@dataclass(frozen=True, eq=False)
class _Lines:
    starts: IntArray  # buffer positions
    ends: IntArray  # exclusive, newline and a CR before it excluded
    careful: BoolArray  # needs json whatever the layout (backslash, or a raw control character)


_thread_state = threading.local()


def _scratch(size: int) -> BoolArray:
    """A per-thread reusable bool buffer (a fresh chunk-sized one costs page faults every time)."""
    buffer: BoolArray | None = getattr(_thread_state, "scratch", None)
    if buffer is None or len(buffer) < size:
        buffer = np.empty(max(size, FRONT_PAD + _CHUNK_BYTES + BACK_PAD), np.bool_)
        _thread_state.scratch = buffer
    return buffer[:size]


def _newlines_find(data: U8Array) -> IntArray:
    """Positions of the newline bytes. Packing the comparison into bits first makes the search
    for nonzero entries 8 times shorter (it is what costs here: one line is ~100 bytes)."""
    is_newline = np.equal(data, ord("\n"), out=_scratch(len(data)))
    packed = np.packbits(is_newline, bitorder="little")
    groups = np.flatnonzero(packed != 0)
    bits = packed[groups]
    if (np.bitwise_count(bits) > 1).any():
        # Two newlines within 8 bytes (blank or tiny lines): search byte by byte.
        return np.flatnonzero(is_newline)
    lowest = (bits & (~bits + np.uint8(1))) - np.uint8(1)
    return groups * 8 + np.bitwise_count(lowest).astype(np.int64)


def _lines_find(chunk: _Chunk, check_strings: bool) -> _Lines:
    """Line positions of a chunk, and which lines must go to json whatever their layout.

    With `check_strings` (a layout with string fields the scan does not look into) that is every
    line holding a backslash (an escape), a raw control character or bytes that are not UTF-8;
    otherwise lines_scan finds those itself (model names are checked one by one).
    """
    store, size = chunk.store, chunk.size
    data = chunk.buf[FRONT_PAD : FRONT_PAD + size]
    newlines = _newlines_find(data)
    starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.concatenate([newlines, [size]]).astype(np.int64)
    if starts[-1] == size:
        starts, ends = starts[:-1], ends[:-1]
    # A CR before the newline ends the line too.
    ends -= (ends > starts) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
    careful = np.zeros(len(starts), np.bool_)
    if check_strings:
        suspects = []
        if store.find(b"\\", FRONT_PAD, FRONT_PAD + size) >= 0:
            suspects.append(np.flatnonzero(data == ord("\\")))
        control = np.flatnonzero(data < 32)
        following = data[np.minimum(control + 1, max(size - 1, 0))]
        ending = (data[control] == ord("\n")) | ((data[control] == ord("\r")) & (following == ord("\n")))
        suspects.append(control[~ending])
        if int(data.max(initial=0)) >= 0x80:
            suspects.append(_utf8_errors(data, starts, ends))
        for positions in suspects:
            careful[np.searchsorted(starts, positions, side="right") - 1] = True
    return _Lines(starts + FRONT_PAD, ends + FRONT_PAD, careful)


def _utf8_errors(data: U8Array, starts: IntArray, ends: IntArray) -> IntArray:
    """The starts of the lines that are not valid UTF-8."""
    try:
        data.tobytes().decode("utf-8")
        return np.zeros(0, np.int64)
    except UnicodeDecodeError:
        pass
    high = np.flatnonzero(data >= 0x80)
    lines = np.unique(np.searchsorted(starts, high, side="right") - 1)
    bad = []
    for line in lines.tolist():
        try:
            data[starts[line] : ends[line]].tobytes().decode("utf-8")
        except UnicodeDecodeError:
            bad.append(starts[line])
    return np.array(bad, np.int64)


def _template_find(chunk: _Chunk, lines: _Lines) -> LineTemplate | None:
    """The layout of the first of the chunk's first lines that has one we can scan."""
    tried = 0
    for line in np.flatnonzero(lines.ends > lines.starts).tolist():
        text = bytes(chunk.store[lines.starts[line] : lines.ends[line]])
        if not text.strip():
            continue
        template = template_learn(line=text)
        if template is not None:
            return template
        tried += 1
        if tried == 100:
            break
    return None


@dataclass(frozen=True, eq=False)
class _Part:
    """Scan results for a run of lines, and the lines it left to json.

    `lines` holds the lines' global 0-based numbers, or (an int) the first of consecutive ones.
    """

    lines: IntArray | int
    scan: FastScan | None  # its `ok` marks the lines read here
    count: int
    leftover: list[tuple[int, bytes, bool]]  # (index in the part, text, careful)

    def numbers(self, local: IntArray) -> IntArray:
        if isinstance(self.lines, int):
            return local + self.lines
        return self.lines[local]


def _part_scan(chunk: _Chunk, template: LineTemplate | None, lines: IntArray | int = 0) -> _Part:
    found = _lines_find(chunk, template is not None and template.has_ignored_strings)
    scan = None
    if template is not None:
        scan = lines_scan(buf=chunk.buf, starts=found.starts, ends=found.ends, template=template)
    count = len(found.starts)
    ok = np.zeros(count, np.bool_) if scan is None else scan.ok & ~found.careful
    store, starts, ends, careful = chunk.store, found.starts, found.ends, found.careful
    leftover = [
        (i, bytes(store[starts[i] : ends[i]]), bool(careful[i])) for i in np.flatnonzero(~ok).tolist()
    ]
    if scan is not None:
        scan = FastScan(ok, scan.model_a, scan.model_b, scan.names, scan.outcome, scan.tstamp, scan.anony)
    return _Part(lines, scan, count, leftover)


def _workers() -> int:
    """Scanning threads: one per CPU this process may run on (threads on a single CPU only add
    hand-offs)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_WORKERS))


def _jsonl_parse(read: Callable[[list[bytearray]], Iterator[_Chunk]]) -> BattleSet:
    free: list[bytearray] = []
    chunks = read(free)
    first = next(chunks, None)
    if first is None:
        return battles_from_parsed(rows=[])
    template = _template_find(first, _lines_find(first, check_strings=False))
    parts = [_part_scan(first, template)]
    free.append(first.store)
    total = parts[0].count
    pending: deque[tuple[bytearray, Future[_Part]]] = deque()
    workers = _workers()

    def collect() -> None:
        nonlocal total
        store, future = pending.popleft()
        part = future.result()
        free.append(store)
        parts.append(replace(part, lines=total))
        total += part.count

    if workers == 1:
        for chunk in chunks:
            part = _part_scan(chunk, template)
            free.append(chunk.store)
            parts.append(replace(part, lines=total))
            total += part.count
        return _merge(parts, total)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # A few chunks in flight: enough to keep the threads busy, few enough to stay in cache.
        for chunk in chunks:
            pending.append((chunk.store, pool.submit(_part_scan, chunk, template)))
            while len(pending) > workers:
                collect()
        while pending:
            collect()
    return _merge(parts, total)


def _relearn(leftover: list[tuple[int, bytes, bool]]) -> tuple[list[_Part], list[tuple[int, bytes, bool]]]:
    """Scan the lines the first layout did not fit with layouts learned from them.

    `leftover` holds (global line number, text, careful); so does what is left after.
    """
    parts: list[_Part] = []
    for _ in range(_RELEARN_ROUNDS):
        candidates = [item for item in leftover if not item[2] and item[1].strip()]
        if len(candidates) < _RELEARN_LINES:
            break
        template = next(
            (found for item in candidates[:20] if (found := template_learn(line=item[1])) is not None), None
        )
        if template is None:
            break
        text = b"\n".join(item[1] for item in candidates)
        store = bytearray(FRONT_PAD) + text + bytearray(BACK_PAD)
        numbers = np.array([item[0] for item in candidates], np.int64)
        part = _part_scan(_Chunk(store, len(text)), template, numbers)
        if part.scan is None or not part.scan.ok.any():
            break
        parts.append(part)
        read = set(numbers[part.scan.ok].tolist())
        leftover = [item for item in leftover if item[0] not in read]
    return parts, leftover


def _line_parse(raw: bytes, number: int) -> ParsedRow | None:
    """The careful path for one line (1-based `number`); None for a blank line."""
    where = f"line {number}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8 text") from None
    if not text.strip():
        return None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
    return row_parse(row=row, where=where)


def _merge(parts: list[_Part], total: int) -> BattleSet:
    leftover = [
        (int(part.numbers(np.array([i], np.int64))[0]), text, careful)
        for part in parts
        for i, text, careful in part.leftover
    ]
    if len(leftover) >= _RELEARN_LINES:
        extra, leftover = _relearn(leftover)
        parts = parts + extra
    slow_rows: dict[int, ParsedRow] = {}
    for number, raw, _ in sorted(leftover):
        parsed = _line_parse(raw, number + 1)
        if parsed is not None:
            slow_rows[number] = parsed
    scans = [(part, part.scan) for part in parts if part.scan is not None]
    if not scans:
        return battles_from_parsed(rows=[slow_rows[line] for line in sorted(slow_rows)])

    # Model names: those of the lines read by a scan (codes per part) and of json-parsed lines.
    used_names: set[str] = set()
    for _, scan in scans:
        used = np.zeros(len(scan.names), np.bool_)
        used[scan.model_a[scan.ok]] = True
        used[scan.model_b[scan.ok]] = True
        used_names.update(name for name, is_used in zip(scan.names, used, strict=True) if is_used)
    used_names.update(row.model_a for row in slow_rows.values())
    used_names.update(row.model_b for row in slow_rows.values())
    models = sorted(used_names)
    index = {name: i for i, name in enumerate(models)}

    keep = np.zeros(total, np.bool_)
    model_a = np.zeros(total, np.int32)
    model_b = np.zeros(total, np.int32)
    outcome = np.zeros(total, np.int8)
    tstamp = np.full(total, np.nan)
    anony = np.zeros(total, np.bool_)
    for part, scan in scans:
        recode = np.array([index.get(name, -1) for name in scan.names] or [-1], np.int32)
        rows: IntArray | slice
        lines: IntArray | slice
        if isinstance(part.lines, int) and not part.leftover:
            # Every line of the run was read here: plain slices.
            rows, lines = slice(None), slice(part.lines, part.lines + part.count)
        else:
            rows = np.flatnonzero(scan.ok)
            lines = part.numbers(rows)
        keep[lines] = True
        model_a[lines] = recode[scan.model_a[rows]]
        model_b[lines] = recode[scan.model_b[rows]]
        outcome[lines] = scan.outcome[rows]
        tstamp[lines] = scan.tstamp[rows]
        anony[lines] = scan.anony[rows]
    for line, row in slow_rows.items():
        keep[line] = True
        model_a[line], model_b[line] = index[row.model_a], index[row.model_b]
        outcome[line], tstamp[line], anony[line] = row.outcome, row.tstamp, row.anony
    if not keep.all():
        model_a, model_b, outcome = model_a[keep], model_b[keep], outcome[keep]
        tstamp, anony = tstamp[keep], anony[keep]
    return BattleSet(
        models=tuple(models), model_a=model_a, model_b=model_b, outcome=outcome, tstamp=tstamp, anony=anony
    )
