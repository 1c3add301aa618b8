"""Reading battle files: a JSON list, or JSON lines (one battle object per line)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
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
    U8Array,
    lines_scan,
    template_learn,
)

# Below this many lines per thread, starting threads costs more than it saves.
_LINES_PER_WORKER = 100_000


def battles_read(*, path: str | PathLike[str]) -> BattleSet:
    """Read battles in the common arena format from a JSON list or a JSON-lines file.

    Each battle has `model_a`, `model_b`, `winner` (model_a, model_b, tie, tie (bothbad)) and
    optionally `tstamp` (seconds) and `anony` (bool); other fields are ignored. Bad rows raise a
    ValueError naming the line (JSON lines, 1-based) or the index (JSON list, 0-based).
    """
    file = Path(path)
    size = file.stat().st_size
    # Read straight into the padded buffer the fast scan needs, avoiding a copy of the file.
    store = bytearray(FRONT_PAD + size + BACK_PAD)
    with file.open("rb") as handle:
        got = handle.readinto(memoryview(store)[FRONT_PAD : FRONT_PAD + size])
    if got != size:
        raise ValueError(f"{path}: the file changed while it was read")
    head = bytes(store[FRONT_PAD : FRONT_PAD + min(size, 65536)]).lstrip()[:1]
    if head == b"[":
        return _json_list_parse(bytes(store[FRONT_PAD : FRONT_PAD + size]))
    if head in (b"{", b""):
        return _jsonl_parse(store, size)
    raise ValueError(f"{path}: expected a JSON list of battles or one JSON object per line")


def battles_from_jsonl(*, data: bytes) -> BattleSet:
    """Parse JSON-lines bytes (see battles_read)."""
    return _jsonl_parse(bytearray(FRONT_PAD) + data + bytearray(BACK_PAD), len(data))


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


def _line_layout(store: bytearray, data: U8Array) -> tuple[IntArray, IntArray, BoolArray]:
    """Line starts and ends in `data` (newline, and a CR before it, excluded), and which lines need `json`.

    Lines with a backslash (escapes) or a control character other than the line ending go to the
    careful path, so the vectorised scan never has to reason about them.
    """
    size = len(data)
    control = np.flatnonzero(data < 32)
    is_newline = data[control] == ord("\n")
    newlines = control[is_newline].astype(np.int64)
    starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.concatenate([newlines, [size]]).astype(np.int64)
    if starts[-1] == size:
        starts, ends = starts[:-1], ends[:-1]
    has_cr = (ends > starts) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
    ends = ends - has_cr
    others = control[~is_newline]
    next_byte = data[np.minimum(others + 1, size - 1)] if size else others
    others = others[~((others + 1 < size) & (next_byte == ord("\n")))]
    if store.find(b"\\", FRONT_PAD, FRONT_PAD + size) >= 0:
        others = np.concatenate([others, np.flatnonzero(data == ord("\\"))])
    careful = np.zeros(len(starts), np.bool_)
    careful[np.searchsorted(starts, others, side="right") - 1] = True
    return starts, ends, careful


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


def _jsonl_parse(store: bytearray, size: int) -> BattleSet:
    """Parse JSON lines held in store[FRONT_PAD : FRONT_PAD + size] (zero padding around them)."""
    buf = np.frombuffer(store, np.uint8)
    data = buf[FRONT_PAD : FRONT_PAD + size]
    starts, ends, careful = _line_layout(store, data)
    scan = _fast_scan(buf, data, starts, ends, careful)
    slow_lines = np.arange(len(starts)) if scan is None else np.flatnonzero(~scan.ok)
    slow_rows: dict[int, ParsedRow] = {}
    for line in slow_lines.tolist():
        parsed = _line_parse(data[starts[line] : ends[line]].tobytes(), line + 1)
        if parsed is not None:
            slow_rows[line] = parsed
    if scan is None:
        return battles_from_parsed(rows=[slow_rows[line] for line in sorted(slow_rows)])
    return _merge(scan, slow_rows)


def _fast_scan(
    buf: U8Array, data: U8Array, starts: IntArray, ends: IntArray, careful: BoolArray
) -> FastScan | None:
    # Learn the layout from the first line that holds something and needs no careful parsing.
    template = None
    for line in np.flatnonzero(~careful & (ends > starts))[:100].tolist():
        text = data[starts[line] : ends[line]].tobytes()
        if text.strip():
            template = template_learn(line=text)
            break
    if template is None:
        return None

    def scan_chunk(lo: int, hi: int) -> FastScan | None:
        return lines_scan(
            buf=buf, starts=starts[lo:hi] + FRONT_PAD, ends=ends[lo:hi] + FRONT_PAD, template=template
        )

    # numpy releases the GIL in its loops, so chunks of lines scan in parallel threads.
    bounds = np.linspace(0, len(starts), _scan_workers(len(starts)) + 1).astype(np.int64).tolist()
    with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
        parts = list(pool.map(scan_chunk, bounds[:-1], bounds[1:]))
    scans = [part for part in parts if part is not None]
    if len(scans) != len(parts):
        return None
    scan = _scans_join(scans)
    scan.ok[careful] = False
    return scan


def _scan_workers(lines: int) -> int:
    return max(1, min(os.cpu_count() or 1, 4, lines // _LINES_PER_WORKER))


def _scans_join(scans: list[FastScan]) -> FastScan:
    if len(scans) == 1:
        return scans[0]
    names = sorted({name for scan in scans for name in scan.names})
    index = {name: i for i, name in enumerate(names)}
    model_a: list[IntArray] = []
    model_b: list[IntArray] = []
    for scan in scans:
        recode = np.array([index[name] for name in scan.names] or [0], np.int64)
        model_a.append(recode[scan.model_a])
        model_b.append(recode[scan.model_b])
    return FastScan(
        ok=np.concatenate([scan.ok for scan in scans]),
        model_a=np.concatenate(model_a),
        model_b=np.concatenate(model_b),
        names=tuple(names),
        outcome=np.concatenate([scan.outcome for scan in scans]),
        tstamp=np.concatenate([scan.tstamp for scan in scans]),
        anony=np.concatenate([scan.anony for scan in scans]),
    )


def _merge(scan: FastScan, slow_rows: dict[int, ParsedRow]) -> BattleSet:
    fast = np.flatnonzero(scan.ok)
    used = np.zeros(len(scan.names), np.bool_)
    used[scan.model_a[fast]] = True
    used[scan.model_b[fast]] = True
    fast_names = [name for name, is_used in zip(scan.names, used, strict=True) if is_used]
    slow_names = {row.model_a for row in slow_rows.values()} | {row.model_b for row in slow_rows.values()}
    models = sorted(set(fast_names) | slow_names)
    index = {name: i for i, name in enumerate(models)}
    final_of_code = np.array([index.get(name, -1) for name in scan.names] or [-1], np.int64)
    model_a = final_of_code[scan.model_a]
    model_b = final_of_code[scan.model_b]
    outcome, tstamp, anony = scan.outcome, scan.tstamp, scan.anony
    if slow_rows:
        outcome, tstamp, anony = outcome.copy(), tstamp.copy(), anony.copy()
        for line, row in slow_rows.items():
            model_a[line], model_b[line] = index[row.model_a], index[row.model_b]
            outcome[line], tstamp[line], anony[line] = row.outcome, row.tstamp, row.anony
        keep = np.sort(np.concatenate([fast, np.array(sorted(slow_rows), np.int64)]))
    else:
        keep = fast
    return BattleSet(
        models=tuple(models),
        model_a=model_a[keep],
        model_b=model_b[keep],
        outcome=outcome[keep],
        tstamp=tstamp[keep],
        anony=anony[keep],
    )
