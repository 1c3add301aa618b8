"""`manage.py general_level FILE [--json]`: scores a file, prints levels, never touches the database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arena.models import Model
from leaderboard.general_level import general_level_load_json
from leaderboard.models import Task, TaskScore
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "general-level" / "audio_paper_tables.json"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("general_level", *args, stdout=out)
    return out.getvalue()


def _row_counts() -> tuple[int, int, int]:
    return Task.objects.count(), TaskScore.objects.count(), Model.objects.count()


@pytest.mark.django_db
def test_json_output_is_the_cli_contract_and_writes_nothing():
    before = _row_counts()
    printed = json.loads(_run(str(FIXTURE), "--json"))
    expected = general_level_load_json(source=FIXTURE)
    assert set(printed) == {model.name for model in expected.models}
    for model in expected.models:
        entry = printed[model.name]
        assert set(entry) == {"modalities", "overall", "level"}
        assert set(entry["modalities"]) == {"image", "video", "audio", "3d"}
        assert all(set(levels) == {"L2", "L3", "L4"} for levels in entry["modalities"].values())
        assert set(entry["overall"]) == {"L2", "L3", "L4", "L5"}
        assert entry == {key: value for key, value in model.report.to_dict().items() if key != "model"}
    assert _row_counts() == before


def test_paper_numbers_come_through_the_json_output():
    printed = json.loads(_run(str(FIXTURE), "--json"))
    # Table 9 of the paper: Qwen-Audio-Chat's audio Level-2 is 28.40 and its Level-3 10.57.
    audio = printed["Qwen-Audio-Chat"]["modalities"]["audio"]
    assert round(audio["L2"], 2) == 28.40
    assert round(audio["L3"], 2) == 10.57
    assert printed["Qwen-Audio-Chat"]["level"] == 3


def test_table_output_ranks_models_with_their_levels():
    printed = _run(str(FIXTURE))
    lines = printed.splitlines()
    assert lines[0].split()[:6] == ["Model", "Level", "L2", "L3", "L4", "L5"]
    first = lines[2].split()
    assert first[0] == "Qwen-Audio-Chat" and first[1] == "3"
    assert "audio L4" in lines[0] and "image L2" not in lines[0]
    assert "16 models, 44 tasks" in printed
    assert "unknown_metric" in printed


def test_bad_file_is_a_command_error_with_the_loaders_message(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tasks": [], "models": []}))
    with pytest.raises(CommandError, match="'tasks' must be a non-empty list"):
        _run(str(bad))


def test_missing_and_foreign_files_are_command_errors(tmp_path: Path):
    with pytest.raises(CommandError, match="Cannot read"):
        _run(str(tmp_path / "missing.json"))
    notes = tmp_path / "notes.txt"
    notes.write_text("model,score\n")
    with pytest.raises(CommandError, match="neither a General-Bench spreadsheet"):
        _run(str(notes))
