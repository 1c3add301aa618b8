"""The vectorised JSON-lines reader: exactly the battles json.loads gives, and the fast path taken."""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path

import numpy as np
import pytest

import leaderboard.ratings.battle_file as battle_file
import leaderboard.ratings.jsonl_fast_scan as fast_scan
from leaderboard.ratings.battle_file import battles_from_jsonl, battles_read
from leaderboard.ratings.battle_set import WINNER_LABELS, BattleSet, row_parse

Row = tuple[str, str, int, float | None, bool]


def _rows(battles: BattleSet) -> list[Row]:
    return [
        (battles.models[a], battles.models[b], int(o), None if math.isnan(t) else float(t), bool(anony))
        for a, b, o, t, anony in zip(
            battles.model_a, battles.model_b, battles.outcome, battles.tstamp, battles.anony, strict=True
        )
    ]


def _reference(data: bytes) -> list[Row]:
    """json.loads per line and the same validation: what the reader must give."""
    out = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        text = raw.decode("utf-8")
        if not text.strip():
            continue
        row = row_parse(row=json.loads(text), where=f"line {number}")
        out.append(
            (row.model_a, row.model_b, row.outcome, None if math.isnan(row.tstamp) else row.tstamp, row.anony)
        )
    return out


def _same(ours: list[Row], reference: list[Row]) -> bool:
    # Compare timestamps bit for bit (float() is correctly rounded; so must the scan be).
    def key(row: Row) -> tuple[object, ...]:
        stamp = row[3]
        return (*row[:3], None if stamp is None else struct.pack("<d", stamp), row[4])

    return [key(row) for row in ours] == [key(row) for row in reference]


class _SlowCalls:
    """Counts the lines that reach json.loads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = battle_file._line_parse

        def counting(raw: bytes, number: int) -> object:
            self.count += 1
            return original(raw, number)

        monkeypatch.setattr(battle_file, "_line_parse", counting)


NAMES = [
    "gpt-4o-2024-05-13",
    "claude-3-5-sonnet-20240620",
    "m",
    "llama-3.1-405b-instruct-bf16",
    "名字-模型",
    "modèle ü",
    "x" * 23,
    "y" * 24,
    "z" * 63,
    "w" * 64,
    "very-long-" * 20,  # 200 bytes: found by the widest search
    "emoji-🙂",
    "space in name",
    "{braces}, [brackets]: colon",
]


def _stamp(rng: random.Random) -> object:
    return rng.choice(
        [
            round(1.7e9 + rng.random() * 1e6, 4),
            round(1.7e9 + rng.random() * 1e6, rng.randrange(0, 7)),
            1700000000 + rng.randrange(10**6),
            -rng.randrange(1, 10**6) / 100,
            0,
            0.0,
            12.25,
            1e-7,
            None,
            123456789012345,
            1.5e300,
        ]
    )


def _uniform_lines(rng: random.Random, count: int) -> list[str]:
    return [
        json.dumps(
            {
                "model_a": rng.choice(NAMES),
                "model_b": rng.choice(NAMES),
                "winner": rng.choice(WINNER_LABELS),
                "tstamp": round(1.7e9 + i * 0.37, 4),
                "anony": rng.random() < 0.5,
            },
            ensure_ascii=False,
        )
        for i in range(count)
    ]


def test_a_uniform_file_never_reaches_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names of any length (up to 200 bytes here), unicode, both anony values, every winner."""
    data = ("\n".join(_uniform_lines(random.Random(1), 5000)) + "\n").encode()
    slow = _SlowCalls(monkeypatch)
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))
    assert slow.count == 0


def test_timestamps_of_any_shape_are_read_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(2)
    lines = []
    for _ in range(4000):
        row = {"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": _stamp(rng), "anony": True}
        lines.append(json.dumps(row))
    data = "\n".join(lines).encode()
    slow = _SlowCalls(monkeypatch)
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))
    # Only exponents (1e-07, 1.5e+300) and numbers of more than 15 digits need json.
    texts = [json.dumps(json.loads(line)["tstamp"]) for line in lines]
    unread = sum("e" in text or sum(char.isdigit() for char in text) > 15 for text in texts)
    assert 0 < slow.count == unread


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "7",
        "-7",
        "10",
        "1700000000",
        "1700000000.5",
        "0.125",
        "-0.001",
        "123456789012345",
        "12345678901234.5",
        "1.23456789012345",
        "99999999999999.9",
        "-99999999999999.9",
        "5e3",
        "1E3",
        "01",
        "-01",
        "00.5",
        ".5",
        "5.",
        "-",
        "+1",
        "1.2.3",
        "1..2",
        "--1",
        "0x10",
        "1234567890123456",
        "1.234567890123456",
        "NaN",
        "Infinity",
        "1 ",
        " 1",
        "٣",
    ],
)
def test_number_parsing_matches_json(text: str) -> None:
    line = f'{{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": {text}}}'
    template = '{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": 1.5}'
    data = ("\n".join([template] * 3 + [line] * 3 + [template]) + "\n").encode()
    try:
        expected = _reference(data)
    except ValueError:  # json refuses the number (JSONDecodeError is a ValueError) or validation does
        with pytest.raises(ValueError, match="line 4"):
            battles_from_jsonl(data=data)
        return
    assert _same(_rows(battles_from_jsonl(data=data)), expected)


