"""Visual reasoning: where one shape is relative to another, which of four is largest or smallest (50 items).

Relations are unambiguous by construction: the two shapes share a row (left/right) or a column
(above/below) exactly, well apart. Sizes differ by at least 8 pixels of radius, the smallest step
a person still sees at a glance.
"""

from __future__ import annotations

import random

from evaluation.items import Item
from evaluation.tinyehub.builders import answers_balanced, choice_item, letters_balanced
from evaluation.tinyehub.drawing import COLOURS, canvas_new, shape_draw

CATEGORY = "visual_reasoning"
SEED = 1203
COUNTS = {"spatial_relation": 25, "size_comparison": 25}
RELATIONS = ("to its left", "to its right", "above it", "below it")
_RELATION_SHAPES = ("circle", "square", "triangle", "star")
_RADII = (14, 22, 30, 38, 46)
_QUADRANT_CENTRES = ((56, 56), (168, 56), (56, 168), (168, 168))


def reasoning_items() -> tuple[Item, ...]:
    rng = random.Random(SEED)
    letters = iter(letters_balanced(rng=rng, count=sum(COUNTS.values())))
    relations = answers_balanced(rng=rng, count=COUNTS["spatial_relation"], answers=RELATIONS)
    items = [
        _relation_item(rng=rng, index=index, relation=relation, letter=next(letters))
        for index, relation in enumerate(relations)
    ]
    items += [
        _size_item(rng=rng, index=index, letter=next(letters)) for index in range(COUNTS["size_comparison"])
    ]
    return tuple(items)


def _relation_item(*, rng: random.Random, index: int, relation: str, letter: str) -> Item:
    """Two shapes, the first placed `relation` of the second ("to its left": left of the second)."""
    first_colour, second_colour = rng.sample(list(COLOURS), 2)
    first_shape, second_shape = rng.sample(_RELATION_SHAPES, 2)
    near, far = rng.randint(40, 76), rng.randint(148, 184)
    across = rng.randint(50, 174)
    first_along, second_along = (near, far) if relation in ("to its left", "above it") else (far, near)
    if relation in ("to its left", "to its right"):
        first_centre, second_centre = (first_along, across), (second_along, across)
    else:
        first_centre, second_centre = (across, first_along), (across, second_along)
    image, draw = canvas_new()
    for shape, centre, colour in (
        (first_shape, first_centre, first_colour),
        (second_shape, second_centre, second_colour),
    ):
        shape_draw(draw=draw, shape=shape, centre=centre, radius=30, colour=COLOURS[colour])
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="spatial_relation",
        index=index,
        question=f"Where is the {first_colour} {first_shape} relative to the {second_colour} {second_shape}?",
        correct=relation,
        distractors=[other for other in RELATIONS if other != relation],
        letter=letter,
        image=image,
    )


def _size_item(*, rng: random.Random, index: int, letter: str) -> Item:
    colours = rng.sample(list(COLOURS), 4)
    radii = rng.sample(_RADII, 4)
    shape = ("circle", "square")[index % 2]
    largest = index % 4 < 2
    image, draw = canvas_new()
    for colour, radius, (x, y) in zip(colours, radii, _QUADRANT_CENTRES, strict=True):
        centre = (x + rng.randint(-4, 4), y + rng.randint(-4, 4))
        shape_draw(draw=draw, shape=shape, centre=centre, radius=radius, colour=COLOURS[colour])
    pick = max if largest else min
    correct = colours[radii.index(pick(radii))]
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="size_comparison",
        index=index,
        question=f"What colour is the {'largest' if largest else 'smallest'} {shape}?",
        correct=correct,
        distractors=[colour for colour in colours if colour != correct],
        letter=letter,
        image=image,
    )
