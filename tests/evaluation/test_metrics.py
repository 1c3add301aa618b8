"""Metrics on hand-computed cases and on reference predictors (oracle, always-A, seeded random)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from evaluation.answers import choice_extract
from evaluation.items import Item
from evaluation.metrics import (
    METRICS,
    ItemResult,
    MetricError,
    acc_plus,
    accuracy,
    anls,
    anls_score,
    answer_normalised,
    bootstrap_interval,
    chance_normalised,
    circular_accuracy,
    ece,
    exact_match,
    exact_match_score,
    expected_calibration_error,
    f1,
    levenshtein,
    precision,
    recall,
    scores_by_category,
    yes_ratio,
)
from evaluation.recipes import Instruction, Recipe, prompts_for

ASK = Instruction(name="ask", template="{question}\n{options}")
CIRCULAR = Recipe(
    name="test-metrics-circular",
    benchmark="balanced",
    instructions=(ASK,),
    inferencer="circular",
    metrics=("accuracy", "circular_accuracy"),
)


def result(item_id: str, correct: bool, **fields: object) -> ItemResult:
    values: dict[str, object] = {
        "item_id": item_id,
        "category": "all",
        "prediction": "",
        "extracted": None,
        "correct": correct,
    }
    values.update(fields)
    return ItemResult(**values)  # type: ignore[arg-type]


def yesno(item_id: str, said: str | None, answer: str) -> ItemResult:
    return result(item_id, said == answer, extracted=said, references=(answer,), option_count=2)


def balanced_items(count: int = 100) -> list[Item]:
    """Four-option items whose right letters cycle A, B, C, D: each letter right for a quarter."""
    return [
        Item(
            id=f"item-{index}",
            benchmark="balanced",
            category="odd" if index % 2 else "even",
            sub_category="",
            question=f"Which is option {index}?",
            options=("north", "east", "south", "west"),
            answer="ABCD"[index % 4],
            answer_type="choice",
        )
        for index in range(count)
    ]


def scored_run(items: list[Item], predictor) -> list[ItemResult]:
    """Every rotation of every item asked of `predictor(prompt)`, read by choice_extract and scored."""
    results = []
    for item in items:
        for prompt in prompts_for(item=item, recipe=CIRCULAR, instruction=ASK):
            text = predictor(prompt)
            letter = choice_extract(answer_text=text, options=prompt.options)
            results.append(
                ItemResult(
                    item_id=item.id,
                    category=item.category,
                    prediction=text,
                    extracted=letter,
                    correct=letter == prompt.answer,
                    references=(prompt.answer,),
                    rotation=prompt.rotation,
                    option_count=len(prompt.options),
                )
            )
    return results


def oracle(prompt) -> str:
    return f"The answer is {prompt.answer}."


def always_a(prompt) -> str:
    return "A"


def seeded_random(seed: int):
    rng = random.Random(seed)
    return lambda prompt: rng.choice("ABCD")


def test_oracle_scores_everything() -> None:
    results = scored_run(balanced_items(), oracle)
    assert accuracy(results=results) == 1.0
    assert circular_accuracy(results=results) == 1.0
    assert chance_normalised(results=results) == 1.0


def test_always_a_scores_a_quarter_and_no_circular_item() -> None:
    results = scored_run(balanced_items(), always_a)
    assert accuracy(results=results) == pytest.approx(0.25, abs=0.01)
    assert circular_accuracy(results=results) == 0.0
    assert chance_normalised(results=results) == pytest.approx(0.0, abs=0.02)


def test_a_seeded_random_predictor_scores_near_chance() -> None:
    results = scored_run(balanced_items(2000), seeded_random(7))
    # 2000 items at p = 0.25: the standard error is about 0.01, so 0.05 is five of them.
    assert accuracy(results=results) == pytest.approx(0.25, abs=0.05)
    assert chance_normalised(results=results) == pytest.approx(0.0, abs=0.07)
    # Guessing all four rotations right: 0.25 ** 4, about 0.004.
    assert circular_accuracy(results=results) < 0.02


def test_accuracy_reads_each_item_on_its_unrotated_asking() -> None:
    results = [result("q1", True), result("q1", False, rotation=1), result("q2", False)]
    assert accuracy(results=results) == 0.5
    assert circular_accuracy(results=results) == 0.0


def test_circular_accuracy_needs_every_rotation_right() -> None:
    results = [
        result("q1", True),
        result("q1", True, rotation=1),
        result("q2", True),
        result("q2", False, rotation=1),
    ]
    assert circular_accuracy(results=results) == 0.5


def test_acc_plus_counts_an_image_when_both_its_questions_are_right() -> None:
    results = [
        yesno("img1-q1", "yes", "yes"),
        yesno("img1-q2", "no", "no"),
        yesno("img2-q1", "yes", "yes"),
        yesno("img2-q2", "yes", "no"),
    ]
    results = [replace(r, group=r.item_id.split("-")[0]) for r in results]
    assert accuracy(results=results) == 0.75
    assert acc_plus(results=results) == 0.5


def test_yes_no_precision_recall_f1_and_yes_ratio() -> None:
    # TP 2, FP 1, FN 1, TN 1 (the unread answer counts as not "yes").
    results = [
        yesno("1", "yes", "yes"),
        yesno("2", "yes", "yes"),
        yesno("3", "yes", "no"),
        yesno("4", "no", "yes"),
        yesno("5", None, "no"),
    ]
    assert precision(results=results) == pytest.approx(2 / 3)
    assert recall(results=results) == pytest.approx(2 / 3)
    assert f1(results=results) == pytest.approx(2 / 3)
    assert yes_ratio(results=results) == pytest.approx(3 / 5)


def test_precision_is_zero_when_nothing_is_answered_yes() -> None:
    results = [yesno("1", "no", "yes"), yesno("2", "no", "no")]
    assert (precision(results=results), recall(results=results), f1(results=results)) == (0.0, 0.0, 0.0)
    assert yes_ratio(results=results) == 0.0


def test_precision_refuses_results_that_are_not_yes_no() -> None:
    with pytest.raises(MetricError, match="yes/no"):
        precision(results=[result("1", True, extracted="B", references=("B",))])


@pytest.mark.parametrize(
    ("first", "second", "distance"),
    [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("same", "same", 0)],
)
def test_levenshtein_known_distances(first: str, second: str, distance: int) -> None:
    assert levenshtein(first, second) == distance
    assert levenshtein(second, first) == distance


@pytest.mark.parametrize(
    ("prediction", "references", "score"),
    [
        ("Hello", ["hello"], 1.0),  # lowercased
        ("  new   york ", ["New York"], 1.0),  # whitespace collapsed
        ("kitten", ["sitting"], 1 - 3 / 7),  # NL 3/7 < 0.5
        ("abcd", ["abxy"], 0.0),  # NL exactly 0.5 is not below the threshold
        ("abcde", ["abxye"], 0.6),  # NL 2/5
        ("cat", ["dog"], 0.0),
        ("sitting", ["dog", "kitten", "sitting"], 1.0),  # the best reference counts
        ("", [""], 1.0),
    ],
)
def test_anls_known_values(prediction: str, references: list[str], score: float) -> None:
    assert anls_score(prediction=prediction, references=references) == pytest.approx(score)


def test_anls_is_the_mean_over_items() -> None:
    results = [
        result("1", False, prediction="kitten", references=("sitting",)),
        result("2", True, prediction="Paris", references=("paris",)),
    ]
    assert anls(results=results) == pytest.approx((1 - 3 / 7 + 1) / 2)


@pytest.mark.parametrize(
    ("prediction", "references", "score"),
    [
        ("The Eiffel Tower.", ["eiffel tower"], 1.0),
        ("an apple", ["Apple"], 1.0),
        ("Eiffel", ["eiffel tower"], 0.0),
        ("two", ["2", "two"], 1.0),
        ("theatre", ["atre"], 0.0),  # articles go only as whole words
    ],
)
def test_exact_match_normalises_like_squad(prediction: str, references: list[str], score: float) -> None:
    assert exact_match_score(prediction=prediction, references=references) == score


def test_answer_normalised_drops_case_punctuation_and_articles() -> None:
    assert answer_normalised("  The  Cat, a Hat!") == "cat hat"


def test_exact_match_is_the_mean_over_items() -> None:
    results = [
        result("1", False, prediction="The cat", references=("cat",)),
        result("2", False, prediction="dog", references=("cat",)),
    ]
    assert exact_match(results=results) == 0.5


def test_chance_normalised_of_a_mixed_set_uses_each_items_option_count() -> None:
    # Chance (1/2 + 1/4) / 2 = 3/8; accuracy 1/2; (1/2 - 3/8) / (5/8) = 1/5.
    results = [result("1", True, option_count=2), result("2", False, option_count=4)]
    assert chance_normalised(results=results) == pytest.approx(0.2)


def test_chance_normalised_refuses_free_text_items() -> None:
    with pytest.raises(MetricError, match="option count"):
        chance_normalised(results=[result("1", True)])


def test_ece_of_a_perfectly_calibrated_set_is_zero() -> None:
    # Ten bins of ten: at confidence k/10, exactly k of the ten are right.
    confidences = [k / 10 for k in range(1, 11) for _ in range(10)]
    correct = [i < k for k in range(1, 11) for i in range(10)]
    assert expected_calibration_error(confidences=confidences, correct=correct) == pytest.approx(0.0)


def test_ece_of_an_overconfident_set() -> None:
    # Always 90% sure, right half the time: |0.5 - 0.9| in every bin.
    confidences = [0.9] * 100
    correct = [i % 2 == 0 for i in range(100)]
    assert expected_calibration_error(confidences=confidences, correct=correct) == pytest.approx(0.4)


def test_ece_uses_equal_count_bins() -> None:
    # Two bins of two: (0.1, 0.3) none right -> |0 - 0.2|; (0.8, 1.0) both right -> |1 - 0.9|.
    error = expected_calibration_error(
        confidences=[1.0, 0.1, 0.8, 0.3], correct=[True, False, True, False], bins=2
    )
    assert error == pytest.approx((0.2 + 0.1) / 2)


def test_ece_from_results_reads_the_top_probability() -> None:
    results = [
        result("1", True, probabilities=(0.8, 0.2)),
        result("2", False, probabilities=(0.4, 0.6)),
    ]
    # One bin each (two results, ten bins): |0 - 0.6| and |1 - 0.8|.
    assert ece(results=results) == pytest.approx((0.6 + 0.2) / 2)
    with pytest.raises(MetricError, match="probabilities"):
        ece(results=[result("1", True)])


def test_bootstrap_interval_is_seeded_and_brackets_the_accuracy() -> None:
    results = scored_run(balanced_items(200), seeded_random(3))
    observed = accuracy(results=results)
    interval = bootstrap_interval(results=results, metric=accuracy, resamples=300, seed=11)
    assert interval == bootstrap_interval(results=results, metric=accuracy, resamples=300, seed=11)
    assert interval.lower < observed < interval.upper
    # A 95% interval of a proportion near 0.25 over 200 items is about +-0.06 wide.
    assert 0.06 < interval.upper - interval.lower < 0.18


def test_bootstrap_of_circular_accuracy_keeps_an_items_rotations_together() -> None:
    results = scored_run(balanced_items(40), oracle)
    interval = bootstrap_interval(results=results, metric=circular_accuracy, resamples=50)
    assert (interval.lower, interval.upper) == (1.0, 1.0)


def test_metrics_refuse_empty_results() -> None:
    for metric in METRICS.values():
        with pytest.raises(MetricError):
            metric(results=[])


def test_scores_by_category_reports_each_category_and_overall() -> None:
    results = [
        result("1", True, category="ocr"),
        result("2", False, category="ocr"),
        result("3", True, category="color"),
        result("3", False, category="color", rotation=1),
    ]
    scores = scores_by_category(results=results, metrics=("accuracy", "circular_accuracy"))
    assert scores == {
        "overall": {"items": 3, "accuracy": pytest.approx(2 / 3), "circular_accuracy": pytest.approx(1 / 3)},
        "categories": {
            "color": {"items": 1, "accuracy": 1.0, "circular_accuracy": 0.0},
            "ocr": {"items": 2, "accuracy": 0.5, "circular_accuracy": 0.5},
        },
    }
    assert json.loads(json.dumps(scores)) == scores


def test_scores_by_category_of_no_results_is_empty() -> None:
    assert scores_by_category(results=[]) == {"overall": {"items": 0}, "categories": {}}


def test_item_result_round_trips_through_json() -> None:
    original = result("q", True, extracted="B", references=("B",), rotation=2, probabilities=(0.1, 0.9))
    assert ItemResult.from_dict(json.loads(json.dumps(original.to_dict()))) == original


@pytest.mark.parametrize(
    "data",
    [
        {"category": "x", "correct": True},
        {"item_id": "q", "correct": "yes"},
        {"item_id": "q", "correct": True, "rotation": "x"},
    ],
)
def test_item_result_from_dict_says_what_is_wrong(data: dict[str, object]) -> None:
    with pytest.raises(MetricError):
        ItemResult.from_dict(data)