def test_random_decimals_are_bit_exact() -> None:
    """Both decimal paths (the common shape with constant masks, the others per line)."""
    rng = random.Random(3)
    texts = []
    for _ in range(20000):
        digits = rng.randrange(1, 16)
        point = rng.randrange(0, digits)
        body = str(rng.randrange(10 ** (digits - 1), 10**digits)) if digits > 1 else str(rng.randrange(10))
        text = body if point == 0 else body[:-point] + "." + body[-point:]
        if text.startswith("0") and len(text) > 1 and text[1] != ".":
            continue
        texts.append(("-" if rng.random() < 0.3 else "") + text)
    columns_text = [text.encode().ljust(24, b"\0") for text in texts]
    columns = [
        np.array([int.from_bytes(raw[i : i + 8], "little") for raw in columns_text], np.uint64)
        for i in (0, 8)
    ]
    values, ok = fast_scan.decimals_parse(words=columns, length=np.array([len(t) for t in texts]))
    # Read whenever the text has at most 15 bytes (16 with a point); otherwise left to json.
    assert all(good for text, good in zip(texts, ok, strict=True) if len(text) <= 15)
    assert ok.mean() > 0.9
    expected = [struct.pack("<d", float(json.loads(text))) for text in texts]
    assert [struct.pack("<d", v) for v, good in zip(values, ok, strict=True) if good] == [
        packed for packed, good in zip(expected, ok, strict=True) if good
    ]


def _odd_line(rng: random.Random, i: int) -> tuple[str, bool]:
    """A line in one of many shapes; the flag says whether json accepts it (and validation passes)."""
    row: dict[str, object] = {
        "model_a": rng.choice(
            ["m-a", "m-b", "model ü", "名字", 'quote"d', "back\\slash", "tab\there", "x" * 70]
        ),
        "model_b": rng.choice(["m-c", "m-d", "m-a"]),
        "winner": rng.choice(WINNER_LABELS),
        "tstamp": _stamp(rng),
        "anony": rng.choice([True, False]),
    }
    shape = rng.randrange(14)
    if shape == 1:
        del row["anony"]
    if shape == 2:
        del row["tstamp"]
    if shape == 3:
        row = dict(reversed(list(row.items())))
    if shape == 4:
        row["judge"] = rng.choice(["user, with {braces}", 'esc \\" aped', "ünïcode", ""])
        row["turn"] = rng.choice([2, -1.5, None, True, 1e5])
    if shape == 5:
        row["conversation_a"] = [{"role": "user", "content": "hi\tthere"}]
    if shape == 6:
        return json.dumps(row, separators=(",", ":")), True
    if shape == 7:
        return json.dumps(row, ensure_ascii=False) + "  ", True
    if shape == 8:
        return "   ", True
    if shape == 9:
        return json.dumps(row, ensure_ascii=False).replace(": ", ":\t"), True
    if shape == 10:
        return json.dumps(row, ensure_ascii=True), True
    if shape == 11:
        return json.dumps(row, indent=None).replace('"winner"', '"winner" '), True
    return json.dumps(row, ensure_ascii=False), True


@pytest.mark.parametrize("seed", range(6))
def test_mixed_lines_give_exactly_what_json_gives(seed: int) -> None:
    rng = random.Random(seed)
    base = {"model_a": "m-a", "model_b": "m-c", "winner": "tie", "tstamp": 1700000000.25, "anony": True}
    lines = []
    for i in range(4000):
        if rng.random() < 0.6:
            lines.append(json.dumps(dict(base, model_a=rng.choice(["m-a", "m-b"]), tstamp=1.7e9 + i / 8)))
        else:
            lines.append(_odd_line(rng, i)[0])
    data = ("\r\n" if seed % 2 else "\n").join(lines).encode()
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data.replace(b"\r\n", b"\n")))


