"""Visual knowledge acquisition: reading a rendered word or number, answered as free text (50 items).

Reading is free text, as in Tiny LVLM-eHub's OCR tasks: offered options would let a model match
shapes of words instead of reading them. Words are drawn in lower case exactly as the answer spells them.
"""

from __future__ import annotations

import random

from evaluation.items import Item
from evaluation.tinyehub.builders import text_item
from evaluation.tinyehub.drawing import COLOURS, SIZE, canvas_new, text_draw

CATEGORY = "visual_knowledge_acquisition"
SEED = 1202
COUNTS = {"word_reading": 25, "digit_reading": 25}
WORDS = (
    "apple", "river", "house", "garden", "planet", "window", "bridge", "candle", "forest", "orange",
    "tiger", "pencil", "castle", "rocket", "guitar", "silver", "market", "island", "winter", "butter",
    "dragon", "lemon", "train", "cloud", "piano",
)  # fmt: skip
_INKS = ("black", "blue", "red", "green", "purple")
_FONT_SIZE = 40


def knowledge_items() -> tuple[Item, ...]:
    rng = random.Random(SEED)
    words = rng.sample(WORDS, COUNTS["word_reading"])
    items = [
        _reading_item(
            rng=rng,
            sub_category="word_reading",
            index=index,
            text=word,
            question="What word is written in the image?",
        )
        for index, word in enumerate(words)
    ]
    numbers: list[str] = []
    while len(numbers) < COUNTS["digit_reading"]:
        digits = 3 + len(numbers) % 4
        number = str(rng.randrange(10 ** (digits - 1), 10**digits))
        if number not in numbers:
            numbers.append(number)
    items += [
        _reading_item(
            rng=rng,
            sub_category="digit_reading",
            index=index,
            text=number,
            question="What number is written in the image?",
        )
        for index, number in enumerate(numbers)
    ]
    return tuple(items)


def _reading_item(*, rng: random.Random, sub_category: str, index: int, text: str, question: str) -> Item:
    image, draw = canvas_new()
    centre = (SIZE // 2 + rng.randint(-8, 8), SIZE // 2 + rng.randint(-40, 40))
    text_draw(draw=draw, text=text, centre=centre, size=_FONT_SIZE, colour=COLOURS[rng.choice(_INKS)])
    return text_item(
        category=CATEGORY, sub_category=sub_category, index=index, question=question, answer=text, image=image
    )
