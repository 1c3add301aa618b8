"""Item builders shared by the tiny-ehub categories: balanced answers and the three answer types.

Balance is built in rather than hoped for: a category draws its right letters (or yes/no answers) from
a list holding each equally often, shuffled with the category's seeded generator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from PIL import Image

from evaluation.items import OPTION_LETTERS, YES_NO, AnswerType, Item
from evaluation.tinyehub.drawing import png_encode

BENCHMARK = "tiny-ehub"
OPTION_COUNT = 4
Answer = TypeVar("Answer")


def answers_balanced(*, rng: random.Random, count: int, answers: Sequence[Answer]) -> list[Answer]:
    """`count` answers, each of `answers` as often as `count` allows (within one), in shuffled order."""
    balanced = [answers[index % len(answers)] for index in range(count)]
    rng.shuffle(balanced)
    return balanced


def letters_balanced(*, rng: random.Random, count: int) -> list[str]:
    return answers_balanced(rng=rng, count=count, answers=OPTION_LETTERS[:OPTION_COUNT])


def yes_no_balanced(*, rng: random.Random, count: int) -> list[str]:
    return answers_balanced(rng=rng, count=count, answers=YES_NO)


def item_id(*, category: str, sub_category: str, index: int) -> str:
    return f"{category}/{sub_category}/{index:03d}"


def _item(
    *,
    category: str,
    sub_category: str,
    index: int,
    question: str,
    answer: str,
    answer_type: AnswerType,
    image: Image.Image,
    options: tuple[str, ...] = (),
    hint: str = "",
) -> Item:
    return Item(
        id=item_id(category=category, sub_category=sub_category, index=index),
        benchmark=BENCHMARK,
        category=category,
        sub_category=sub_category,
        question=question,
        options=options,
        answer=answer,
        answer_type=answer_type,
        image=png_encode(image=image),
        hint=hint,
    )


def choice_item(
    *,
    rng: random.Random,
    category: str,
    sub_category: str,
    index: int,
    question: str,
    correct: str,
    distractors: Sequence[str],
    letter: str,
    image: Image.Image,
    hint: str = "",
) -> Item:
    """A four-option item with `correct` at `letter` and the distractors shuffled around it."""
    wrong = list(distractors)
    if len(wrong) != OPTION_COUNT - 1 or correct in wrong or len(set(wrong)) != len(wrong):
        raise ValueError(f"{category}/{sub_category}: needs {OPTION_COUNT - 1} distinct distractors")
    rng.shuffle(wrong)
    position = OPTION_LETTERS.index(letter)
    options = (*wrong[:position], correct, *wrong[position:])
    return _item(
        category=category,
        sub_category=sub_category,
        index=index,
        question=question,
        options=options,
        answer=letter,
        answer_type="choice",
        image=image,
        hint=hint,
    )


def yesno_item(
    *, category: str, sub_category: str, index: int, question: str, answer: str, image: Image.Image
) -> Item:
    return _item(
        category=category,
        sub_category=sub_category,
        index=index,
        question=question,
        answer=answer,
        answer_type="yesno",
        image=image,
    )


def text_item(
    *, category: str, sub_category: str, index: int, question: str, answer: str, image: Image.Image
) -> Item:
    return _item(
        category=category,
        sub_category=sub_category,
        index=index,
        question=question,
        answer=answer,
        answer_type="text",
        image=image,
    )


def article(*, word: str) -> str:
    """The article before `word`: tiny-ehub's words all sound as they are spelt, so "an" before a vowel."""
    return "an" if word[:1].lower() in "aeiou" else "a"
