"""The paper's published audio Level-2/3/4, recomputed from its per-task tables.

Data: tests/fixtures/general-level/audio_paper_tables.json (see the README beside it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from leaderboard.general_level import (
    GeneralLevelImport,
    Modality,
    ModalityScore,
    general_level_load_json,
)
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "general-level" / "audio_paper_tables.json"
TOLERANCE = 0.011  # the paper prints two decimals
MODELS: dict[str, dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["models"]
REPRODUCIBLE = sorted(name for name, row in MODELS.items() if row.get("reproducible"))
WITH_PUBLISHED_L4 = sorted(name for name, row in MODELS.items() if "L4" in row.get("published", {}))


@pytest.fixture(scope="module")
def imported() -> GeneralLevelImport:
    return general_level_load_json(source=FIXTURE)


def audio_of(imported: GeneralLevelImport, name: str) -> ModalityScore:
    return imported.model(name).report.modality(Modality.AUDIO)


def test_fixture_has_reproducible_rows_to_check() -> None:
    assert len(REPRODUCIBLE) >= 10


@pytest.mark.parametrize("name", REPRODUCIBLE)
def test_published_audio_level2_is_reproduced(imported: GeneralLevelImport, name: str) -> None:
    published = MODELS[name]["published"]["L2"]
    assert audio_of(imported, name).level2 == pytest.approx(published, abs=TOLERANCE)


@pytest.mark.parametrize("name", REPRODUCIBLE)
def test_published_audio_level3_is_reproduced(imported: GeneralLevelImport, name: str) -> None:
    published = MODELS[name]["published"]["L3"]
    assert audio_of(imported, name).level3 == pytest.approx(published, abs=TOLERANCE)


@pytest.mark.parametrize("name", WITH_PUBLISHED_L4)
def test_published_audio_level4_is_reproduced(imported: GeneralLevelImport, name: str) -> None:
    # Every published audio Level-4 is 0: no model beats the SoTA in both audio groups.
    audio = audio_of(imported, name)
    assert audio.level4 == pytest.approx(MODELS[name]["published"]["L4"], abs=TOLERANCE)
    assert audio.comprehension.winning_mean == 0 or audio.generation.winning_mean == 0


def test_audio_only_models_place_at_level_3_at_most(imported: GeneralLevelImport) -> None:
    levels = {m.name: m.report.level for m in imported.models}
    assert max(levels.values()) == 3
    assert levels["Qwen-Audio-Chat"] == 3
    assert levels["SpeechGPT"] == 2


def test_overall_scores_are_the_audio_scores_over_four_modalities(
    imported: GeneralLevelImport,
) -> None:
    report = imported.model("Qwen-Audio-Chat").report
    assert report.level3 == pytest.approx(report.modality(Modality.AUDIO).level3 / 4)


def test_loader_reads_every_task_model_and_score(imported: GeneralLevelImport) -> None:
    read = imported.import_report
    assert (read.task_count, read.model_count) == (44, 16)
    expected_scores = sum(1 for row in MODELS.values() for s in row["scores"] if s is not None)
    assert read.score_count == expected_scores


def test_loader_notes_metrics_it_uses_as_is(imported: GeneralLevelImport) -> None:
    noted = {s.why.split("'")[1] for s in imported.import_report.skipped}
    assert noted == {"BLUE_1", "E-Acc", "Style-CLAP"}


def test_won_tasks_are_counted(imported: GeneralLevelImport) -> None:
    audio = audio_of(imported, "AudioGPT")
    assert (audio.supported_count, audio.won_count) == (18, 2)
    assert [t.task.name for t in audio.tasks if t.won] == ["EmoStyleTransfer", "1CaptionToAudio"]
