"""Recipes as data: validation, the registry, JSON files, and the prompts built from items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.items import Item
from evaluation.recipes import (
    Instruction,
    Prompt,
    Recipe,
    RecipeError,
    UnknownRecipe,
    prompt_text,
    prompts_for,
    recipe_from_dict,
    recipe_get,
    recipe_load,
    recipe_register,
    recipes_all,
)

PLAIN = Instruction(
    name="plain", template="Hint: {hint}\n{question}\nOptions:\n{options}\nAnswer with the option's letter."
)
TERSE = Instruction(name="terse", template="Q: {question}\n{options}\nLetter:")


def choice_item(**fields: object) -> Item:
    values: dict[str, object] = {
        "id": "mmb-1",
        "benchmark": "mmbench",
        "category": "perception",
        "sub_category": "",
        "question": "What animal is this?",
        "options": ("cat", "dog", "horse", "bird"),
        "answer": "C",
        "answer_type": "choice",
        "hint": "",
    }
    values.update(fields)
    return Item(**values)  # type: ignore[arg-type]


def choice_recipe(**fields: object) -> Recipe:
    values: dict[str, object] = {
        "name": "mmbench-circular",
        "benchmark": "mmbench",
        "instructions": (PLAIN, TERSE),
        "inferencer": "circular",
        "metrics": ("accuracy", "circular_accuracy"),
    }
    values.update(fields)
    return Recipe(**values)  # type: ignore[arg-type]


def test_prompt_lists_the_options_and_leaves_out_an_absent_hint() -> None:
    recipe = choice_recipe(inferencer="choice", metrics=("accuracy",))
    [prompt] = prompts_for(item=choice_item(), recipe=recipe, instruction=PLAIN)
    assert prompt.text == (
        "What animal is this?\nOptions:\nA. cat\nB. dog\nC. horse\nD. bird\nAnswer with the option's letter."
    )
    assert (prompt.rotation, prompt.answer, prompt.options) == (0, "C", ("cat", "dog", "horse", "bird"))


def test_prompt_shows_the_hint_when_the_item_has_one() -> None:
    recipe = choice_recipe(inferencer="choice", metrics=("accuracy",))
    [prompt] = prompts_for(item=choice_item(hint="It has a mane."), recipe=recipe, instruction=PLAIN)
    assert prompt.text.startswith("Hint: It has a mane.\nWhat animal is this?\n")


def test_prompt_keeps_a_line_that_still_has_something_to_show() -> None:
    assert prompt_text(template="{hint} {question}", question="Why?") == " Why?"
    assert prompt_text(template="{hint} {question}", question="Why?", hint="Look up.") == "Look up. Why?"


def test_circular_asks_every_rotation_with_the_right_letter_moved() -> None:
    prompts = prompts_for(item=choice_item(), recipe=choice_recipe(), instruction=TERSE)
    assert [(p.rotation, p.options, p.answer) for p in prompts] == [
        (0, ("cat", "dog", "horse", "bird"), "C"),
        (1, ("dog", "horse", "bird", "cat"), "B"),
        (2, ("horse", "bird", "cat", "dog"), "A"),
        (3, ("bird", "cat", "dog", "horse"), "D"),
    ]
    assert prompts[2].text == "Q: What animal is this?\nA. horse\nB. bird\nC. cat\nD. dog\nLetter:"
    # The right option's text sits under the right letter in every rotation.
    for prompt in prompts:
        assert prompt.options["ABCD".index(prompt.answer)] == "horse"


def test_prompts_are_deterministic() -> None:
    first = prompts_for(item=choice_item(), recipe=choice_recipe(), instruction=PLAIN)
    again = prompts_for(item=choice_item(), recipe=choice_recipe(), instruction=PLAIN)
    assert first == again


def test_prompt_round_trips_through_json() -> None:
    [prompt, *_] = prompts_for(item=choice_item(), recipe=choice_recipe(), instruction=PLAIN)
    assert Prompt.from_dict(json.loads(json.dumps(prompt.to_dict()))) == prompt


def test_yesno_prompt_carries_the_items_answer() -> None:
    recipe = Recipe(
        name="pope-test",
        benchmark="pope",
        instructions=(Instruction(name="ask", template="{question} Answer yes or no."),),
        inferencer="yesno",
        metrics=("accuracy", "f1", "yes_ratio"),
    )
    item = choice_item(options=(), answer="no", answer_type="yesno", question="Is there a dog?")
    [prompt] = prompts_for(item=item, recipe=recipe, instruction=recipe.instructions[0])
    assert (prompt.text, prompt.answer, prompt.options) == ("Is there a dog? Answer yes or no.", "no", ())


def test_prompts_refuse_an_item_the_inferencer_cannot_ask() -> None:
    item = choice_item(options=(), answer="yes", answer_type="yesno")
    with pytest.raises(RecipeError, match="fewer than two options"):
        prompts_for(item=item, recipe=choice_recipe(), instruction=PLAIN)


def test_prompts_refuse_a_wording_the_recipe_does_not_have() -> None:
    other = Instruction(name="other", template="{question}\n{options}")
    with pytest.raises(RecipeError, match="not one of recipe"):
        prompts_for(item=choice_item(), recipe=choice_recipe(), instruction=other)


def test_prompt_text_keeps_literal_braces() -> None:
    text = prompt_text(template='Reply as {{"answer": "<letter>"}}.\n{question}', question="Q?")
    assert text == 'Reply as {"answer": "<letter>"}.\nQ?'


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Describe the image.", "does not contain {question}"),
        ("{question} {answer}", "{answer}, which is not one of"),
        ("{question} {options!r}", "with a format"),
        ("{question} {", "unmatched brace"),
        ("{question.__class__}", "which is not one of"),
    ],
)
def test_instruction_says_what_is_wrong_with_its_template(template: str, problem: str) -> None:
    with pytest.raises(RecipeError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        Instruction(name="bad", template=template)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"inferencer": "guess"}, "'guess' is not an inferencer"),
        ({"metrics": ("accuracy", "bleu")}, "'bleu' is not a metric"),
        ({"metrics": ()}, "at least one metric"),
        ({"instructions": ()}, "at least one instruction"),
        ({"instructions": (PLAIN, PLAIN)}, "two instructions named 'plain'"),
        ({"instructions": (Instruction(name="bare", template="{question}"),)}, "does not show {options}"),
        ({"inferencer": "choice", "metrics": ("circular_accuracy",)}, "needs the circular inferencer"),
        ({"metrics": ("ece",)}, "needs the likelihood inferencer"),
        ({"max_new_tokens": 0}, "max_new_tokens must be"),
        ({"temperature": -1.0}, "temperature must be"),
        ({"length_normalised": True}, "only to the likelihood inferencer"),
        ({"benchmark": ""}, "needs the benchmark"),
    ],
)
def test_recipe_says_what_is_wrong_with_it(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(RecipeError) as caught:
        choice_recipe(**fields)
    assert any(problem in sentence for sentence in caught.value.problems)


def test_recipe_reports_every_problem_at_once() -> None:
    with pytest.raises(RecipeError) as caught:
        choice_recipe(inferencer="guess", metrics=("bleu",), seed=-1)
    assert len(caught.value.problems) == 3
    assert all(sentence.endswith(".") for sentence in caught.value.problems)


def test_registry_finds_registered_recipes_by_name() -> None:
    recipe = choice_recipe(name="test-registry-finds")
    assert recipe_register(recipe=recipe) is recipe
    recipe_register(recipe=choice_recipe(name="test-registry-finds"))  # the same again is harmless
    assert recipe_get(name="test-registry-finds") == recipe
    assert recipe in recipes_all()
    names = [r.name for r in recipes_all()]
    assert names == sorted(names)


def test_registry_refuses_a_different_recipe_under_a_taken_name() -> None:
    recipe_register(recipe=choice_recipe(name="test-registry-taken"))
    with pytest.raises(RecipeError, match="already registered"):
        recipe_register(recipe=choice_recipe(name="test-registry-taken", seed=7))


def test_registry_says_when_a_recipe_is_unknown() -> None:
    with pytest.raises(UnknownRecipe, match="no recipe named 'nowhere'"):
        recipe_get(name="nowhere")


def test_recipe_round_trips_through_a_json_file(tmp_path: Path) -> None:
    recipe = choice_recipe(seed=3, max_new_tokens=8, description="CircularEval")
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe.to_dict()))
    assert recipe_load(path=path) == recipe


def test_recipe_file_problems_name_the_file_and_each_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(
        json.dumps(
            {
                "name": "broken",
                "benchmark": "mmbench",
                "instructions": [{"name": "w", "template": "Describe."}],
                "inferencer": "choice",
                "metrics": "accuracy",
                "seed": "zero",
                "colour": "blue",
            }
        )
    )
    with pytest.raises(RecipeError) as caught:
        recipe_load(path=path)
    problems = caught.value.problems
    assert all(problem.startswith(str(path)) for problem in problems)
    assert any("'colour' is not a recipe field" in p for p in problems)
    assert any("'metrics' must be a list" in p for p in problems)
    assert any("'seed' must be a whole number" in p for p in problems)
    assert any("does not contain {question}" in p for p in problems)


def test_recipe_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text("{not json")
    with pytest.raises(RecipeError, match="is not valid JSON"):
        recipe_load(path=path)
    with pytest.raises(RecipeError, match="cannot be read"):
        recipe_load(path=tmp_path / "missing.json")


def test_recipe_from_dict_refuses_what_is_not_an_object() -> None:
    with pytest.raises(RecipeError, match="must be a JSON object"):
        recipe_from_dict(data=["a", "list"])
