"""Reference adapters, for tests only, prove the scorers on every tiny-ehub item: an oracle that
always answers right scores 100% in every category; one that always answers "A" scores chance on
four options, 50% on yes/no (POPE's rule reads "A" as yes) and 0 on reading, with circular accuracy
0; a seeded random one scores near chance. Each is a real `ModelAdapter`: the runs stream their
answers through `ModelAdapter.stream` and score them with `evaluation.runs.item_score`."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Generator, Sequence

import pytest

from evaluation.items import Item
from evaluation.metrics import ItemResult, circular_accuracy, scores_by_category
from evaluation.recipes import Instruction, Prompt, Recipe, prompts_for
from evaluation.runs import item_score
from evaluation.tinyehub import CATEGORIES, tiny_ehub_items
from workers.adapters.base import (
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
    TextPart,
)

FOUR_OPTIONS = ("visual_perception", "visual_reasoning", "visual_commonsense", "embodied_intelligence")


class ReferenceAdapter(ModelAdapter):
    """Answers each prompt with `answer(image, prompt)`, streamed a word at a time: the image too, since
    many items ask the same words of different pictures."""

    def __init__(self, answer: Callable[[bytes, str], str]) -> None:
        self.answer = answer

    def _open(
        self,
        conversation: Sequence[Message],
        params: GenerationParams,
        *,
        stats: GenerationStats,
        cancel: threading.Event,
    ) -> Generator[str, None, None]:
        parts = conversation[-1].content
        text = next(part.text for part in parts if isinstance(part, TextPart))
        image = next((part.data for part in parts if isinstance(part, ImagePart)), b"")

        def words() -> Generator[str, None, None]:
            stats.mark_started()
            for word in self.answer(image, text).split(" "):
                yield word + " "

        return words()


def _prompts(*, circular: bool = False) -> list[tuple[Item, Prompt]]:
    from evaluation.benchmarks import benchmark_get

    benchmark = benchmark_get(name="tiny-ehub")
    asked = []
    for item in tiny_ehub_items():
        recipe = benchmark.recipes[item.answer_type]
        if circular and item.answer_type == "choice":
            recipe = Recipe(
                name="tiny-ehub/circular",
                benchmark="tiny-ehub",
                instructions=recipe.instructions,
                inferencer="circular",
                metrics=("accuracy", "circular_accuracy"),
            )
        instruction: Instruction = recipe.instructions[0]
        asked += [(item, prompt) for prompt in prompts_for(item=item, recipe=recipe, instruction=instruction)]
    return asked


def _run(adapter: ModelAdapter, asked: list[tuple[Item, Prompt]]) -> list[ItemResult]:
    results = []
    for item, prompt in asked:
        image = (ImagePart(data=item.image, mime_type="image/png"),) if item.image else ()
        conversation = [Message(role="user", content=(*image, TextPart(text=prompt.text)))]
        chunks = adapter.stream(conversation, GenerationParams(temperature=0.0), stats=GenerationStats())
        results.append(item_score(item=item, prompt=prompt, prediction="".join(chunks).strip()))
    return results


def _truth(asked: list[tuple[Item, Prompt]]) -> dict[tuple[bytes, str], str]:
    return {
        (item.image or b"", prompt.text): (prompt.answer if item.answer_type == "choice" else item.answer)
        for item, prompt in asked
    }


def test_the_oracle_scores_every_category_in_full():
    asked = _prompts()
    truth = _truth(asked)
    scores = scores_by_category(
        results=_run(ReferenceAdapter(lambda image, text: truth[(image, text)]), asked)
    )
    assert scores["overall"]["accuracy"] == 1.0
    assert {category: row["accuracy"] for category, row in scores["categories"].items()} == dict.fromkeys(
        CATEGORIES, 1.0
    )


def test_always_a_scores_chance_and_never_a_whole_circle():
    asked = _prompts(circular=True)
    results = _run(ReferenceAdapter(lambda image, text: "A"), asked)
    scores = scores_by_category(results=results)["categories"]
    for category in FOUR_OPTIONS:
        assert scores[category]["accuracy"] == pytest.approx(0.25, abs=0.03), category
    assert scores["object_hallucination"]["accuracy"] == 0.5
    assert scores["visual_knowledge_acquisition"]["accuracy"] == 0.0
    circled = [result for result in results if result.option_count == 4]
    assert circular_accuracy(results=circled) == 0.0, "no item is at A in every rotation"


def test_a_seeded_random_guesser_scores_near_chance():
    rng = random.Random(1234)

    def guess(image: bytes, text: str) -> str:
        if "\nA. " in text:
            return rng.choice("ABCD")
        return rng.choice(("yes", "no", "cat"))

    scores = scores_by_category(results=_run(ReferenceAdapter(guess), _prompts()))["categories"]
    # 50 items per category: chance within about two standard errors.
    for category in FOUR_OPTIONS:
        assert scores[category]["accuracy"] == pytest.approx(0.25, abs=0.14), category
    assert scores["object_hallucination"]["accuracy"] == pytest.approx(0.5, abs=0.16)
