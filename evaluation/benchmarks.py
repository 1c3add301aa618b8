"""The built-in benchmarks: each one's items, version and the recipe that asks each kind of item.

A benchmark mixes kinds of questions (tiny-ehub has multiple choice, yes/no and short answers), and a
recipe fixes one inferencer, so a benchmark names a recipe per answer type. Adding a benchmark is a
`Benchmark(...)` here (or an importer's items with recipes registered from JSON): no new plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from evaluation.items import AnswerType, Item, items_sha256
from evaluation.recipes import InferencerKind, Instruction, Recipe, recipe_register
from evaluation.tinyehub import tiny_ehub_items, tiny_ehub_version

# The first wording of each kind is LLaVA's (the one open vision-language models are tuned to follow);
# the other four say the same in other words and orders, for instruction stability (MM-BigBench asks at
# least five). A run without analyses asks the first alone.
_CHOICE: Final = (
    Instruction(
        name="letter",
        template=(
            "Hint: {hint}\n{question}\n{options}\n"
            "Answer with the option's letter from the given choices directly."
        ),
    ),
    Instruction(name="terse", template="Context: {hint}\n{question}\n{options}\nAnswer:"),
    Instruction(
        name="look",
        template=(
            "Look at the image and choose the correct option.\nHint: {hint}\nQuestion: {question}\n"
            "Options:\n{options}\nReply with one letter."
        ),
    ),
    Instruction(
        name="options-first",
        template=(
            "Options:\n{options}\nHint: {hint}\nWhich option answers this: {question}\nGive the letter only."
        ),
    ),
    Instruction(
        name="polite",
        template=(
            "Please answer this multiple-choice question about the picture.\n{hint}\n{question}\n{options}\n"
            "Your answer (one letter):"
        ),
    ),
)
_SHORT: Final = (
    Instruction(
        name="short", template="Hint: {hint}\n{question}\nAnswer the question using a single word or phrase."
    ),
    Instruction(name="terse", template="Context: {hint}\n{question}\nAnswer:"),
    Instruction(
        name="look",
        template=(
            "Look at the image and answer the question.\nHint: {hint}\nQuestion: {question}\n"
            "Reply with one word."
        ),
    ),
    Instruction(
        name="question-last", template="Hint: {hint}\nAnswer in a word or a short phrase: {question}"
    ),
    Instruction(
        name="polite",
        template="Please answer this question about the picture in a word or two.\n{hint}\n{question}",
    ),
)


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    items: Callable[[], tuple[Item, ...]]
    version: Callable[[], str]
    recipes: Mapping[AnswerType, Recipe]


def _recipes(benchmark: str) -> dict[AnswerType, Recipe]:
    asked: dict[AnswerType, tuple[InferencerKind, tuple[Instruction, ...]]] = {
        "choice": ("choice", _CHOICE),
        "yesno": ("yesno", _SHORT),
        "text": ("generate", _SHORT),
    }
    return {
        kind: recipe_register(
            recipe=Recipe(
                name=f"{benchmark}/{kind}",
                benchmark=benchmark,
                instructions=instructions,
                inferencer=inferencer,
                metrics=("accuracy",),
                max_new_tokens=16,
            )
        )
        for kind, (inferencer, instructions) in asked.items()
    }


def _choice_items() -> tuple[Item, ...]:
    return tuple(item for item in tiny_ehub_items() if item.answer_type == "choice")


def _choice_version() -> str:
    return items_sha256(items=_choice_items())


BENCHMARKS: Final[dict[str, Benchmark]] = {
    "tiny-ehub": Benchmark(
        name="tiny-ehub",
        description="Built in: about 300 generated items over Tiny LVLM-eHub's six capability categories.",
        items=tiny_ehub_items,
        version=tiny_ehub_version,
        recipes=_recipes("tiny-ehub"),
    ),
    # ChEF's PPL inferencer on tiny-ehub's multiple-choice items: no answer to read, only which option
    # the model finds likeliest, with probabilities for calibration. Local transformers models only.
    "tiny-ehub-ppl": Benchmark(
        name="tiny-ehub-ppl",
        description="tiny-ehub's multiple-choice items ranked by likelihood (local models), calibrated.",
        items=_choice_items,
        version=_choice_version,
        recipes={
            "choice": recipe_register(
                recipe=Recipe(
                    name="tiny-ehub-ppl/choice",
                    benchmark="tiny-ehub-ppl",
                    instructions=_CHOICE,
                    inferencer="likelihood",
                    metrics=("accuracy", "ece"),
                    max_new_tokens=1,
                )
            )
        },
    ),
}


def benchmark_register(*, benchmark: Benchmark) -> Benchmark:
    """Add a benchmark (an importer's items with their recipes, say) beside the built-in ones; a name
    already taken is refused, so a run never finds other items under the name it started with."""
    if benchmark.name in BENCHMARKS and BENCHMARKS[benchmark.name] is not benchmark:
        raise ValueError(f"There is already a benchmark named {benchmark.name!r}.")
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def benchmark_get(*, name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        known = ", ".join(sorted(BENCHMARKS))
        raise LookupError(f"There is no benchmark {name!r}; the built-in ones are {known}.") from None