def test_other_layouts_are_learned_when_many_lines_share_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key order, spacing and optional fields differing between two halves of a file."""
    rng = random.Random(4)
    first = _uniform_lines(rng, 3000)
    second = [
        json.dumps(
            {"winner": rng.choice(WINNER_LABELS), "model_b": rng.choice(NAMES), "model_a": rng.choice(NAMES)},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for _ in range(3000)
    ]
    third = [
        json.dumps({"model_a": "a", "model_b": "b", "winner": "tie", "question_id": f"q{i}", "turn": i})
        for i in range(3000)
    ]
    lines = first + second + third
    rng.shuffle(lines)
    data = "\n".join(lines).encode()
    slow = _SlowCalls(monkeypatch)
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))
    assert slow.count == 0


def test_ignored_string_fields_are_checked_like_json(tmp_path: Path) -> None:
    """Fields the scan does not read must still be valid JSON strings: escapes are fine, raw
    control characters and bytes that are not UTF-8 are errors, as with json."""
    good = {"model_a": "a", "model_b": "b", "winner": "tie", "note": "plain"}
    lines = [json.dumps(good)] * 10
    escaped = [
        json.dumps(dict(good, note='say "hi"\\n')),
        json.dumps(dict(good, note="ünï"), ensure_ascii=False),
    ]
    data = "\n".join(lines + escaped + lines).encode()
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))
    control = "\n".join(
        [*lines, '{"model_a": "a", "model_b": "b", "winner": "tie", "note": "t\tb"}']
    ).encode()
    with pytest.raises(ValueError, match="line 11: not valid JSON"):
        battles_from_jsonl(data=control)
    broken = (
        "\n".join(lines).encode() + b'\n{"model_a": "a", "model_b": "b", "winner": "tie", "note": "\xff"}'
    )
    with pytest.raises(ValueError, match="line 11: not UTF-8 text"):
        battles_from_jsonl(data=broken)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tab\there", "line 3: not valid JSON"),
        ("nul\x00", "line 3: not valid JSON"),
        ("   ", "line 3: 'model_a' must be a non-empty model name"),
        ("", "line 3: 'model_a' must be a non-empty model name"),
    ],
)
def test_bad_model_names_get_the_json_path_message(name: str, message: str) -> None:
    good = '{"model_a": "a", "model_b": "b", "winner": "tie"}'
    bad = '{"model_a": "' + name + '", "model_b": "b", "winner": "tie"}'
    with pytest.raises(ValueError, match=message):
        battles_from_jsonl(data="\n".join([good, good, bad, good]).encode())


def test_invalid_utf8_model_name_is_an_error() -> None:
    good = b'{"model_a": "a", "model_b": "b", "winner": "tie"}'
    bad = b'{"model_a": "\xc3\x28", "model_b": "b", "winner": "tie"}'
    with pytest.raises(ValueError, match="line 2: not UTF-8 text"):
        battles_from_jsonl(data=b"\n".join([good, bad, good]))


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1000])
def test_chunk_boundaries_do_not_matter(
    chunk_bytes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny chunks: lines cut anywhere, lines longer than a chunk, no final newline, blank lines."""
    rng = random.Random(chunk_bytes)
    lines = _uniform_lines(rng, 300)
    lines[5] = ""
    lines[17] = "   "
    data = "\n".join(lines).encode()
    path = tmp_path / "battles.jsonl"
    path.write_bytes(data)
    expected = _reference(data)
    monkeypatch.setattr(battle_file, "_CHUNK_BYTES", chunk_bytes)
    assert _same(_rows(battles_read(path=path)), expected)
    assert _same(_rows(battles_from_jsonl(data=data)), expected)


def test_threads_do_not_change_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ("\n".join(_uniform_lines(random.Random(5), 20000)) + "\n").encode()
    path = tmp_path / "battles.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(battle_file, "_CHUNK_BYTES", 50_000)
    results = []
    for workers in (1, 3):
        monkeypatch.setattr(battle_file, "_workers", lambda workers=workers: workers)
        results.append(_rows(battles_read(path=path)))
    assert results[0] == results[1]
    assert _same(results[0], _reference(data))


def test_a_hash_collision_between_names_falls_back_to_sorting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_scan, "_digest", lambda columns, length: np.zeros(len(length), np.uint64))
    data = ("\n".join(_uniform_lines(random.Random(6), 500)) + "\n").encode()
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))


def test_first_lines_without_a_scannable_layout_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    nested = json.dumps({"model_a": "a", "model_b": "b", "winner": "tie", "meta": {"x": [1, 2]}})
    lines = [nested, "", *_uniform_lines(random.Random(7), 2000)]
    data = "\n".join(lines).encode()
    slow = _SlowCalls(monkeypatch)
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))
    assert slow.count == 2
