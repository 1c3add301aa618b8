"""The worked example the explanation page renders: every step with this model's numbers."""

from __future__ import annotations

import json

import pytest

from leaderboard.general_level import (
    FormulaStep,
    GeneralLevelReport,
    ModalityExample,
    WorkedExample,
    general_level_explain,
    general_level_score,
    task_build,
)
from leaderboard.general_level.worked_example import SIGMA

TASKS = [
    task_build(name="ASR", modality="audio", group="comprehension", metric="ACC", sota=50),
    task_build(name="KWS", modality="audio", group="comprehension", metric="ACC", sota=50),
    task_build(name="TTS", modality="audio", group="generation", metric="WER", sota=10),
    task_build(name="Song", modality="audio", group="generation", metric="MOS", sota=3),
    task_build(name="QA", modality="nlp", group=None, metric="EM", sota=60),
]


def report(scores: list[float | None]) -> GeneralLevelReport:
    return general_level_score(tasks=TASKS, scores=scores, model="alpha")


@pytest.fixture
def example() -> WorkedExample:
    return general_level_explain(report=report([60.0, None, 5.0, 0.0, 90.0]))


def audio(example: WorkedExample) -> ModalityExample:
    return next(m for m in example.modalities if m.modality == "audio")


def step(steps: tuple[FormulaStep, ...], symbol: str) -> FormulaStep:
    return next(s for s in steps if s.symbol == symbol)


def test_tasks_show_raw_and_normalised_scores(example: WorkedExample) -> None:
    tts = next(t for t in audio(example).tasks if t.name == "TTS")
    assert (tts.raw, tts.score, tts.sota_raw, tts.sota_score) == (5.0, 95.0, 10.0, 90.0)
    assert tts.score_working == "100·(1 - 5/100) = 95.00"
    assert tts.sota_working == "100·(1 - 10/100) = 90.00"


def test_unsupported_and_no_output_tasks_say_why_they_score_zero(example: WorkedExample) -> None:
    by_name = {t.name: t for t in audio(example).tasks}
    assert by_name["KWS"].score_working == "unsupported → 0"
    assert not by_name["KWS"].supported
    assert by_name["Song"].score_working == "0 = no output → 0"


def test_tasks_that_beat_the_sota_are_listed(example: WorkedExample) -> None:
    assert audio(example).won_tasks == ("ASR", "TTS")
    assert example.language.won_tasks == ("QA",)


def test_group_means_substitute_the_scores(example: WorkedExample) -> None:
    steps = audio(example).steps
    assert [s.symbol for s in steps] == ["S_C2", "S_G2", "L2", "S_C", "S_G", "L3", "L4"]
    assert step(steps, "S_C2").substituted == "(1/2)·(60.00) = 30.00"
    assert step(steps, "S_G").formula == f"(1/N)·Σ{SIGMA}_G·[{SIGMA}_G ≥ {SIGMA}_sota]"
    assert step(steps, "S_G").substituted == "(1/2)·(95.00) = 47.50"


def test_level_formulas_substitute_the_group_scores(example: WorkedExample) -> None:
    steps = audio(example).steps
    assert step(steps, "L3").substituted == "(30.00 + 47.50)/2 = 38.75"
    assert step(steps, "L4").substituted == "2·30.00·47.50/(30.00 + 47.50) = 36.77"
    assert step(steps, "L4").value == pytest.approx(2 * 30 * 47.5 / 77.5)


def test_level4_step_names_the_group_that_makes_it_zero() -> None:
    example = general_level_explain(report=report([60.0, None, 20.0, 0.0, 90.0]))
    assert step(audio(example).steps, "L4").substituted == "S_G = 0 → 0.00"


def test_overall_steps_average_modalities_and_scale_level4(example: WorkedExample) -> None:
    level4 = step(example.overall, "L4")
    assert level4.formula == "(L4_image + L4_video + L4_audio + L4_3d)/4"
    assert level4.substituted == "(0.00 + 0.00 + 36.77 + 0.00)/4 = 9.19"
    assert step(example.overall, "L5").substituted == "9.19·90.00/100 = 8.27"
    assert step(example.language.steps, "S_L").substituted == "(1/1)·(90.00) = 90.00"


def test_level_reason_names_the_placed_level(example: WorkedExample) -> None:
    assert example.level == 5
    assert example.level_reason == "Level-5 is the highest level with a non-zero score (8.27)"


def test_level_reason_says_why_higher_levels_are_zero() -> None:
    example = general_level_explain(report=report([60.0, None, 20.0, 0.0, 90.0]))
    assert example.level == 3
    assert example.level_reason.startswith("Level-5 is 0 (it is Level-4·S_L/100 and Level-4")
    assert "Level-4 is 0 (no modality has tasks beating the SoTA in both" in example.level_reason


def test_specialist_only_model_is_explained_as_level_1() -> None:
    example = general_level_explain(report=report([None, None, None, None, None]))
    assert example.level == 1
    assert example.level_reason.endswith("so Level-1: a specialist-only model")
    assert step(audio(example).steps, "S_C2").substituted == "(1/2)·0 = 0.00"


def test_modality_without_tasks_says_so(example: WorkedExample) -> None:
    image = next(m for m in example.modalities if m.modality == "image")
    assert step(image.steps, "S_C").substituted == "no tasks → 0.00"


def test_to_dict_is_plain_json(example: WorkedExample) -> None:
    data = json.loads(json.dumps(example.to_dict()))
    assert data["model"] == "alpha"
    assert data["modalities"][2]["steps"][0]["symbol"] == "S_C2"
