"""battle_file: a JSON list or JSON lines in, exactly the battles json.loads and the row checks give
out, and a bad line named by its number with what is wrong."""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path

import numpy as np
import pytest

import leaderboard.ratings.battle_file as battle_file
from leaderboard.ratings.battle_file import battles_from_jsonl, battles_read
from leaderboard.ratings.battle_set import WINNER_LABELS, BattleSet, row_parse
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "genai-arena"

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
    # Timestamps bit for bit (float() is correctly rounded; so must the decoder be).
    def key(row: Row) -> tuple[object, ...]:
        stamp = row[3]
        return (*row[:3], None if stamp is None else struct.pack("<d", stamp), row[4])

    return [key(row) for row in ours] == [key(row) for row in reference]


NAMES = [
    "gpt-4o-2024-05-13",
    "claude-3-5-sonnet-20240620",
    "m",
    "llama-3.1-405b-instruct-bf16",
    "名字-模型",
    "modèle ü",
    "very-long-" * 20,
    "emoji-🙂",
    "space in name",
    "{braces}, [brackets]: colon",
    'quote"d',
    "back\\slash",
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
            -0.0,
            12.25,
            1e-7,
            None,
            123456789012345,
            12345678901234567890123,
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
            ensure_ascii=rng.random() < 0.5,
        )
        for i in range(count)
    ]


# ---------- what is read ----------


def test_fixture_json_list_is_read_in_full() -> None:
    battles = battles_read(path=FIXTURE / "battles.json")
    assert len(battles) == 2061
    assert len(battles.models) == 13
    assert int(battles.anony.sum()) == 1515
    assert np.bincount(battles.outcome, minlength=4).tolist() == [759, 744, 130, 428]


def test_json_lines_read_the_same_battles_as_the_json_list(tmp_path: Path) -> None:
    rows = json.loads((FIXTURE / "battles.json").read_text())
    path = tmp_path / "battles.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert _rows(battles_read(path=path)) == _rows(battles_read(path=FIXTURE / "battles.json"))


def test_names_of_any_shape_give_what_json_gives() -> None:
    """Unicode, escapes, long names, both anony values, every winner; models sorted by name."""
    data = ("\n".join(_uniform_lines(random.Random(1), 5000)) + "\n").encode()
    battles = battles_from_jsonl(data=data)
    assert _same(_rows(battles), _reference(data))
    assert list(battles.models) == sorted(battles.models)


def test_timestamps_of_any_shape_are_read_exactly() -> None:
    rng = random.Random(2)
    lines = [
        json.dumps({"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": _stamp(rng), "anony": True})
        for _ in range(4000)
    ]
    data = "\n".join(lines).encode()
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "-0.0",
        "7",
        "-7",
        "1700000000",
        "1700000000.5",
        "0.125",
        "-0.001",
        "12345678901234.5",
        "1.2345678901234567",
        "9007199254740993",
        "123456789012345678901234567890",
        "5e3",
        "1E3",
        "1e-400",
        "01",
        "-01",
        "00.5",
        ".5",
        "5.",
        "-",
        "+1",
        "1.2.3",
        "0x10",
        "NaN",
        "Infinity",
        "1e400",
        "1" + "0" * 400,
        "true",
        '"noon"',
        "null",
        "٣",
    ],
)
def test_numbers_are_read_as_json_reads_them(text: str) -> None:
    line = f'{{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": {text}}}'
    template = '{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": 1.5}'
    data = ("\n".join([template] * 3 + [line] * 3 + [template]) + "\n").encode()
    try:
        expected = _reference(data)
    except ValueError:  # json refuses the number (JSONDecodeError is a ValueError) or validation does
        with pytest.raises(ValueError, match="line 4: "):
            battles_from_jsonl(data=data)
        return
    assert _same(_rows(battles_from_jsonl(data=data)), expected)


def test_random_decimals_are_bit_exact() -> None:
    rng = random.Random(3)
    texts = []
    for _ in range(20000):
        digits = rng.randrange(1, 20)
        point = rng.randrange(0, digits)
        body = str(rng.randrange(10 ** (digits - 1), 10**digits)) if digits > 1 else str(rng.randrange(10))
        text = body if point == 0 else body[:-point] + "." + body[-point:]
        if text.startswith("0") and len(text) > 1 and text[1] != ".":
            continue
        texts.append(("-" if rng.random() < 0.3 else "") + text + rng.choice(["", "", "e7", "E-12"]))
    data = "\n".join(
        f'{{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": {text}}}' for text in texts
    ).encode()
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data))


