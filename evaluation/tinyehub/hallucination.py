"""Object hallucination, POPE-style "is there a ...?" questions, exactly half answered yes (50 items).

"random" asks about a kind of shape: present, or one of the kinds the image lacks. "adversarial" asks
about a colour and a shape that both appear in the image, but (for a "no") never together: the red of
one shape and the circle of another, where a model that merely saw "red" and "circle" says yes. Every
image's shapes differ in colour and in kind, so each question has one answer.
"""

from __future__ import annotations

import random

from evaluation.items import Item
from evaluation.tinyehub.builders import article, yesno_item
from evaluation.tinyehub.drawing import COLOURS, SHAPES, canvas_new, shape_draw

CATEGORY = "object_hallucination"
SEED = 1205
COUNTS = {"random": 25, "adversarial": 25}
# The yes answers each sub-category gets: 13 + 12 makes the category's 50 exactly half yes.
YES_COUNTS = {"random": 13, "adversarial": 12}
# Shapes go in distinct cells of a 3x3 grid, nudged a little within them, so they never touch.
_CELL = 74
_RADIUS = 26


def hallucination_items() -> tuple[Item, ...]:
    rng = random.Random(SEED)
    items: list[Item] = []
    for sub_category, count in COUNTS.items():
        answers = ["yes"] * YES_COUNTS[sub_category] + ["no"] * (count - YES_COUNTS[sub_category])
        rng.shuffle(answers)
        items += [
            _item(rng=rng, sub_category=sub_category, index=index, answer=answer)
            for index, answer in enumerate(answers)
        ]
    return tuple(items)


def _item(*, rng: random.Random, sub_category: str, index: int, answer: str) -> Item:
    count = 3 if sub_category == "adversarial" else rng.randint(2, 3)
    colours = rng.sample(list(COLOURS), count)
    shapes = rng.sample(SHAPES, count)
    image, draw = canvas_new()
    for colour, shape, cell in zip(colours, shapes, rng.sample(range(9), count), strict=True):
        centre = (
            (cell % 3) * _CELL + _CELL // 2 + 1 + rng.randint(-5, 5),
            (cell // 3) * _CELL + _CELL // 2 + 1 + rng.randint(-5, 5),
        )
        shape_draw(draw=draw, shape=shape, centre=centre, radius=_RADIUS, colour=COLOURS[colour])
    if sub_category == "random":
        absent = [shape for shape in SHAPES if shape not in shapes]
        thing = rng.choice(shapes if answer == "yes" else absent)
    else:
        first, second = rng.sample(range(count), 2)
        colour = colours[first]
        thing = f"{colour} {shapes[first] if answer == 'yes' else shapes[second]}"
    return yesno_item(
        category=CATEGORY,
        sub_category=sub_category,
        index=index,
        question=f"Is there {article(word=thing)} {thing} in the image?",
        answer=answer,
        image=image,
    )
