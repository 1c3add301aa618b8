"""The conditions an item is asked under: as given ("standard"), and the variants the analyses compare.

One run with analyses asks every item under each condition that applies to it: without its image (MMStar's
gain; the image's share in modality importance), without its question or its hint (the other modalities'
shares), under each of the recipe's other instruction wordings (MM-BigBench's stability), with its image
corrupted (noise, blur, JPEG at `CORRUPTION_SEVERITY`) and with typos in its question (ChEF's robustness).
A condition is a name stored with each prediction, so a resumed run asks exactly what is missing.

Pure Python: every variant is made here, deterministically from the item's id, so a re-asked prompt is the
same prompt, byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from evaluation.analyses.robustness import IMAGE_CORRUPTIONS, image_corrupt, text_corrupt
from evaluation.items import AnswerType, Item
from evaluation.recipes import Prompt, Recipe, prompts_for

ConditionKind = Literal["standard", "no_image", "no_question", "no_hint", "wording", "image", "typo"]

STANDARD: Final = "standard"
NO_IMAGE: Final = "no-image"
NO_QUESTION: Final = "no-question"
NO_HINT: Final = "no-hint"
TYPO: Final = "typo"
# The middle of ImageNet-C's 1-5: hard enough to cost a fragile model, mild enough to stay answerable.
CORRUPTION_SEVERITY: Final = 3
# About one word in five (of those long enough to take a typo inside): MM-BigBench's "moderate" noise.
TYPO_RATE: Final = 0.2
# The modality a condition removes, for modality importance: the image, the question text, the hint.
REMOVES: Final[Mapping[str, str]] = {NO_IMAGE: "image", NO_QUESTION: "question", NO_HINT: "hint"}


@dataclass(frozen=True)
class Condition:
    name: str
    kind: ConditionKind
    # The recipe's instruction asked (an index into `Recipe.instructions`): 0 but for the wordings.
    wording: int = 0
    # The image corruption ("noise", "blur", "jpeg") for the image kind.
    corruption: str = ""

    def applies(self, *, item: Item, recipe: Recipe) -> bool:
        if self.kind in ("no_image", "image"):
            return item.image is not None
        if self.kind == "no_hint":
            return bool(item.hint.strip())
        if self.kind == "wording":
            return self.wording < len(recipe.instructions)
        return True


@dataclass(frozen=True)
class Question:
    """One prompt as it is sent under one condition, with the image sent along (None: text alone)."""

    condition: str
    prompt: Prompt
    image: bytes | None


@dataclass(frozen=True)
class _Asked:
    """What `prompts_for` reads of an item, with the question or hint a condition changed."""

    id: str
    question: str
    options: tuple[str, ...]
    answer: str
    hint: str


def _wording_name(index: int) -> str:
    return f"wording-{index + 1}"


def conditions_all(*, wordings: int) -> tuple[Condition, ...]:
    """Every condition of a run with analyses, the standard first; `wordings`: the most instruction
    wordings any of the benchmark's recipes has (the first is the standard one)."""
    return (
        Condition(STANDARD, "standard"),
        Condition(NO_IMAGE, "no_image"),
        Condition(NO_QUESTION, "no_question"),
        Condition(NO_HINT, "no_hint"),
        *(Condition(_wording_name(index), "wording", wording=index) for index in range(1, wordings)),
        *(Condition(kind, "image", corruption=kind) for kind in IMAGE_CORRUPTIONS),
        Condition(TYPO, "typo"),
    )


def conditions_of(
    *, names: tuple[str, ...] | list[str], recipes: Mapping[AnswerType, Recipe]
) -> tuple[Condition, ...]:
    """The conditions stored under these names (a run's), in that order; unknown names raise ValueError."""
    known = {
        condition.name: condition for condition in conditions_all(wordings=wordings_most(recipes=recipes))
    }
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"There is no condition {unknown[0]!r}; the known ones are {', '.join(known)}.")
    return tuple(known[name] for name in names)


def wordings_most(*, recipes: Mapping[AnswerType, Recipe]) -> int:
    return max((len(recipe.instructions) for recipe in recipes.values()), default=1)


def _seed(item: Item, condition: str) -> int:
    # Not Python's hash(): that changes from process to process, and a resumed chunk must corrupt alike.
    return int.from_bytes(hashlib.sha256(f"{item.id}\n{condition}".encode()).digest()[:8], "big")


def _typos(question: str, *, seed: int) -> str:
    """Typos at `TYPO_RATE`, at least one where any word can take one: a short question the rate happens
    to leave untouched would otherwise be asked as it is and count as robust."""
    for attempt in range(8):
        changed = text_corrupt(question, rate=TYPO_RATE, seed=seed + attempt)
        if changed != question:
            return changed
    return text_corrupt(question, rate=1.0, seed=seed)


def questions_for(*, item: Item, recipe: Recipe, conditions: tuple[Condition, ...]) -> list[Question]:
    """The prompts one item needs under each condition that applies to it, in condition order."""
    questions: list[Question] = []
    for condition in conditions:
        if not condition.applies(item=item, recipe=recipe):
            continue
        question, hint, image = item.question, item.hint, item.image
        if condition.kind == "no_image":
            image = None
        elif condition.kind == "no_question":
            question = ""
        elif condition.kind == "no_hint":
            hint = ""
        elif condition.kind == "typo":
            question = _typos(question, seed=_seed(item, condition.name))
        elif condition.kind == "image" and image is not None:
            image = image_corrupt(
                image,
                kind=condition.corruption,
                severity=CORRUPTION_SEVERITY,
                seed=_seed(item, condition.name),
            )
        asked = _Asked(id=item.id, question=question, options=item.options, answer=item.answer, hint=hint)
        instruction = recipe.instructions[condition.wording]
        questions.extend(
            Question(condition=condition.name, prompt=prompt, image=image)
            for prompt in prompts_for(item=asked, recipe=recipe, instruction=instruction)
        )
    return questions


def questions_count(*, item: Item, recipe: Recipe, conditions: tuple[Condition, ...]) -> int:
    """How many prompts `questions_for` gives the item, without corrupting its image to find out."""
    return sum(
        len(prompts_for(item=item, recipe=recipe, instruction=recipe.instructions[condition.wording]))
        for condition in conditions
        if condition.applies(item=item, recipe=recipe)
    )