def _odd_line(rng: random.Random) -> str:
    """A valid line in one of many shapes: key order, spacing, missing and extra fields."""
    row: dict[str, object] = {
        "model_a": rng.choice(["m-a", "m-b", "model ü", "名字", 'quote"d', "back\\slash", "tab\there"]),
        "model_b": rng.choice(["m-c", "m-d", "m-a"]),
        "winner": rng.choice(WINNER_LABELS),
        "tstamp": _stamp(rng),
        "anony": rng.choice([True, False]),
    }
    shape = rng.randrange(12)
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
        row["conversation_a"] = [{"role": "user", "content": "hi\tthere", "n": [1, {"x": None}]}]
    if shape == 6:
        return json.dumps(row, separators=(",", ":"))
    if shape == 7:
        return json.dumps(row, ensure_ascii=False) + "  "
    if shape == 8:
        return "   "
    if shape == 9:
        return json.dumps(row, ensure_ascii=False).replace(": ", ":\t")
    if shape == 10:
        return "  " + json.dumps(row, indent=None).replace('"winner"', '"winner" ')
    return json.dumps(row, ensure_ascii=False)


@pytest.mark.parametrize("seed", range(6))
def test_mixed_lines_give_exactly_what_json_gives(seed: int) -> None:
    rng = random.Random(seed)
    lines = [_odd_line(rng) for _ in range(4000)]
    data = ("\r\n" if seed % 2 else "\n").join(lines).encode()
    assert _same(_rows(battles_from_jsonl(data=data)), _reference(data.replace(b"\r\n", b"\n")))


def test_blank_lines_are_skipped_even_before_the_first_battle() -> None:
    data = (
        b'\n  \n{"model_a": "a", "model_b": "b", "winner": "tie"}\n'
        b'\n{"model_a": "b", "model_b": "a", "winner": "tie"}'
    )
    assert [row[:2] for row in _rows(battles_from_jsonl(data=data))] == [("a", "b"), ("b", "a")]


