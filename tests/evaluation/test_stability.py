import json
import math

import pytest

from evaluation.analyses.stability import StabilityResult, stability_compute


def _run(right: int, total: int = 4) -> dict[str, bool]:
    return {f"item-{i}": i < right for i in range(total)}


# Accuracies 1.0, 0.75, 0.5, 0.5, 0.25: mean 0.6, squared deviations sum to 0.325 over 5 wordings.
RUNS = {"w1": _run(4), "w2": _run(3), "w3": _run(2), "w4": _run(2), "w5": _run(1)}


def test_best_mean_and_population_std_over_wordings():
    result = stability_compute(correct_by_wording=RUNS)
    assert (result.best_wording, result.best) == ("w1", 1.0)
    assert result.mean == pytest.approx(0.6)
    assert result.std == pytest.approx(math.sqrt(0.065))
    assert [score.accuracy for score in result.wordings] == [1.0, 0.75, 0.5, 0.5, 0.25]


def test_the_same_accuracy_under_every_wording_has_no_spread():
    result = stability_compute(correct_by_wording={f"w{i}": _run(2) for i in range(5)})
    assert result.std == 0.0


def test_a_tie_for_best_goes_to_the_first_wording_by_name():
    runs = {"e": _run(4), "b": _run(4), "c": _run(1), "d": _run(1), "a": _run(1)}
    assert stability_compute(correct_by_wording=runs).best_wording == "b"


def test_fewer_than_five_wordings_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="at least 5 instruction wordings; 4 were given"):
        stability_compute(correct_by_wording={f"w{i}": _run(2) for i in range(4)})


def test_wordings_run_on_different_items_are_refused():
    runs = {**RUNS, "w5": _run(1, total=3)}
    with pytest.raises(ValueError, match="same items"):
        stability_compute(correct_by_wording=runs)


def test_the_result_survives_json():
    result = stability_compute(correct_by_wording=RUNS)
    assert StabilityResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
