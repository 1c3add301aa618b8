"""The analyses of a run with analyses, from its scored prompts per condition: on constructed results with
known answers, and on tiny-ehub items asked (every condition, through `questions_for`) of reference
adapters whose behaviour fixes what each analysis must say."""

from __future__ import annotations

import math

import pytest

from evaluation.analyses.report import analyses_report, correct_by_item
from evaluation.benchmarks import benchmark_get
from evaluation.conditions import STANDARD
from evaluation.metrics import ItemResult
from evaluation.runs import BenchmarkRun, item_questions, item_score, items_spread, run_conditions
from tests.evaluation.test_reference_adapters import ReferenceAdapter
from workers.adapters.base import GenerationParams, GenerationStats, ImagePart, Message, TextPart

BENCHMARK = benchmark_get(name="tiny-ehub")


def _results(pattern: str, *, options: int = 4) -> list[ItemResult]:
    """One four-option prompt per item i0, i1, ...: right where the pattern has a 1."""
    return [
        ItemResult(item_id=f"i{index}", category="c", prediction="", extracted=None, correct=mark == "1",
                   option_count=options)
        for index, mark in enumerate(pattern)
    ]  # fmt: skip


def test_an_item_is_right_under_a_condition_only_if_all_its_prompts_are():
    rows = [
        *_results("11"),
        ItemResult(item_id="i1", category="c", prediction="", extracted=None, correct=False),
    ]
    assert correct_by_item(results=rows) == {"i0": True, "i1": False}


def test_constructed_results_give_the_known_gain_stability_modality_and_robustness():
    report = analyses_report(
        benchmark="b",
        results={
            STANDARD: _results("1111"),
            "no-image": _results("1100"),
            "no-question": _results("1111"),
            "wording-2": _results("1110"),
            "wording-3": _results("1100"),
            "wording-4": _results("1101"),
            "wording-5": _results("1111"),
            "typo": _results("1010"),
        },
    )
    gain = report["gain"]
    assert (gain["score_with_image"], gain["score_without_image"], gain["gain"]) == (1.0, 0.5, 0.5)
    assert gain["leakage"] is None  # no base language model here
    stability = report["stability"]
    assert stability["best"] == 1.0 and stability["best_wording"] == "wording-1"
    assert stability["mean"] == pytest.approx(0.8)
    assert stability["std"] == pytest.approx(math.sqrt((0.04 + 0.0025 + 0.09 + 0.0025 + 0.04) / 5))
    modality = report["modality"]
    shares = {share["modality"]: share["share"] for share in modality["modalities"]}
    assert shares == {"image": 0.5, "question": 0.0}
    assert modality["one_modality_share"] == 1.0 and modality["answerable_from_one_modality"] is True
    (typo,) = report["robustness"]
    assert typo["corruption"] == "typo" and typo["chance"] == 0.25
    assert typo["relative"] == pytest.approx((0.5 - 0.25) / (1.0 - 0.25))


def test_analyses_whose_conditions_were_not_asked_are_none():
    report = analyses_report(benchmark="b", results={STANDARD: _results("10")})
    assert report == {"gain": None, "stability": None, "modality": None, "robustness": []}


ITEMS = items_spread(items=BENCHMARK.items(), limit=24)
CONDITIONS = run_conditions(benchmark=BENCHMARK, analyses=True)
WRONG = "Z"


def _asked_of(answer) -> BenchmarkRun:
    """Every condition of every item asked of a reference adapter answering `answer(image, text)`."""
    adapter = ReferenceAdapter(answer)
    asked = []
    for item in ITEMS:
        for question in item_questions(benchmark=BENCHMARK, item=item, conditions=CONDITIONS):
            image = (ImagePart(data=question.image, mime_type="image/png"),) if question.image else ()
            conversation = [Message(role="user", content=(*image, TextPart(text=question.prompt.text)))]
            chunks = adapter.stream(conversation, GenerationParams(temperature=0.0), stats=GenerationStats())
            result = item_score(item=item, prompt=question.prompt, prediction="".join(chunks).strip())
            asked.append((question.condition, result))
    from arena.models import Model

    model = Model(slug="reference", adapter_kind="scripted")
    return BenchmarkRun(benchmark=BENCHMARK, model=model, items=ITEMS, asked=tuple(asked), seconds=1.0)


