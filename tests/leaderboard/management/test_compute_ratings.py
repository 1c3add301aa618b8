"""`manage.py compute_ratings`: a battles file's leaderboard; the database is not touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError

from tests.factories import FIXTURES_DIR, command_output, rows_in_database

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = FIXTURES_DIR / "genai-arena"
BATTLES = FIXTURES / "battles.json"
PUBLISHED = json.loads((FIXTURES / "published_ratings.json").read_text())
CLI_KEYS = {"model", "rating", "ci_lower", "ci_upper", "rank", "online_elo", "battles", "win_rate"}


@pytest.mark.django_db
def test_json_rows_have_exactly_the_contract_keys_and_nothing_is_written():
    before = rows_in_database()
    rows = json.loads(
        command_output("compute_ratings", "--battles", str(BATTLES), "--json", "--bootstrap", "20")
    )
    assert rows_in_database() == before
    assert len(rows) == 13
    assert all(set(row) == CLI_KEYS for row in rows)
    assert sum(row["battles"] for row in rows) == 2 * 2061, "the self-battle counts twice, as published"


def test_anony_only_rates_the_anonymous_votes_with_the_published_online_elo():
    rows = json.loads(
        command_output(
            "compute_ratings", "--battles", str(BATTLES), "--anony-only", "--json", "--bootstrap", "20"
        )
    )
    assert sum(row["battles"] for row in rows) == 2 * 1515
    published = PUBLISHED["anony"]
    for row in rows:
        assert row["online_elo"] == pytest.approx(published["online_elo"][row["model"]], abs=1e-6)
        assert row["battles"] == published["num_battles"][row["model"]]
        assert row["ci_lower"] <= row["rating"] <= row["ci_upper"]
    best = min(rows, key=lambda row: (row["rank"], -row["rating"]))
    assert best["rank"] == 1


def test_the_seed_makes_intervals_repeatable_and_leaves_ratings_alone():
    def run(seed: str) -> list[dict[str, float]]:
        return json.loads(
            command_output(
                "compute_ratings", "--battles", str(BATTLES), "--json", "--bootstrap", "20", "--seed", seed
            )
        )

    first, again, other = run("1"), run("1"), run("2")
    assert first == again
    assert [row["rating"] for row in first] == [row["rating"] for row in other]
    assert [row["ci_lower"] for row in first] != [row["ci_lower"] for row in other]


def test_the_table_names_its_columns_and_the_two_groups_of_the_fixture():
    printed = command_output("compute_ratings", "--battles", str(BATTLES), "--bootstrap", "10")
    header = printed.splitlines()[0].split()
    assert header[:3] == ["Rank", "Model", "Rating"]
    assert "imagenhub_PlayGroundV2_generation" in printed
    assert "13 models. They fall into 2 groups" in printed


def test_json_lines_are_read_too(tmp_path: Path):
    lines = tmp_path / "battles.jsonl"
    lines.write_text(
        "\n".join(
            json.dumps({"model_a": a, "model_b": b, "winner": w, "tstamp": t, "anony": True})
            for a, b, w, t in [("x", "y", "model_a", 1.0), ("y", "z", "tie", 2.0), ("z", "x", "model_b", 3.0)]
        )
    )
    rows = json.loads(
        command_output("compute_ratings", "--battles", str(lines), "--json", "--bootstrap", "5")
    )
    assert {row["model"] for row in rows} == {"x", "y", "z"}


def test_a_bad_row_is_a_command_error_with_the_readers_message(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"model_a": "x", "model_b": "y", "winner": "model_a"}\n'
        '{"model_a": "x", "model_b": "y", "winner": "left"}\n'
    )
    with pytest.raises(CommandError, match=r"line 2: 'winner' must be one of .*got 'left'"):
        command_output("compute_ratings", "--battles", str(bad))


def test_a_missing_file_and_an_empty_selection_are_command_errors(tmp_path: Path):
    with pytest.raises(CommandError, match="Cannot read"):
        command_output("compute_ratings", "--battles", str(tmp_path / "missing.json"))
    named = tmp_path / "named.json"
    named.write_text(json.dumps([{"model_a": "x", "model_b": "y", "winner": "tie", "anony": False}]))
    with pytest.raises(CommandError, match="none is anonymous"):
        command_output("compute_ratings", "--battles", str(named), "--anony-only")


def test_manage_py_runs_it_as_a_user_does():
    """The command line path (manage.py calls run_from_argv, which call_command skips)."""
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "compute_ratings",
            "--battles",
            str(BATTLES),
            "--json",
            "--bootstrap",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 13 and all(set(row) == CLI_KEYS for row in rows)
