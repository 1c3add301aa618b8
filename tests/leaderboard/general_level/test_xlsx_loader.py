"""Reading the General-Bench spreadsheet layout; each workbook is built here with openpyxl."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from leaderboard.general_level import (
    GeneralLevelImport,
    GeneralLevelInputError,
    Group,
    Modality,
    general_level_load_xlsx,
    general_level_parse_json,
)
from tests.factories import workbook_bytes

Rows = Sequence[Sequence[object]]
HEADER: list[object] = ["Task", "Metrics", "SoTA Performance", "alpha", "beta"]
SHEETS: dict[str, Rows] = {
    "Audio-Comprehension": [HEADER, ["ASR", "ACC", 50, 60, None]],
    "Audio-Generation": [HEADER, ["TTS", "WER", 10, 5, 20]],
    "NLP": [HEADER, ["QA", "EM", 60, 70, "-"]],
}


def workbook_save(path: Path, sheets: Mapping[str, Rows]) -> Path:
    path.write_bytes(workbook_bytes(sheets))
    return path


def load(tmp_path: Path, sheets: Mapping[str, Rows]) -> GeneralLevelImport:
    return general_level_load_xlsx(source=workbook_save(tmp_path / "bench.xlsx", sheets))


def kinds(imported: GeneralLevelImport) -> dict[str, int]:
    return imported.import_report.skipped_counts()


def test_sheets_give_tasks_models_and_scores(tmp_path: Path) -> None:
    imported = load(tmp_path, SHEETS)
    assert [(t.name, t.modality, t.group) for t in imported.tasks] == [
        ("ASR", Modality.AUDIO, Group.COMPREHENSION),
        ("TTS", Modality.AUDIO, Group.GENERATION),
        ("QA", Modality.NLP, None),
    ]
    assert imported.tasks[1].lower_is_better
    assert imported.model("alpha").scores == (60.0, 5.0, 70.0)
    assert imported.model("beta").scores == (None, 20.0, None)


def test_spreadsheet_and_json_of_the_same_data_score_alike(tmp_path: Path) -> None:
    from_json = general_level_parse_json(
        document={
            "tasks": [
                {"name": "ASR", "modality": "audio", "group": "comprehension", "metric": "ACC", "sota": 50},
                {"name": "TTS", "modality": "audio", "group": "generation", "metric": "WER", "sota": 10},
                {"name": "QA", "modality": "nlp", "metric": "EM", "sota": 60},
            ],
            "models": {"alpha": {"scores": [60, 5, 70]}, "beta": {"scores": [None, 20, None]}},
        }
    )
    from_xlsx = load(tmp_path, SHEETS)
    assert from_xlsx.tasks == from_json.tasks
    assert [m.report for m in from_xlsx.models] == [m.report for m in from_json.models]
    assert from_xlsx.model("alpha").report.level == 5


def test_import_report_says_what_was_read(tmp_path: Path) -> None:
    report = load(tmp_path, SHEETS).import_report
    assert report.sheets == ("Audio-Comprehension", "Audio-Generation", "NLP")
    assert (report.task_count, report.model_count, report.score_count) == (3, 2, 4)
    assert report.source.endswith("bench.xlsx")


def test_empty_cell_counts_as_unsupported_and_is_reported(tmp_path: Path) -> None:
    imported = load(tmp_path, SHEETS)
    empty = [s for s in imported.import_report.skipped if s.kind == "empty_cell"]
    assert len(empty) == 1
    assert empty[0].where == "sheet 'Audio-Comprehension', row 2 (task 'ASR'), model 'beta'"


@pytest.mark.parametrize("cell", ["-", "∞", "n/a", "inf"])
def test_non_numeric_cell_counts_as_unsupported_and_is_reported(tmp_path: Path, cell: str) -> None:
    imported = load(tmp_path, {"Audio-Generation": [HEADER, ["TTS", "WER", 10, cell, 5]]})
    assert imported.model("alpha").scores == (None,)
    skipped = imported.import_report.skipped
    assert [s.kind for s in skipped] == ["non_numeric_cell"]
    assert repr(cell) in skipped[0].why


def test_number_written_as_text_is_read(tmp_path: Path) -> None:
    imported = load(tmp_path, {"Audio-Generation": [HEADER, ["TTS", "WER", "10", " 7.5 ", 5]]})
    assert imported.tasks[0].sota == 10.0
    assert imported.model("alpha").scores == (7.5,)


def test_unknown_sheet_is_skipped_and_reported(tmp_path: Path) -> None:
    imported = load(tmp_path, {**SHEETS, "Notes": [["free text"]]})
    assert "Notes" not in imported.import_report.sheets
    assert kinds(imported)["unknown_sheet"] == 1


def test_unknown_metric_is_used_as_is_and_reported(tmp_path: Path) -> None:
    rows: Rows = [HEADER, ["Edit", "Style-CLAP", 28.16, 30, 20]]
    imported = load(tmp_path, {"Audio-Generation": rows})
    assert imported.model("alpha").report.modality(Modality.AUDIO).generation.won_count == 1
    assert kinds(imported) == {"unknown_metric": 1}


def test_metric_long_names_and_case_are_recognised(tmp_path: Path) -> None:
    rows: Rows = [HEADER, ["Mesh", "cd (Chamfer Distance)", 0.5, 0.4, 0.6]]
    imported = load(tmp_path, {"3D-Generation": rows})
    assert imported.tasks[0].rule.name == "CD"
    assert imported.tasks[0].modality is Modality.THREE_D
    assert kinds(imported) == {}


def test_row_without_sota_is_left_out_and_reported(tmp_path: Path) -> None:
    rows: Rows = [HEADER, ["ASR", "ACC", None, 60, 50], ["SER", "ACC", "-", 60, 50], ["KWS", "ACC", 40, 1, 2]]
    imported = load(tmp_path, {"Audio-Comprehension": rows})
    assert [t.name for t in imported.tasks] == ["KWS"]
    assert kinds(imported) == {"missing_sota": 2}


def test_blank_rows_are_passed_over_silently(tmp_path: Path) -> None:
    rows: Rows = [HEADER, [None, None, None], ["ASR", "ACC", 50, 60, 40], ["", " ", None, None, None]]
    imported = load(tmp_path, {"Audio-Comprehension": rows})
    assert len(imported.tasks) == 1
    assert kinds(imported) == {}


def test_row_with_values_but_no_task_name_is_reported(tmp_path: Path) -> None:
    rows: Rows = [HEADER, [None, "ACC", 50, 60, 40], ["ASR", "ACC", 50, 60, 40]]
    assert kinds(load(tmp_path, {"Audio-Comprehension": rows})) == {"unnamed_row": 1}


def test_model_missing_from_a_sheet_is_reported(tmp_path: Path) -> None:
    sheets: dict[str, Rows] = {
        **SHEETS,
        "Video-Comprehension": [["Task", "Metrics", "SoTA", "gamma"], ["VQA", "ACC", 50, 55]],
    }
    imported = load(tmp_path, sheets)
    assert imported.model("gamma").scores == (None, None, None, 55.0)
    missing = [s for s in imported.import_report.skipped if s.kind == "missing_model_column"]
    assert len(missing) == 5  # alpha and beta in Video, gamma in the other three sheets


def test_negative_distance_is_reported_as_invalid(tmp_path: Path) -> None:
    rows: Rows = [HEADER, ["Gen", "FID", 12, -3, 10]]
    imported = load(tmp_path, {"Image-Generation": rows})
    assert imported.model("alpha").scores == (None,)
    assert kinds(imported) == {"invalid_value": 1}


def test_header_may_sit_below_a_title(tmp_path: Path) -> None:
    rows: Rows = [["Audio comprehension results"], [], HEADER, ["ASR", "ACC", 50, 60, 40]]
    imported = load(tmp_path, {"Audio-Comprehension": rows})
    assert imported.model("beta").scores == (40.0,)


def test_dataset_column_may_name_the_tasks(tmp_path: Path) -> None:
    rows: Rows = [["Dataset", "Metric", "SoTA", "alpha"], ["LibriSpeech", "Word Error Rate", 2.5, 3.1]]
    imported = load(tmp_path, {"Audio-Generation": rows})
    assert imported.tasks[0].name == "LibriSpeech"
    assert imported.tasks[0].rule.name == "WER"


def test_specialist_name_column_is_not_a_model(tmp_path: Path) -> None:
    rows: Rows = [
        ["Task", "Metrics", "SoTA Performance", "SoTA Model", "alpha"],
        ["ASR", "ACC", 50, "Whisper", 60],
    ]
    imported = load(tmp_path, {"Audio-Comprehension": rows})
    assert [m.name for m in imported.models] == ["alpha"]


def test_duplicate_model_column_is_reported_and_ignored(tmp_path: Path) -> None:
    rows: Rows = [[*HEADER, "alpha"], ["ASR", "ACC", 50, 60, 40, 99]]
    imported = load(tmp_path, {"Audio-Comprehension": rows})
    assert imported.model("alpha").scores == (60.0,)
    assert kinds(imported) == {"duplicate_model_column": 1}


def test_column_with_values_but_no_model_name_is_reported(tmp_path: Path) -> None:
    rows: Rows = [[*HEADER, None], ["ASR", "ACC", 50, 60, 40, 99]]
    imported = load(tmp_path, {"Audio-Comprehension": rows})
    skipped = imported.import_report.skipped
    assert [(s.kind, s.where) for s in skipped] == [
        ("unnamed_column", "sheet 'Audio-Comprehension', column F")
    ]


@pytest.mark.parametrize("title", ["audio-comprehension", "Audio Comprehension", "AUDIO_COMPREHENSION"])
def test_sheet_names_are_read_loosely(tmp_path: Path, title: str) -> None:
    imported = load(tmp_path, {title: SHEETS["Audio-Comprehension"]})
    assert imported.import_report.sheets == (title,)


def test_open_binary_file_is_accepted(tmp_path: Path) -> None:
    path = workbook_save(tmp_path / "bench.xlsx", SHEETS)
    imported = general_level_load_xlsx(source=io.BytesIO(path.read_bytes()))
    assert imported.model("alpha").report.level == 5


def test_file_that_is_not_a_spreadsheet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scores.xlsx"
    path.write_text("Task,Metrics\n", encoding="utf-8")
    with pytest.raises(GeneralLevelInputError, match=r"is not an Excel \.xlsx spreadsheet"):
        general_level_load_xlsx(source=path)


def test_sheet_without_required_columns_is_refused(tmp_path: Path) -> None:
    rows: Rows = [["Task", "Score", "alpha"], ["ASR", 50, 60]]
    with pytest.raises(GeneralLevelInputError, match="sheet 'Audio-Comprehension': no header row"):
        load(tmp_path, {"Audio-Comprehension": rows})


def test_workbook_without_general_bench_sheets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeneralLevelInputError, match=r"has no General-Bench sheet.*'Sheet1'"):
        load(tmp_path, {"Sheet1": [HEADER]})


def test_workbook_without_usable_task_rows_is_refused(tmp_path: Path) -> None:
    rows: Rows = [HEADER, ["ASR", "ACC", None, 60, 40]]
    with pytest.raises(GeneralLevelInputError, match="no task rows with a SoTA score"):
        load(tmp_path, {"Audio-Comprehension": rows})
