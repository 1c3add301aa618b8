"""Visual perception: the colour of a shape, which shape it is, how many shapes there are (50 items)."""

from __future__ import annotations

import random

from evaluation.items import Item
from evaluation.tinyehub.builders import choice_item, letters_balanced
from evaluation.tinyehub.drawing import COLOURS, SHAPE_PLURALS, SHAPES, SIZE, canvas_new, shape_draw

CATEGORY = "visual_perception"
SEED = 1201
COUNTS = {"colour": 17, "shape": 17, "counting": 16}
# Counting places shapes on a 4x4 grid of cells, one per cell, nudged a little within it: far enough
# apart that no two touch, so each shape is one patch of colour.
_CELL = SIZE // 4
_COUNT_RADIUS = 16
_COUNT_NUDGE = 6


def perception_items() -> tuple[Item, ...]:
    rng = random.Random(SEED)
    letters = iter(letters_balanced(rng=rng, count=sum(COUNTS.values())))
    items = [_colour_item(rng=rng, index=index, letter=next(letters)) for index in range(COUNTS["colour"])]
    items += [_shape_item(rng=rng, index=index, letter=next(letters)) for index in range(COUNTS["shape"])]
    items += [
        _counting_item(rng=rng, index=index, letter=next(letters)) for index in range(COUNTS["counting"])
    ]
    return tuple(items)


def _colour_item(*, rng: random.Random, index: int, letter: str) -> Item:
    names = list(COLOURS)
    colour = names[index % len(names)]
    image, draw = canvas_new()
    centre = (SIZE // 2 + rng.randint(-20, 20), SIZE // 2 + rng.randint(-20, 20))
    shape_draw(
        draw=draw, shape=rng.choice(SHAPES), centre=centre, radius=rng.randint(55, 75), colour=COLOURS[colour]
    )
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="colour",
        index=index,
        question="What colour is the shape in the image?",
        correct=colour,
        distractors=rng.sample([name for name in names if name != colour], 3),
        letter=letter,
        image=image,
    )


def _shape_item(*, rng: random.Random, index: int, letter: str) -> Item:
    shape = SHAPES[index % len(SHAPES)]
    image, draw = canvas_new()
    centre = (SIZE // 2 + rng.randint(-20, 20), SIZE // 2 + rng.randint(-20, 20))
    colour = COLOURS[rng.choice(list(COLOURS))]
    shape_draw(draw=draw, shape=shape, centre=centre, radius=rng.randint(55, 75), colour=colour)
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="shape",
        index=index,
        question="Which shape is shown in the image?",
        correct=shape,
        distractors=rng.sample([other for other in SHAPES if other != shape], 3),
        letter=letter,
        image=image,
    )


def _counting_item(*, rng: random.Random, index: int, letter: str) -> Item:
    count = 2 + index % 8
    shape = rng.choice(list(SHAPE_PLURALS))
    colour = COLOURS[rng.choice(list(COLOURS))]
    image, draw = canvas_new()
    for cell in rng.sample(range(16), count):
        centre = (
            (cell % 4) * _CELL + _CELL // 2 + rng.randint(-_COUNT_NUDGE, _COUNT_NUDGE),
            (cell // 4) * _CELL + _CELL // 2 + rng.randint(-_COUNT_NUDGE, _COUNT_NUDGE),
        )
        shape_draw(draw=draw, shape=shape, centre=centre, radius=_COUNT_RADIUS, colour=colour)
    nearby = [other for other in range(count - 3, count + 4) if other >= 1 and other != count]
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="counting",
        index=index,
        question=f"How many {SHAPE_PLURALS[shape]} are in the image?",
        correct=str(count),
        distractors=[str(other) for other in rng.sample(nearby, 3)],
        letter=letter,
        image=image,
    )
