"""The conditions a run with analyses asks each item under: which apply, what each changes, and that
every variant is the same on every asking (a resumed chunk asks the very same prompts)."""

from __future__ import annotations

import pytest

from evaluation.analyses.stability import MIN_WORDINGS
from evaluation.benchmarks import benchmark_get
from evaluation.conditions import NO_HINT, NO_IMAGE, NO_QUESTION, STANDARD, TYPO, conditions_of, questions_for
from evaluation.items import Item
from evaluation.runs import run_conditions
from evaluation.tinyehub import tiny_ehub_items

BENCHMARK = benchmark_get(name="tiny-ehub")
ALL = run_conditions(benchmark=BENCHMARK, analyses=True)


def _by_condition(item: Item) -> dict:
    questions = questions_for(item=item, recipe=BENCHMARK.recipes[item.answer_type], conditions=ALL)
    return {question.condition: question for question in questions}


def test_every_recipe_of_tiny_ehub_has_enough_wordings_for_stability():
    assert all(len(recipe.instructions) >= MIN_WORDINGS for recipe in BENCHMARK.recipes.values())


def test_a_run_without_analyses_asks_the_standard_condition_alone():
    assert [condition.name for condition in run_conditions(benchmark=BENCHMARK, analyses=False)] == [STANDARD]


def test_each_variant_changes_only_what_it_names():
    item = tiny_ehub_items()[0]
    asked = _by_condition(item)
    standard = asked[STANDARD]
    assert standard.image == item.image and item.question in standard.prompt.text
    assert asked[NO_IMAGE].image is None and asked[NO_IMAGE].prompt.text == standard.prompt.text
    assert item.question not in asked[NO_QUESTION].prompt.text and asked[NO_QUESTION].image == item.image
    assert asked[NO_QUESTION].prompt.options == standard.prompt.options
    assert asked["wording-2"].prompt.text != standard.prompt.text and asked["wording-2"].image == item.image
    for corruption in ("noise", "blur", "jpeg"):
        assert asked[corruption].image not in (None, item.image)
        assert asked[corruption].prompt.text == standard.prompt.text
    assert asked[TYPO].image == item.image and asked[TYPO].prompt.text != standard.prompt.text


def test_no_hint_applies_only_to_items_with_a_hint():
    item = tiny_ehub_items()[0]
    assert NO_HINT not in _by_condition(item)
    hinted = Item(
        id="hinted", benchmark="t", category="c", sub_category="", question="What colour is the sky?",
        options=("blue", "green"), answer="A", answer_type="choice", image=item.image, hint="It is noon.",
    )  # fmt: skip
    asked = _by_condition(hinted)
    assert "It is noon." in asked[STANDARD].prompt.text and "It is noon." not in asked[NO_HINT].prompt.text


def test_every_variant_is_the_same_when_asked_again():
    for item in tiny_ehub_items()[:12]:
        assert _by_condition(item) == _by_condition(item)


def test_an_unknown_condition_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"no condition 'sideways'.*standard"):
        conditions_of(names=["standard", "sideways"], recipes=BENCHMARK.recipes)
