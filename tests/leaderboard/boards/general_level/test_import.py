"""Importing General-Level files into the board: spreadsheets and JSON, all or nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arena.models import Model
from core.errors import InvalidInput, UnsupportedMedia
from leaderboard.boards.general_level import services as general_level_services
from leaderboard.boards.general_level.services import general_level_import
from leaderboard.models import Task, TaskScore
from tests.factories import model_make, workbook_bytes

pytestmark = pytest.mark.django_db

HEADER: list[object] = ["Task", "Metrics", "SoTA Performance", "Alpha", "Beta"]
SHEETS: dict[str, list[list[object]]] = {
    "Image-Comprehension": [HEADER, ["VQA", "ACC", 50, 60, 40]],
    "Image-Generation": [HEADER, ["T2I", "ACC", 30, 35, None]],
    "NLP": [HEADER, ["QA", "ACC", 60, 70, "-"]],
    "Notes": [["anything"]],
}


def _snapshot() -> list[object]:
    tasks = list(Task.objects.order_by("pk").values_list("name", "metric", "sota", "updated_at"))
    scores = list(
        TaskScore.objects.order_by("pk").values_list("model_name", "task__name", "score", "updated_at")
    )
    return [*tasks, *scores, Model.objects.count()]


def test_spreadsheet_import_stores_tasks_and_every_models_scores():
    result = general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")

    tasks = {(t.name, t.modality, t.group): t for t in Task.objects.all()}
    assert set(tasks) == {
        ("VQA", "image", "comprehension"),
        ("T2I", "image", "generation"),
        ("QA", "nlp", None),
    }
    assert tasks[("VQA", "image", "comprehension")].sota == 50
    assert tasks[("QA", "nlp", None)].source == "Imported from bench.xlsx"
    scores = {(s.model_name, s.task.name): s.score for s in TaskScore.objects.select_related("task")}
    assert scores == {
        ("Alpha", "VQA"): 60,
        ("Alpha", "T2I"): 35,
        ("Alpha", "QA"): 70,
        ("Beta", "VQA"): 40,
        ("Beta", "T2I"): None,
        ("Beta", "QA"): None,
    }
    row = TaskScore.objects.first()
    assert row is not None and row.source == "import" and row.source_detail == "bench.xlsx"

    report = result.to_dict()
    assert report["read"] == {
        "sheets": ["Image-Comprehension", "Image-Generation", "NLP"],
        "tasks": 3,
        "models": 2,
        "scores": 4,
    }
    assert report["skipped_counts"] == {"unknown_sheet": 1, "empty_cell": 1, "non_numeric_cell": 1}
    assert report["written"] == {
        "tasks": {"created": 3, "updated": 0, "unchanged": 0},
        "scores": {"created": 6, "updated": 0, "unchanged": 0},
    }
    assert report["models"] == {"in_arena": {}, "not_in_arena": ["Alpha", "Beta"], "linked": []}


def test_reimport_updates_changed_scores_and_counts_the_rest_unchanged():
    general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    changed = {**SHEETS, "Image-Comprehension": [HEADER, ["VQA", "ACC", 55, 60, 58]]}

    result = general_level_import(data=workbook_bytes(changed), filename="bench.xlsx")

    assert result.tasks.to_dict() == {"created": 0, "updated": 1, "unchanged": 2}
    assert result.scores.to_dict() == {"created": 0, "updated": 1, "unchanged": 5}
    assert Task.objects.get(name="VQA").sota == 55
    assert TaskScore.objects.get(model_name="Beta", task__name="VQA").score == 58
    assert Task.objects.count() == 3 and TaskScore.objects.count() == 6


def test_identical_reimport_changes_nothing_and_announces_nothing(django_capture_on_commit_callbacks):
    general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    before = _snapshot()
    with django_capture_on_commit_callbacks() as callbacks:
        result = general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    assert not result.changed and callbacks == []
    assert _snapshot() == before


def test_a_change_is_announced_on_commit(django_capture_on_commit_callbacks, monkeypatch):
    published: list[dict[str, str]] = []
    monkeypatch.setattr(
        general_level_services, "board_updated_publish", lambda **kwargs: published.append(kwargs)
    )
    with django_capture_on_commit_callbacks(execute=True):
        general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    assert [event["board"] for event in published] == ["general-level"]
    assert published[0]["version"]


def test_names_of_arena_models_are_stored_against_them():
    alpha = model_make(slug="alpha-7b", display_name="Alpha")
    beta = model_make(slug="beta", display_name="Beta Chat")

    result = general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")

    assert result.models_in_arena == {"Alpha": "alpha-7b", "Beta": "beta"}
    assert TaskScore.objects.filter(model=alpha).count() == 3
    assert TaskScore.objects.filter(model=beta).count() == 3
    assert not TaskScore.objects.filter(model=None).exists()
    assert Model.objects.count() == 2


def test_results_under_a_bare_name_are_linked_once_the_model_joins_the_arena():
    general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    alpha = model_make(slug="alpha", display_name="Alpha")
    other = {"NLP": [["Task", "Metrics", "SoTA Performance", "Gamma"], ["QA", "ACC", 60, 10]]}

    result = general_level_import(data=workbook_bytes(other), filename="gamma.xlsx")

    assert result.linked == ("Alpha",)
    assert TaskScore.objects.filter(model=alpha).count() == 3
    assert set(TaskScore.objects.filter(model=None).values_list("model_name", flat=True)) == {"Beta", "Gamma"}


def test_a_name_matching_two_arena_models_is_refused():
    model_make(slug="alpha-1", display_name="Alpha")
    model_make(slug="alpha-2", display_name="Alpha")
    with pytest.raises(InvalidInput, match="matches several arena models"):
        general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    assert Task.objects.count() == 0


def test_json_layout_imports_with_its_citation(tmp_path: Path):
    document = {
        "source": "Paper, Table 1",
        "tasks": [
            {"name": "ASR", "modality": "audio", "group": "comprehension", "metric": "WER", "sota": 5.0},
            {"name": "TTS", "modality": "audio", "group": "generation", "metric": "MOS", "sota": 4.0},
        ],
        "models": {"Alpha": {"scores": [4.0, None]}},
    }
    result = general_level_import(data=json.dumps(document).encode(), filename="paper.json")
    assert result.scores.created == 2
    assert set(Task.objects.values_list("source", flat=True)) == {"Paper, Table 1"}
    assert TaskScore.objects.get(task__name="TTS").score is None


@pytest.mark.parametrize(
    ("data", "filename", "error", "message"),
    [
        (b"{not json", "broken.json", InvalidInput, "broken.json is not valid JSON"),
        (json.dumps({"tasks": []}).encode(), "empty.json", InvalidInput, "'tasks' must be a non-empty list"),
        (
            json.dumps(
                {
                    "tasks": [
                        {
                            "name": "ASR",
                            "modality": "audio",
                            "group": "comprehension",
                            "metric": "ACC",
                            "sota": 5,
                        }
                    ],
                    "models": {"Alpha": {"scores": [1, 2]}},
                }
            ).encode(),
            "misaligned.json",
            InvalidInput,
            "has 2 scores but there are 1 tasks",
        ),
        (workbook_bytes({"Notes": [["x"]]}), "bench.xlsx", InvalidInput, "has no General-Bench sheet"),
        (b"PK\x03\x04 not really a zip", "bench.xlsx", InvalidInput, "is not an Excel .xlsx spreadsheet"),
        (b"model,score\nalpha,1\n", "scores.csv", UnsupportedMedia, "neither a General-Bench spreadsheet"),
        (
            workbook_bytes({"NLP": [HEADER, ["QA", "ACC", 60, 70, 50], ["QA", "ACC", 50, 1, 2]]}),
            "twice.xlsx",
            InvalidInput,
            "lists task 'QA' \\(nlp\\) twice",
        ),
    ],
)
def test_bad_files_are_refused_and_change_nothing(data, filename, error, message):
    general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    before = _snapshot()
    with pytest.raises(error, match=message):
        general_level_import(data=data, filename=filename)
    assert _snapshot() == before


def test_a_failure_halfway_through_the_writes_rolls_everything_back(monkeypatch):
    general_level_import(data=workbook_bytes(SHEETS), filename="bench.xlsx")
    before = _snapshot()
    changed = {
        **SHEETS,
        "Image-Comprehension": [HEADER, ["VQA", "ACC", 55, 61, 41], ["OCR", "ACC", 20, 30, 10]],
    }

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    # The tasks are written by then; the score writes fail.
    monkeypatch.setattr(TaskScore.objects, "bulk_update", fail)
    with pytest.raises(RuntimeError):
        general_level_import(data=workbook_bytes(changed), filename="bench.xlsx")
    assert _snapshot() == before


def test_management_command_imports_and_reports(tmp_path: Path):
    path = tmp_path / "bench.xlsx"
    path.write_bytes(workbook_bytes(SHEETS))
    out = io.StringIO()
    call_command("import_general_level", str(path), stdout=out)
    printed = out.getvalue()
    assert "3 tasks, 2 models, 4 scores" in printed
    assert "Scores: 6 created, 0 updated, 0 unchanged" in printed
    assert "skipped (unknown_sheet) sheet 'Notes'" in printed
    assert TaskScore.objects.count() == 6

    out = io.StringIO()
    call_command("import_general_level", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["written"]["scores"] == {"created": 0, "updated": 0, "unchanged": 6}


def test_management_command_refuses_a_bad_file_with_the_loaders_message(tmp_path: Path):
    path = tmp_path / "bench.xlsx"
    path.write_bytes(workbook_bytes({"Notes": [["x"]]}))
    with pytest.raises(CommandError, match="has no General-Bench sheet"):
        call_command("import_general_level", str(path))
    assert Task.objects.count() == 0


def test_a_metric_change_that_stored_scores_cannot_take_is_refused():
    def document(metric: str, model: str, score: float) -> bytes:
        task = {"name": "Gen", "modality": "image", "group": "generation", "metric": metric, "sota": 5}
        return json.dumps({"tasks": [task], "models": {model: {"scores": [score]}}}).encode()

    general_level_import(data=document("ACC", "Alpha", -5), filename="first.json")
    before = _snapshot()
    # FID cannot be negative, and Alpha's stored -5 would be read as a FID once the metric changes.
    with pytest.raises(InvalidInput, match="cannot be imported: with it, model 'Alpha', task 'Gen'"):
        general_level_import(data=document("FID", "Beta", 3), filename="second.json")
    assert _snapshot() == before
