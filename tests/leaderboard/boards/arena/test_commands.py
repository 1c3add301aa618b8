"""`import_battles`: a battles file into the arena."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError

from arena.models import Model, Vote
from leaderboard.models import OnlineRating, RatingSnapshot
from tests.factories import FIXTURES_DIR, command_output, model_make, rows_in_database

FIXTURES = FIXTURES_DIR / "genai-arena"
BATTLES = FIXTURES / "battles.json"
PUBLISHED = json.loads((FIXTURES / "published_ratings.json").read_text())


@pytest.mark.django_db
def test_import_stores_every_battle_as_a_historical_vote_with_retired_models():
    report = json.loads(command_output("import_battles", str(BATTLES), "--json"))
    assert (report["read"], report["imported"], report["duplicates"], report["self_battles"]) == (
        2061,
        2060,
        0,
        1,
    )
    assert len(report["models"]["created"]) == 13 and report["models"]["matched"] == {}
    assert set(Model.objects.values_list("status", flat=True)) == {Model.Status.RETIRED}
    assert Vote.objects.count() == 2060
    assert Vote.objects.filter(anony=True).count() == 1515
    assert set(Vote.objects.values_list("source", flat=True)) == {Vote.Source.IMPORT}
    first = json.loads(BATTLES.read_text())[0]
    vote = Vote.objects.order_by("created_at").first()
    assert vote.created_at == datetime.fromtimestamp(first["tstamp"], tz=UTC)
    assert vote.battle.model_a.display_name == first["model_a"]
    assert vote.voter_id == "import" and vote.ip_hash == ""


@pytest.mark.django_db
def test_importing_again_adds_nothing_and_reports_duplicates():
    command_output("import_battles", str(BATTLES))
    again = json.loads(command_output("import_battles", str(BATTLES), "--json"))
    assert (again["imported"], again["duplicates"]) == (0, 2060)
    assert len(again["models"]["matched"]) == 13 and again["models"]["created"] == {}
    assert Vote.objects.count() == 2060 and Model.objects.count() == 13


@pytest.mark.django_db
def test_imported_history_replays_the_published_online_elo_and_rates_in_a_snapshot(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    printed = command_output("import_battles", str(BATTLES), "--snapshot")
    assert "Rating snapshot 1 computed over 1515 votes." in printed
    published = PUBLISHED["anony"]
    for rating in OnlineRating.objects.select_related("model"):
        assert rating.rating == pytest.approx(published["online_elo"][rating.model.display_name], abs=1e-6)
        assert rating.battles == published["num_battles"][rating.model.display_name]
    rows = RatingSnapshot.objects.get().results["overall"]["rows"]
    assert {row["model"]: row["battles"] for row in rows} == {
        Model.objects.get(display_name=name).slug: count for name, count in published["num_battles"].items()
    }


@pytest.mark.django_db
def test_a_name_of_an_arena_model_is_stored_against_it():
    arena = model_make(slug="sdxl", display_name="imagenhub_SDXL_generation")
    report = json.loads(command_output("import_battles", str(BATTLES), "--json"))
    assert report["models"]["matched"] == {"imagenhub_SDXL_generation": "sdxl"}
    arena.refresh_from_db()
    assert arena.status == Model.Status.ACTIVE, "an arena model is left as it is"
    assert Vote.objects.filter(battle__model_a=arena).exists()


@pytest.mark.django_db
def test_identical_battles_in_one_file_are_each_kept_once(tmp_path: Path):
    row = {"model_a": "x", "model_b": "y", "winner": "model_a", "anony": True}
    path = tmp_path / "twice.json"
    path.write_text(json.dumps([row, row]))
    assert json.loads(command_output("import_battles", str(path), "--json"))["imported"] == 2
    path.write_text(json.dumps([row, row, row]))
    report = json.loads(command_output("import_battles", str(path), "--json"))
    assert (report["imported"], report["duplicates"]) == (1, 2)


@pytest.mark.django_db
def test_categories_in_the_file_are_kept(tmp_path: Path):
    path = tmp_path / "export.jsonl"
    path.write_text(
        json.dumps(
            {
                "model_a": "x",
                "model_b": "y",
                "winner": "tie",
                "tstamp": 5.0,
                "anony": True,
                "categories": ["image", "ocr", "bogus"],
            }
        )
        + "\n"
        + json.dumps({"model_a": "y", "model_b": "x", "winner": "model_b", "tstamp": 6.0, "anony": True})
        + "\n"
    )
    command_output("import_battles", str(path))
    assert list(Vote.objects.order_by("created_at").values_list("categories", flat=True)) == [
        ["image", "ocr"],
        [],
    ]


@pytest.mark.django_db
def test_a_bad_file_imports_nothing(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"model_a": "x", "model_b": "y", "winner": "model_a"}, {"model_a": "x"}]))
    with pytest.raises(CommandError, match="index 1: missing required field 'model_b'"):
        command_output("import_battles", str(bad))
    clash = tmp_path / "clash.json"
    clash.write_text(json.dumps([{"model_a": "Foo Bar", "model_b": "foo-bar", "winner": "model_a"}]))
    with pytest.raises(CommandError, match="would both be stored as 'foo-bar'"):
        command_output("import_battles", str(clash))
    assert rows_in_database() == (0, 0, 0, 0, 0)
