"""The built-in benchmarks: each one's items, version and the recipe that asks each kind of item.

A benchmark mixes kinds of questions (tiny-ehub has multiple choice, yes/no and short answers), and a
recipe fixes one inferencer, so a benchmark names a recipe per answer type. Adding a benchmark is a
`Benchmark(...)` here (or an importer's items with recipes registered from JSON): no new plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from evaluation.items import AnswerType, Item
from evaluation.recipes import InferencerKind, Instruction, Recipe, recipe_register
from evaluation.tinyehub import tiny_ehub_items, tiny_ehub_version

# LLaVA's evaluation wordings: the ones open vision-language models are tuned to follow.
_CHOICE: Final = Instruction(
    name="letter",
    template=(
        "Hint: {hint}\n{question}\n{options}\n"
        "Answer with the option's letter from the given choices directly."
    ),
)
_SHORT: Final = Instruction(
    name="short", template="Hint: {hint}\n{question}\nAnswer the question using a single word or phrase."
)


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    items: Callable[[], tuple[Item, ...]]
    version: Callable[[], str]
    recipes: Mapping[AnswerType, Recipe]


def _recipes(benchmark: str) -> dict[AnswerType, Recipe]:
    asked: dict[AnswerType, tuple[InferencerKind, Instruction]] = {
        "choice": ("choice", _CHOICE),
        "yesno": ("yesno", _SHORT),
        "text": ("generate", _SHORT),
    }
    return {
        kind: recipe_register(
            recipe=Recipe(
                name=f"{benchmark}/{kind}",
                benchmark=benchmark,
                instructions=(instruction,),
                inferencer=inferencer,
                metrics=("accuracy",),
                max_new_tokens=16,
            )
        )
        for kind, (inferencer, instruction) in asked.items()
    }


BENCHMARKS: Final[dict[str, Benchmark]] = {
    "tiny-ehub": Benchmark(
        name="tiny-ehub",
        description="Built in: about 300 generated items over Tiny LVLM-eHub's six capability categories.",
        items=tiny_ehub_items,
        version=tiny_ehub_version,
        recipes=_recipes("tiny-ehub"),
    ),
}


def benchmark_get(*, name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        known = ", ".join(sorted(BENCHMARKS))
        raise LookupError(f"There is no benchmark {name!r}; the built-in ones are {known}.") from None