def test_crlf_line_endings_are_read() -> None:
    data = (
        b'{"model_a": "x", "model_b": "y", "winner": "model_a"}\r\n'
        b'{"model_a": "y", "model_b": "x", "winner": "tie"}\r\n'
    )
    assert [row[:3] for row in _rows(battles_from_jsonl(data=data))] == [("x", "y", 0), ("y", "x", 2)]


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1000])
def test_chunk_boundaries_do_not_matter(
    chunk_bytes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny chunks: lines cut anywhere, lines longer than a chunk, no final newline, blank lines,
    and a bad line still named by its number."""
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
    lines[250] = lines[250].replace('"anony": ', '"anony": 1 or ')
    with pytest.raises(ValueError, match="line 251: not valid JSON"):
        battles_from_jsonl(data="\n".join(lines).encode())


def test_empty_file_gives_no_battles(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    battles = battles_read(path=path)
    assert len(battles) == 0
    assert battles.models == ()
    assert len(battles_read(path=_written(tmp_path, b"[]"))) == 0


def test_missing_tstamp_and_anony_default_to_nan_and_false() -> None:
    battles = battles_from_jsonl(data=b'{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": null}\n')
    assert np.isnan(battles.tstamp[0])
    assert not battles.anony[0]


def test_battle_arrays_are_read_only() -> None:
    battles = battles_from_jsonl(data=b'{"model_a": "a", "model_b": "b", "winner": "tie"}\n')
    with pytest.raises(ValueError, match="read-only"):
        battles.outcome[0] = 0


# ---------- bad lines ----------


def _good(i: int) -> str:
    return json.dumps(
        {"model_a": f"m{i % 3}", "model_b": "z", "winner": "model_b", "tstamp": float(i), "anony": True}
    )


# A valid battle's fields, to build bad lines from.
_AB = '"model_a": "a", "model_b": "b"'
_ABT = _AB + ', "winner": "tie"'


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{" + _AB + ', "winner": "draw"}', "line 5: 'winner' must be one of"),
        ("{" + _AB + "}", "line 5: missing required field 'winner'"),
        ('{"model_b": "b", "winner": "tie"}', "line 5: missing required field 'model_a'"),
        ('{"model_a": "", "model_b": "b", "winner": "tie"}', "line 5: 'model_a' must be a non-empty model"),
        ('{"model_a": "a", "model_b": "  ", "winner": "tie"}', "line 5: 'model_b' must be a non-empty model"),
        ('{"model_a": 3, "model_b": "b", "winner": "tie"}', "line 5: 'model_a' must be a non-empty model"),
        ("{" + _AB + ', "winner": 1}', "line 5: 'winner' must be one of"),
        ("{" + _ABT + ', "tstamp": "noon"}', "line 5: 'tstamp' must be a finite"),
        ("{" + _ABT + ', "tstamp": 1e999}', "line 5: 'tstamp' must be a finite"),
        ("{" + _ABT + ', "tstamp": NaN}', "line 5: 'tstamp' must be a finite"),
        ("{" + _ABT + ', "anony": "yes"}', "line 5: 'anony' must be true or false"),
        ("{" + _ABT + ",}", "line 5: not valid JSON"),
        ("{" + _ABT, "line 5: not valid JSON"),
        ('["a", "b", "tie"]', "line 5: expected a JSON object"),
        ("null", "line 5: expected a JSON object"),
        # One battle a line: two objects on a line, or one spread over two lines, are refused.
        ("{" + _ABT + "} {" + _ABT + "}", r"line 5: not valid JSON \(Extra data"),
        ("{" + _AB + ',\n"winner": "tie"}', "line 5: not valid JSON"),
    ],
)
def test_bad_line_error_names_the_line_and_the_problem(bad_line: str, message: str) -> None:
    lines = [_good(i) for i in range(4)] + [bad_line] + [_good(i) for i in range(5, 9)]
    with pytest.raises(ValueError, match=message):
        battles_from_jsonl(data="\n".join(lines).encode())


def test_two_battles_on_a_line_are_refused_even_when_another_spans_two_lines() -> None:
    """As many objects as lines, but not one a line: still refused, naming the first bad line."""
    lines = [_good(i) for i in range(8)]
    lines[2] = lines[2] + " " + lines[3]
    lines[3] = lines[5].replace('"winner"', '\n"winner"')
    del lines[5]
    data = "\n".join(lines).encode()
    assert data.count(b"\n") + 1 == 8
    with pytest.raises(ValueError, match=r"line 3: not valid JSON \(Extra data"):
        battles_from_jsonl(data=data)


def test_bad_winner_deep_in_a_uniform_file_names_its_line() -> None:
    lines = [_good(i) for i in range(50_000)]
    lines[32_100] = lines[32_100].replace('"winner": "model_b"', '"winner": "left"')
    with pytest.raises(ValueError, match=r"line 32101: 'winner' must be one of .* got 'left'"):
        battles_from_jsonl(data="\n".join(lines).encode())


def test_the_first_bad_line_is_the_one_named() -> None:
    lines = [_good(i) for i in range(20)]
    lines[7] = '{"model_a": "a", "model_b": "b", "winner": "tie", "anony": 0}'
    lines[3] = ""
    lines[12] = '{"model_a": "a"}'
    with pytest.raises(ValueError, match="line 8: 'anony' must be true or false, got 0"):
        battles_from_jsonl(data="\n".join(lines).encode())


def test_unused_string_fields_are_checked_like_json() -> None:
    """Fields the battle does not use must still be valid JSON strings: escapes are fine, raw
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
        (b"tab\there", "line 3: not valid JSON"),
        (b"nul\x00", "line 3: not valid JSON"),
        (b"\xc3\x28", "line 3: not UTF-8 text"),
        # json takes a lone surrogate escape; it is not a character, and the reader refuses it.
        (b"\\udc80", "line 3: JSON is malformed: invalid utf-16 surrogate pair"),
    ],
)
def test_names_that_are_not_text_are_errors(name: bytes, message: str) -> None:
    good = b'{"model_a": "a", "model_b": "b", "winner": "tie"}'
    bad = b'{"model_a": "' + name + b'", "model_b": "b", "winner": "tie"}'
    with pytest.raises(ValueError, match=message):
        battles_from_jsonl(data=b"\n".join([good, good, bad, good]))


def _reference_or_error(data: bytes) -> list[Row] | str:
    """The reference reading, or the message of the first bad line as the reader words it."""
    out = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        where = f"line {number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return f"{where}: not UTF-8 text"
        if not text.strip():
            continue
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            return f"{where}: not valid JSON ({error.msg} at column {error.colno})"
        try:
            row = row_parse(row=loaded, where=where)
        except ValueError as error:
            return str(error)
        stamp = None if math.isnan(row.tstamp) else row.tstamp
        out.append((row.model_a, row.model_b, row.outcome, stamp, row.anony))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_random_byte_damage_gives_json_s_battles_or_its_message(seed: int) -> None:
    """A few bytes changed, dropped or added anywhere: the same battles, or the same first bad line
    with the same message, as json.loads per line and the row checks."""
    rng = random.Random(seed)
    lines = [
        json.dumps(
            {
                "model_a": f"m{i % 5}",
                "model_b": "z ü",
                "winner": WINNER_LABELS[i % 4],
                "tstamp": 1.7e9 + i / 4,
                "anony": i % 2 == 0,
                "x": [1, {"y": "s"}],
            },
            ensure_ascii=i % 3 == 0,
        )
        for i in range(30)
    ]
    alphabet = b' \t\r\n{}[]":,0123456789.eE-+abfnlrstu\\\xff\xc3\x00'
    for _ in range(500):
        data = bytearray("\n".join(lines).encode())
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            change = rng.random()
            if change < 0.4:
                data[at] = rng.choice(alphabet)
            elif change < 0.7:
                del data[at]
            else:
                data.insert(at, rng.choice(alphabet))
        expected = _reference_or_error(bytes(data))
        try:
            got: list[Row] | str = _rows(battles_from_jsonl(data=bytes(data)))
        except ValueError as error:
            got = str(error)
        if isinstance(expected, str):
            assert got == expected, bytes(data)
        else:
            assert not isinstance(got, str) and _same(got, expected), (bytes(data), got)


