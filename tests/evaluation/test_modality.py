import json

import pytest

from evaluation.analyses.modality import BenchmarkModality, ModalityTrial, modality_importance_compute


def _trial(item_id, right, *, benchmark="video-qa", **without):
    return ModalityTrial.of(
        item_id=item_id, benchmark=benchmark, correct_with_all=right, correct_without=without
    )


# 1 needs both, 2 needs the video only, 3 needs neither, 4 is wrong even with everything.
BIASED = [
    _trial("1", True, video=False, audio=False),
    _trial("2", True, video=False, audio=True),
    _trial("3", True, video=True, audio=True),
    _trial("4", False, video=True, audio=False),
]
INTEGRATED = [_trial(str(i), True, benchmark="integrated", video=False, audio=False) for i in range(2)]


def test_a_modality_is_needed_when_removing_it_turns_a_right_answer_wrong():
    assert BIASED[0].needed() == ("audio", "video")
    assert BIASED[1].needed() == ("video",)
    assert BIASED[2].needed() == ()
    assert BIASED[3].needed() == ()


def test_shares_of_answered_items_that_need_each_modality():
    (summary,) = modality_importance_compute(trials=BIASED)
    assert (summary.items, summary.answered, summary.accuracy_with_all) == (4, 3, 0.75)
    audio, video = summary.modalities
    assert (video.modality, video.needed, video.share) == ("video", 2, pytest.approx(2 / 3))
    assert (audio.modality, audio.needed, audio.share) == ("audio", 1, pytest.approx(1 / 3))
    assert video.accuracy_without == 0.5
    assert audio.accuracy_without == 0.5


def test_a_benchmark_mostly_answered_from_one_modality_is_flagged():
    (summary,) = modality_importance_compute(trials=BIASED)
    assert summary.one_modality_share == pytest.approx(2 / 3)
    assert summary.answerable_from_one_modality


def test_a_benchmark_whose_items_need_the_modalities_together_is_not_flagged():
    integrated, _ = modality_importance_compute(trials=[*INTEGRATED, *BIASED])
    assert integrated.benchmark == "integrated"
    assert integrated.one_modality_share == 0.0
    assert not integrated.answerable_from_one_modality


def test_the_threshold_decides_the_flag():
    (summary,) = modality_importance_compute(trials=BIASED, threshold=0.7)
    assert not summary.answerable_from_one_modality


def test_items_with_a_single_modality_are_left_out():
    summaries = modality_importance_compute(trials=[_trial("x", True, benchmark="image-only", image=False)])
    assert summaries == ()


def test_a_benchmark_with_nothing_answered_has_no_shares_and_no_flag():
    (summary,) = modality_importance_compute(trials=[_trial("1", False, video=False, audio=False)])
    assert summary.one_modality_share is None
    assert summary.modalities[0].share is None
    assert not summary.answerable_from_one_modality


def test_an_item_given_twice_is_refused():
    with pytest.raises(ValueError, match="given twice"):
        modality_importance_compute(trials=[BIASED[0], BIASED[0]])


def test_results_and_trials_survive_json():
    (summary,) = modality_importance_compute(trials=BIASED)
    assert BenchmarkModality.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary
    assert ModalityTrial.from_dict(json.loads(json.dumps(BIASED[1].to_dict()))) == BIASED[1]
