"""Reading the JSON layout, and refusing bad input with messages a person can act on."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from leaderboard.general_level import (
    GeneralLevelInputError,
    Modality,
    general_level_load_json,
    general_level_parse_json,
)


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tasks": [
            {"name": "ASR", "modality": "audio", "group": "comprehension", "metric": "ACC", "sota": 50},
            {
                "name": "TTS",
                "modality": "audio",
                "group": "generation",
                "metric": "WER",
                "sota": 10,
                "lower_is_better": True,
            },
            {"name": "QA", "modality": "nlp", "group": None, "metric": "EM", "sota": 60},
        ],
        "models": [
            {"name": "alpha", "scores": [60, 5, 70]},
            {"name": "beta", "scores": [None, 20, None]},
        ],
    }
    base.update(changes)
    return base


def test_list_layout_gives_tasks_and_scored_models() -> None:
    imported = general_level_parse_json(document=document())
    assert [t.name for t in imported.tasks] == ["ASR", "TTS", "QA"]
    assert imported.tasks[2].modality is Modality.NLP
    alpha = imported.model("alpha")
    assert alpha.scores == (60.0, 5.0, 70.0)
    assert alpha.report.level == 5
    assert imported.model("beta").report.level == 2


def test_models_may_be_keyed_by_name() -> None:
    keyed = document(models={"alpha": {"scores": [60, 5, 70], "published": {"L2": 1}}})
    imported = general_level_parse_json(document=keyed)
    assert [m.name for m in imported.models] == ["alpha"]


def test_file_path_and_open_file_give_the_same_result(tmp_path: Path) -> None:
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    from_path = general_level_load_json(source=path)
    from_file = general_level_load_json(source=io.BytesIO(path.read_bytes()))
    assert from_path.models == from_file.models
    assert from_path.import_report.source == str(path)


def test_import_report_counts_what_was_read() -> None:
    report = general_level_parse_json(document=document()).import_report
    assert (report.task_count, report.model_count, report.score_count) == (3, 2, 4)
    assert report.sheets == ()
    assert report.skipped == ()


def test_unknown_metric_is_reported_as_used_as_is() -> None:
    doc = document()
    doc["tasks"][0]["metric"] = "Style-CLAP"
    report = general_level_parse_json(document=doc).import_report
    assert report.skipped_counts() == {"unknown_metric": 1}
    assert "task 'ASR'" in report.skipped[0].where


def test_to_dict_holds_each_models_report_and_the_import_report() -> None:
    data = general_level_parse_json(document=document()).to_dict()
    assert data["models"]["alpha"]["level"] == 5
    assert data["import_report"]["read"]["scores"] == 4


def test_invalid_json_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(GeneralLevelInputError, match=r"broken\.json is not valid JSON"):
        general_level_load_json(source=path)


@pytest.mark.parametrize("bad", [[], {"tasks": "x"}, {"models": []}])
def test_document_without_task_list_is_refused(bad: object) -> None:
    with pytest.raises(GeneralLevelInputError, match="'tasks'"):
        general_level_parse_json(document=bad)


def test_wrong_number_of_scores_names_the_model() -> None:
    doc = document(models=[{"name": "alpha", "scores": [1, 2]}])
    with pytest.raises(GeneralLevelInputError, match="model 'alpha' has 2 scores but there are 3"):
        general_level_parse_json(document=doc)


def test_unknown_modality_names_the_task_and_row() -> None:
    doc = document()
    doc["tasks"][1]["modality"] = "speech"
    with pytest.raises(GeneralLevelInputError, match=r"task 2: task 'TTS': unknown modality"):
        general_level_parse_json(document=doc)


@pytest.mark.parametrize("bad", ["12.5", "-", True, [1]])
def test_non_numeric_score_names_model_and_task(bad: object) -> None:
    doc = document(models=[{"name": "alpha", "scores": [60, bad, 70]}])
    with pytest.raises(GeneralLevelInputError, match=r"model 'alpha', task 2 \('TTS'\)"):
        general_level_parse_json(document=doc)


def test_non_numeric_sota_names_the_task() -> None:
    doc = document()
    doc["tasks"][0]["sota"] = "n/a"
    with pytest.raises(GeneralLevelInputError, match=r"task 1 \('ASR'\): 'sota'"):
        general_level_parse_json(document=doc)


def test_missing_group_names_the_task() -> None:
    doc = document()
    del doc["tasks"][0]["group"]
    with pytest.raises(GeneralLevelInputError, match="task 'ASR': audio tasks need a group"):
        general_level_parse_json(document=doc)


def test_conflicting_direction_names_the_task() -> None:
    doc = document()
    doc["tasks"][1]["lower_is_better"] = False
    with pytest.raises(GeneralLevelInputError, match="task 'TTS': metric 'WER'"):
        general_level_parse_json(document=doc)


def test_model_listed_twice_is_refused() -> None:
    doc = document(models=[{"name": "a", "scores": [1, 2, 3]}, {"name": "a", "scores": [1, 2, 3]}])
    with pytest.raises(GeneralLevelInputError, match="model 'a' is listed twice"):
        general_level_parse_json(document=doc)


def test_model_without_name_is_refused() -> None:
    with pytest.raises(GeneralLevelInputError, match="model 1 has no 'name'"):
        general_level_parse_json(document=document(models=[{"scores": [1, 2, 3]}]))


def test_negative_error_score_names_model_and_task() -> None:
    doc = document(models=[{"name": "alpha", "scores": [60, -3, 70]}])
    with pytest.raises(GeneralLevelInputError, match="model 'alpha', task 'TTS': WER cannot"):
        general_level_parse_json(document=doc)


def test_errors_are_value_errors() -> None:
    assert issubclass(GeneralLevelInputError, ValueError)