# ---------- JSON lists and other files ----------


def _written(tmp_path: Path, data: bytes, name: str = "battles.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_json_list_gives_what_json_gives(tmp_path: Path) -> None:
    lines = [line for line in _uniform_lines(random.Random(8), 500) if line.strip()]
    path = _written(tmp_path, ("[\n" + ",\n".join(lines) + "\n]").encode())
    assert _same(_rows(battles_read(path=path)), _reference("\n".join(lines).encode()))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[{" + _ABT + '}, {"model_a": "a", "winner": "tie"}]', "index 1: missing required field 'model_b'"),
        ("[{" + _ABT + "}, {" + _AB + ', "winner": "x"}]', "index 1: 'winner' must be one of"),
        ('[{"model_a": " ", "model_b": "b", "winner": "tie"}]', "index 0: 'model_a' must be a non-empty"),
        ("[{" + _ABT + "}, 7]", "index 1: expected a JSON object"),
        ("[{" + _ABT + '},\n {"model_a": "a"', "line 2, column 17: not valid JSON"),
        ("[{" + _ABT + "}] {}", r"not valid JSON \(Extra data\)"),
    ],
)
def test_json_list_errors_name_the_index(tmp_path: Path, data: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        battles_read(path=_written(tmp_path, data.encode()))


def test_a_json_list_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the file is not UTF-8 text"):
        battles_read(path=_written(tmp_path, b"[{" + _ABT.encode() + b', "x": "\xff"}]'))


def test_unknown_file_shape_is_refused(tmp_path: Path) -> None:
    path = _written(tmp_path, b"model_a,model_b,winner\n", "battles.csv")
    with pytest.raises(ValueError, match="expected a JSON list of battles or one JSON object per line"):
        battles_read(path=path)


# ---------- a large file is read in two halves, the second in a forked process ----------


@pytest.fixture
def split_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(battle_file, "_SPLIT_BYTES", 0)
    monkeypatch.setattr(battle_file, "cpus_usable", lambda: 2)


def test_two_halves_give_the_battles_of_one_pass(tmp_path: Path, split_always: None) -> None:
    rng = random.Random(7)
    lines = _uniform_lines(rng, 2000)
    # Names that appear only in the second half get codes the first half never gave out.
    lines += [json.dumps({"model_a": "late-model", "model_b": "m", "winner": "tie"})] * 3
    data = "\n".join(lines).encode()
    path = tmp_path / "battles.jsonl"
    path.write_bytes(data)
    halves = battles_read(path=path)
    assert _same(_rows(halves), _reference(data))
    assert halves.models == tuple(sorted(halves.models)) and "late-model" in halves.models


@pytest.mark.parametrize("bad", [1500, 1999])
def test_a_bad_line_in_the_second_half_is_named_by_its_number_in_the_file(
    tmp_path: Path, split_always: None, bad: int
) -> None:
    lines = _uniform_lines(random.Random(3), 2000)
    lines[bad] = lines[bad].replace('"winner": "', '"winner": "x')
    path = tmp_path / "battles.jsonl"
    path.write_bytes("\n".join(lines).encode())
    with pytest.raises(ValueError, match=f"line {bad + 1}: 'winner' must be one of"):
        battles_read(path=path)


def test_the_first_half_s_bad_line_is_named_before_the_second_half_s(
    tmp_path: Path, split_always: None
) -> None:
    lines = _uniform_lines(random.Random(4), 2000)
    for bad in (100, 1900):
        lines[bad] = lines[bad].replace('"winner": "', '"winner": "x')
    path = tmp_path / "battles.jsonl"
    path.write_bytes("\n".join(lines).encode())
    with pytest.raises(ValueError, match="line 101: "):
        battles_read(path=path)
