"""The General-Level formulas on hand-made task sets small enough to check by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from leaderboard.general_level import (
    GeneralLevelInputError,
    GeneralLevelReport,
    Modality,
    Task,
    general_level_score,
    task_build,
)


def task(
    name: str,
    modality: str = "audio",
    group: str | None = "comprehension",
    sota: float = 50.0,
    metric: str = "ACC",
) -> Task:
    return task_build(name=name, modality=modality, group=group, metric=metric, sota=sota)


def score(tasks: Sequence[Task], scores: Sequence[float | None]) -> GeneralLevelReport:
    return general_level_score(tasks=tasks, scores=scores, model="m")


AUDIO_C = [task("c1"), task("c2")]
AUDIO_G = [task("g1", group="generation")]


def test_level2_averages_every_task_with_unsupported_ones_as_zero() -> None:
    audio = score([*AUDIO_C, *AUDIO_G], [40.0, None, 30.0]).modality(Modality.AUDIO)
    assert audio.comprehension.mean == pytest.approx(20.0)
    assert audio.generation.mean == pytest.approx(30.0)
    assert audio.level2 == pytest.approx(25.0)


def test_level3_keeps_only_scores_that_beat_the_sota() -> None:
    audio = score([*AUDIO_C, *AUDIO_G], [60.0, 40.0, 70.0]).modality(Modality.AUDIO)
    assert audio.comprehension.winning_mean == pytest.approx(30.0)
    assert audio.generation.winning_mean == pytest.approx(70.0)
    assert audio.level3 == pytest.approx(50.0)


def test_level4_is_the_harmonic_mean_when_both_groups_win() -> None:
    audio = score([*AUDIO_C, *AUDIO_G], [60.0, 40.0, 70.0]).modality(Modality.AUDIO)
    assert audio.level4 == pytest.approx(2 * 30.0 * 70.0 / (30.0 + 70.0))


def test_level4_is_zero_when_only_one_group_wins() -> None:
    audio = score([*AUDIO_C, *AUDIO_G], [60.0, 40.0, 45.0]).modality(Modality.AUDIO)
    assert audio.level3 == pytest.approx(15.0)
    assert audio.level4 == 0.0


def test_tie_with_the_sota_counts_as_beating_it() -> None:
    audio = score([*AUDIO_C, *AUDIO_G], [50.0, 49.99, 50.0]).modality(Modality.AUDIO)
    assert [t.won for t in audio.tasks] == [True, False, True]
    assert audio.level4 == pytest.approx(2 * 25.0 * 50.0 / 75.0)


def test_lower_is_better_metric_wins_with_a_smaller_or_equal_raw_value() -> None:
    tasks = [task(f"fid{i}", group="generation", metric="FID", sota=12.0) for i in range(3)]
    audio = score(tasks, [12.0, 11.0, 13.0]).modality(Modality.AUDIO)
    assert [t.won for t in audio.tasks] == [True, True, False]


def test_sota_is_normalised_before_the_comparison() -> None:
    # Raw 94 > raw 5.6 but on WER that is far worse: 6 against 94.4 after normalisation.
    wer = task("tts", group="generation", metric="Word Error Rate", sota=5.6)
    scored = score([wer], [94.0]).modality(Modality.AUDIO).tasks[0]
    assert scored.sota_score == pytest.approx(94.4)
    assert scored.score == pytest.approx(6.0)
    assert not scored.won


def test_unsupported_task_stays_in_the_denominator() -> None:
    tasks = [task("c1"), task("c2"), task("c3"), task("c4")]
    audio = score(tasks, [80.0, None, None, None]).modality(Modality.AUDIO)
    assert audio.comprehension.mean == pytest.approx(20.0)
    assert audio.comprehension.winning_mean == pytest.approx(20.0)
    assert audio.supported_count == 1


def test_unsupported_task_never_wins_even_against_a_zero_sota() -> None:
    audio = score([task("c1", sota=0.0)], [None]).modality(Modality.AUDIO)
    assert not audio.tasks[0].won
    assert audio.won_count == 0


def test_no_output_on_a_mapped_metric_never_wins() -> None:
    mos = task("speech", group="generation", metric="MOS", sota=0.0)
    audio = score([mos], [0.0]).modality(Modality.AUDIO)
    assert audio.tasks[0].supported
    assert not audio.tasks[0].won


def test_modality_without_generation_tasks_counts_the_empty_group_as_zero() -> None:
    audio = score(AUDIO_C, [60.0, 80.0]).modality(Modality.AUDIO)
    assert audio.generation.task_count == 0
    assert audio.generation.mean == 0.0
    assert audio.level2 == pytest.approx(70.0 / 2)
    assert audio.level3 == pytest.approx(70.0 / 2)
    assert audio.level4 == 0.0


def test_modality_without_comprehension_tasks_counts_the_empty_group_as_zero() -> None:
    audio = score(AUDIO_G, [60.0]).modality(Modality.AUDIO)
    assert audio.comprehension.task_count == 0
    assert audio.level2 == pytest.approx(30.0)
    assert audio.level3 == pytest.approx(30.0)
    assert audio.level4 == 0.0


def test_modality_without_any_tasks_scores_zero() -> None:
    report = score(AUDIO_C, [60.0, 80.0])
    image = report.modality(Modality.IMAGE)
    assert (image.level2, image.level3, image.level4) == (0.0, 0.0, 0.0)
    assert image.tasks == ()


def test_overall_levels_average_all_four_modalities() -> None:
    tasks = [
        *AUDIO_C,
        *AUDIO_G,
        task("i1", modality="image"),
        task("i2", modality="image", group="generation"),
    ]
    report = score(tasks, [60.0, 40.0, 70.0, 100.0, 100.0])
    audio, image = report.modality(Modality.AUDIO), report.modality(Modality.IMAGE)
    assert report.level2 == pytest.approx((audio.level2 + image.level2) / 4)
    assert report.level3 == pytest.approx((audio.level3 + image.level3) / 4)
    assert report.level4 == pytest.approx((audio.level4 + image.level4) / 4)
    assert [m.modality.value for m in report.modalities] == ["image", "video", "audio", "3d"]


def test_unsupported_modality_counts_zero_in_the_overall() -> None:
    tasks = [*AUDIO_C, *AUDIO_G, task("v1", modality="video")]
    report = score(tasks, [60.0, 40.0, 70.0, None])
    assert report.modality(Modality.VIDEO).level2 == 0.0
    assert report.level4 == pytest.approx(report.modality(Modality.AUDIO).level4 / 4)


LANGUAGE = [
    task("n1", modality="nlp", group=None, sota=70.0),
    task("n2", modality="nlp", group=None, sota=60.0),
]


def test_level5_scales_the_overall_level4_by_language_wins() -> None:
    report = score([*AUDIO_C, *AUDIO_G, *LANGUAGE], [60.0, 40.0, 70.0, 80.0, 50.0])
    assert report.language.winning_mean == pytest.approx(40.0)
    assert report.language.won_count == 1
    assert report.level4 == pytest.approx(42.0 / 4)
    assert report.level5 == pytest.approx(42.0 / 4 * 0.4)
    assert report.level == 5


def test_level5_is_zero_without_language_wins() -> None:
    report = score([*AUDIO_C, *AUDIO_G, *LANGUAGE], [60.0, 40.0, 70.0, 10.0, None])
    assert report.level5 == 0.0
    assert report.level == 4


def test_level5_is_zero_without_language_tasks() -> None:
    report = score([*AUDIO_C, *AUDIO_G], [60.0, 40.0, 70.0])
    assert report.language.task_count == 0
    assert report.level5 == 0.0


def test_language_wins_alone_do_not_lift_level5() -> None:
    report = score([*AUDIO_C, *AUDIO_G, *LANGUAGE], [60.0, 40.0, 10.0, 90.0, 90.0])
    assert report.language.winning_mean == pytest.approx(90.0)
    assert report.level5 == 0.0


def test_language_tasks_do_not_enter_the_modality_levels() -> None:
    report = score([*AUDIO_C, *LANGUAGE], [None, None, 90.0, 90.0])
    assert report.level2 == 0.0
    assert all(not m.tasks for m in report.modalities if m.modality is not Modality.AUDIO)


@pytest.mark.parametrize(
    ("scores", "level"),
    [
        ([None, None, None, None, None], 1),
        ([0.0, 0.0, 0.0, None, None], 1),
        ([10.0, 20.0, 30.0, 90.0, 90.0], 2),
        ([60.0, 20.0, 30.0, 90.0, 90.0], 3),
        ([60.0, 20.0, 70.0, 10.0, 10.0], 4),
        ([60.0, 20.0, 70.0, 70.0, 10.0], 5),
    ],
)
def test_level_placed_is_the_highest_non_zero_level(scores: list[float | None], level: int) -> None:
    assert score([*AUDIO_C, *AUDIO_G, *LANGUAGE], scores).level == level


def test_scores_must_align_with_tasks() -> None:
    with pytest.raises(GeneralLevelInputError, match="model 'm' has 2 scores for 3 tasks"):
        score([*AUDIO_C, *AUDIO_G], [1.0, 2.0])


@pytest.mark.parametrize("bad", ["12", True, float("nan")])
def test_non_numeric_score_is_refused_naming_model_and_task(bad: object) -> None:
    with pytest.raises(GeneralLevelInputError, match="model 'm', task 'c2'"):
        score(AUDIO_C, [1.0, bad])  # type: ignore[list-item]


def test_to_dict_has_the_cli_contract_shape() -> None:
    data = score([*AUDIO_C, *AUDIO_G, *LANGUAGE], [60.0, 40.0, 70.0, 80.0, 50.0]).to_dict()
    assert set(data) >= {"modalities", "overall", "level"}
    assert list(data["modalities"]) == ["image", "video", "audio", "3d"]
    assert all(set(m) == {"L2", "L3", "L4"} for m in data["modalities"].values())
    assert set(data["overall"]) == {"L2", "L3", "L4", "L5"}
    assert data["level"] == 5
    assert data["modalities"]["audio"]["L4"] == pytest.approx(42.0)


def test_api_dict_counts_supported_and_won_tasks_per_modality() -> None:
    data = score([*AUDIO_C, *AUDIO_G, *LANGUAGE], [60.0, None, 70.0, 80.0, 50.0]).to_api_dict()
    audio = data["modalities"]["audio"]
    assert (audio["tasks"], audio["supported"], audio["won"]) == (3, 2, 2)
    assert audio["comprehension"] == {
        "tasks": 2,
        "supported": 1,
        "won": 1,
        "mean": pytest.approx(30.0),
        "winning_mean": pytest.approx(30.0),
    }
    assert audio["S_C"] == pytest.approx(30.0)
    assert audio["S_G"] == pytest.approx(70.0)
    assert data["language"]["S_L"] == pytest.approx(40.0)
    assert (data["language"]["supported"], data["language"]["won"]) == (2, 1)
    assert data["modalities"]["image"]["tasks"] == 0


def test_task_needs_a_known_modality() -> None:
    with pytest.raises(GeneralLevelInputError, match=r"task 'x': unknown modality 'speech'"):
        task("x", modality="speech")


def test_non_language_task_needs_a_group() -> None:
    with pytest.raises(GeneralLevelInputError, match="audio tasks need a group"):
        task("x", group=None)


def test_group_of_a_language_task_is_ignored() -> None:
    assert task("x", modality="nlp", group="comprehension").group is None


def test_modality_and_group_names_are_case_insensitive() -> None:
    built = task("x", modality="3D", group="Generation")
    assert (built.modality.value, built.group and built.group.value) == ("3d", "generation")


def test_direction_must_agree_with_the_metric_table() -> None:
    with pytest.raises(GeneralLevelInputError, match="'FID' is lower-is-better"):
        task_build(
            name="x",
            modality="image",
            group="generation",
            metric="FID",
            sota=9.0,
            lower_is_better=False,
        )


def test_unknown_lower_is_better_metric_is_refused() -> None:
    with pytest.raises(GeneralLevelInputError, match="no known mapping"):
        task_build(
            name="x",
            modality="image",
            group="generation",
            metric="LPIPS",
            sota=0.2,
            lower_is_better=True,
        )