def _answers(right_under: set[str]) -> dict[tuple[bytes, str], str]:
    """(image, prompt) → the right answer for the prompts of these conditions, a wrong one for the rest."""
    answers: dict[tuple[bytes, str], str] = {}
    for item in ITEMS:
        for question in item_questions(benchmark=BENCHMARK, item=item, conditions=CONDITIONS):
            right = question.prompt.answer if item.answer_type == "choice" else item.answer
            key = (question.image or b"", question.prompt.text)
            if question.condition not in right_under:
                # Nothing the rules read as an option or as the text; for yes/no, the other answer.
                right = {"yes": "no", "no": "yes"}.get(right, "Z") if item.answer_type != "text" else "Z"
                answers.setdefault(key, right)  # the same picture and words: the same answer
            else:
                answers[key] = right
    return answers


def _right_share(answers: dict[tuple[bytes, str], str], *, condition: str) -> float:
    """The share of the items the answers get right under the condition: where items alike in what is
    sent (no picture, the same words) share one answer, it is right for one of them only."""
    right = [
        answers[(question.image or b"", question.prompt.text)]
        == (question.prompt.answer if item.answer_type == "choice" else item.answer)
        for item in ITEMS
        for question in item_questions(benchmark=BENCHMARK, item=item, conditions=CONDITIONS)
        if question.condition == condition
    ]
    return sum(right) / len(right)


def _chance() -> float:
    counts = [len(item.options) or (2 if item.answer_type == "yesno" else 0) for item in ITEMS]
    return sum(1 / count if count else 0.0 for count in counts) / len(counts)


def test_a_model_that_needs_the_clean_picture_and_the_question_shows_full_gain_and_no_robustness():
    wordings = {name for name in (c.name for c in CONDITIONS) if name.startswith("wording-")}
    answers = _answers({STANDARD, *wordings})
    summary = _asked_of(lambda image, text: answers[(image, text)]).summary()
    assert summary["overall"]["accuracy"] == 1.0
    analyses = summary["analyses"]
    # Without the picture, POPE questions alike in words get one answer: right for some by chance.
    without = _right_share(answers, condition="no-image")
    assert without < 0.1
    assert analyses["gain"]["score_without_image"] == pytest.approx(without)
    assert analyses["gain"]["gain"] == pytest.approx(1.0 - without)
    assert (analyses["stability"]["best"], analyses["stability"]["std"]) == (1.0, 0.0)
    assert analyses["stability"]["items"] == len(ITEMS)
    modality = analyses["modality"]
    shares = {share["modality"]: share["share"] for share in modality["modalities"]}
    assert shares == {"image": pytest.approx(1.0 - without), "question": 1.0}
    assert modality["one_modality_share"] == pytest.approx(without)
    assert modality["answerable_from_one_modality"] is False
    chance = _chance()
    for row in analyses["robustness"]:
        assert row["corrupt"] == 0.0 and row["chance"] == pytest.approx(chance)
        assert row["relative"] == pytest.approx(-chance / (1 - chance))


def test_an_oracle_needs_the_image_only_where_the_words_do_not_tell_and_is_flagged_as_answerable_alone():
    answers = _answers({condition.name for condition in CONDITIONS})
    analyses = _asked_of(lambda image, text: answers[(image, text)]).summary()["analyses"]
    # Reading a word needs the picture even for an oracle: without it, all word items read alike.
    without = _right_share(answers, condition="no-image")
    assert analyses["gain"]["score_without_image"] == pytest.approx(without)
    assert analyses["gain"]["gain"] == pytest.approx(1.0 - without) and without > 0.5
    assert analyses["stability"]["std"] == 0.0
    assert analyses["modality"]["answerable_from_one_modality"] is True
    assert all(row["relative"] == 1.0 for row in analyses["robustness"])


def test_a_model_thrown_by_one_wording_has_that_wordings_spread():
    wordings = sorted(name for name in (c.name for c in CONDITIONS) if name.startswith("wording-"))
    answers = _answers({condition.name for condition in CONDITIONS} - {wordings[-1]})
    stability = _asked_of(lambda image, text: answers[(image, text)]).summary()["analyses"]["stability"]
    assert stability["mean"] == pytest.approx(4 / 5) and stability["std"] == pytest.approx(0.4)
    assert {row["wording"]: row["accuracy"] for row in stability["wordings"]}[wordings[-1]] == 0.0
