"""Reading battles: JSON list / JSON lines, the vectorised path, errors, aggregation."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from leaderboard.ratings.battle_file import battles_from_jsonl, battles_read
from leaderboard.ratings.battle_set import WINNER_LABELS, BattleSet, battles_parse
from leaderboard.ratings.pair_counts import PairCounts, battles_aggregate, pair_counts_from_grouped

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "genai-arena"


def _rows(battles: BattleSet) -> list[tuple[str, str, str, float | None, bool]]:
    return [
        (
            battles.models[a],
            battles.models[b],
            WINNER_LABELS[o],
            None if np.isnan(t) else float(t),
            bool(anony),
        )
        for a, b, o, t, anony in zip(
            battles.model_a, battles.model_b, battles.outcome, battles.tstamp, battles.anony, strict=True
        )
    ]


def _expected(rows: list[dict[str, object]]) -> list[tuple[str, str, str, float | None, bool]]:
    out = []
    for row in rows:
        stamp = row.get("tstamp")
        out.append(
            (
                str(row["model_a"]),
                str(row["model_b"]),
                str(row["winner"]),
                None if stamp is None else float(stamp),  # type: ignore[arg-type]
                bool(row.get("anony", False)),
            )
        )
    return out


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


def _odd_line(rng: random.Random, i: int) -> tuple[str, dict[str, object] | None]:
    """A line in one of many shapes the vectorised path must either read exactly or hand to json."""
    row: dict[str, object] = {
        "model_a": rng.choice(["m-a", "m-b", "model ü", "名字", 'quote"d', "back\\slash"]),
        "model_b": rng.choice(["m-c", "m-d", "m-a"]),
        "winner": rng.choice(WINNER_LABELS),
        "tstamp": rng.choice([1700000000.5 + i, 1700000000 + i, 1.7e9 + i, None, 12.25]),
        "anony": rng.choice([True, False]),
    }
    shape = rng.randrange(8)
    if shape == 1:
        del row["anony"]
    if shape == 2:
        row = dict(reversed(list(row.items())))
    if shape == 3:
        row["judge"] = "user, with {braces} and [brackets]"
        row["turn"] = 2
    if shape == 4:
        row["conversation_a"] = [{"role": "user", "content": "hi\tthere"}]
    if shape == 5:
        return json.dumps(row, separators=(",", ":")), row
    if shape == 6:
        return json.dumps(row, ensure_ascii=False) + "  ", row
    if shape == 7:
        return "   ", None
    return json.dumps(row), row


def test_vectorised_path_agrees_with_json_on_mixed_lines() -> None:
    rng = random.Random(7)
    template = {"model_a": "m-a", "model_b": "m-c", "winner": "tie", "tstamp": 1700000000.25, "anony": True}
    lines = [json.dumps(template)]
    expected = [template]
    for i in range(3000):
        if rng.random() < 0.5:
            row = dict(template, model_a=rng.choice(["m-a", "m-b"]), tstamp=1700000000.0 + i * 0.125)
            lines.append(json.dumps(row))
            expected.append(row)
        else:
            line, parsed = _odd_line(rng, i)
            lines.append(line)
            if parsed is not None:
                expected.append(parsed)
    data = ("\r\n" if rng.random() < 0.5 else "\n").join(lines).encode()
    assert _rows(battles_from_jsonl(data=data)) == _expected(expected)


def test_crlf_line_endings_are_read() -> None:
    data = (
        b'{"model_a": "x", "model_b": "y", "winner": "model_a"}\r\n'
        b'{"model_a": "y", "model_b": "x", "winner": "tie"}\r\n'
    )
    assert [row[:3] for row in _rows(battles_from_jsonl(data=data))] == [
        ("x", "y", "model_a"),
        ("y", "x", "tie"),
    ]


def _good(i: int) -> str:
    return json.dumps(
        {"model_a": f"m{i % 3}", "model_b": "z", "winner": "model_b", "tstamp": float(i), "anony": True}
    )


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"model_a": "a", "model_b": "b", "winner": "draw"}', "line 5: 'winner' must be one of"),
        ('{"model_a": "a", "model_b": "b"}', "line 5: missing required field 'winner'"),
        ('{"model_b": "b", "winner": "tie"}', "line 5: missing required field 'model_a'"),
        (
            '{"model_a": "", "model_b": "b", "winner": "tie"}',
            "line 5: 'model_a' must be a non-empty model name",
        ),
        (
            '{"model_a": 3, "model_b": "b", "winner": "tie"}',
            "line 5: 'model_a' must be a non-empty model name",
        ),
        (
            '{"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": "noon"}',
            "line 5: 'tstamp' must be a finite",
        ),
        (
            '{"model_a": "a", "model_b": "b", "winner": "tie", "anony": "yes"}',
            "line 5: 'anony' must be true or false",
        ),
        ('{"model_a": "a", "model_b": "b", "winner": "tie",}', "line 5: not valid JSON"),
        ('["a", "b", "tie"]', "line 5: expected a JSON object"),
    ],
)
def test_bad_line_error_names_the_line_and_the_problem(bad_line: str, message: str) -> None:
    lines = [_good(i) for i in range(4)] + [bad_line] + [_good(i) for i in range(5, 9)]
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        battles_from_jsonl(data="\n".join(lines).encode())


def test_bad_winner_deep_in_a_uniform_file_names_its_line() -> None:
    lines = [_good(i) for i in range(5000)]
    lines[3210] = lines[3210].replace('"winner": "model_b"', '"winner": "left"')
    with pytest.raises(ValueError, match=r"line 3211: 'winner' must be one of .* got 'left'"):
        battles_from_jsonl(data="\n".join(lines).encode())


def test_json_list_error_names_the_index() -> None:
    rows: list[object] = [
        {"model_a": "a", "model_b": "b", "winner": "tie"},
        {"model_a": "a", "winner": "tie"},
    ]
    with pytest.raises(ValueError, match="index 1: missing required field 'model_b'"):
        battles_parse(rows=rows)


def test_unknown_file_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "battles.csv"
    path.write_text("model_a,model_b,winner\n")
    with pytest.raises(ValueError, match="expected a JSON list of battles or one JSON object per line"):
        battles_read(path=path)


def test_blank_lines_are_skipped_even_before_the_first_battle() -> None:
    data = (
        b'\n  \n{"model_a": "a", "model_b": "b", "winner": "tie"}\n'
        b'\n{"model_a": "b", "model_b": "a", "winner": "tie"}'
    )
    assert [row[:2] for row in _rows(battles_from_jsonl(data=data))] == [("a", "b"), ("b", "a")]


def test_empty_file_gives_no_battles(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    battles = battles_read(path=path)
    assert len(battles) == 0
    assert battles.models == ()


def test_missing_tstamp_and_anony_default_to_nan_and_false() -> None:
    battles = battles_from_jsonl(data=b'{"model_a": "a", "model_b": "b", "winner": "tie"}\n')
    assert np.isnan(battles.tstamp[0])
    assert not battles.anony[0]


def test_battle_arrays_are_read_only() -> None:
    battles = battles_from_jsonl(data=b'{"model_a": "a", "model_b": "b", "winner": "tie"}\n')
    with pytest.raises(ValueError, match="read-only"):
        battles.outcome[0] = 0


def test_aggregate_counts_each_result_per_ordered_pair() -> None:
    battles = battles_parse(
        rows=[
            {"model_a": "a", "model_b": "b", "winner": "model_a"},
            {"model_a": "a", "model_b": "b", "winner": "model_a"},
            {"model_a": "a", "model_b": "b", "winner": "tie (bothbad)"},
            {"model_a": "b", "model_b": "a", "winner": "model_a"},
            {"model_a": "b", "model_b": "a", "winner": "tie"},
        ]
    )
    counts = battles_aggregate(battles=battles)
    rows = sorted(
        zip(
            counts.a_idx.tolist(),
            counts.b_idx.tolist(),
            counts.wins_a.tolist(),
            counts.wins_b.tolist(),
            counts.ties.tolist(),
            strict=True,
        )
    )
    assert rows == [(0, 1, 2, 0, 1), (1, 0, 1, 0, 1)]
    assert counts.total == 5
    assert counts.battles_per_model().tolist() == [5, 5]


def test_grouped_rows_give_the_same_counts_as_aggregation() -> None:
    counts = pair_counts_from_grouped(
        models=["a", "b"],
        a_idx=[0, 0, 0, 1],
        b_idx=[1, 1, 1, 0],
        winner=["model_a", "tie", "tie (bothbad)", "model_b"],
        count=[4, 1, 2, 3],
    )
    assert counts.wins_a.tolist() == [4, 0, 0, 0]
    assert counts.ties.tolist() == [0, 1, 2, 0]
    assert counts.wins_b.tolist() == [0, 0, 0, 3]
    assert counts.total == 10


def test_grouped_rows_with_unknown_winner_name_the_row() -> None:
    with pytest.raises(ValueError, match="row 1: unknown winner 'draw'"):
        pair_counts_from_grouped(
            models=["a", "b"], a_idx=[0, 0], b_idx=[1, 1], winner=["tie", "draw"], count=[1, 1]
        )


def test_pair_counts_reject_bad_rows_by_number() -> None:
    with pytest.raises(ValueError, match="row 1: b_idx 5 is not an index into 2 models"):
        PairCounts(
            models=("a", "b"),
            a_idx=np.array([0, 0]),
            b_idx=np.array([1, 5]),
            wins_a=np.array([1, 1]),
            wins_b=np.array([0, 0]),
            ties=np.array([0, 0]),
        )
    with pytest.raises(ValueError, match="row 0: wins_b is negative"):
        PairCounts(
            models=("a", "b"),
            a_idx=np.array([0]),
            b_idx=np.array([1]),
            wins_a=np.array([1]),
            wins_b=np.array([-2]),
            ties=np.array([0]),
        )
