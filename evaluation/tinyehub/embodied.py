"""Embodied intelligence: grid navigation, "which way should the agent go first?" (50 items).

A 7x7 top-down grid holds the agent (a blue circle), the star and a few rocks. The agent and the star
share a row or a column with nothing between them, so the straight line is the only shortest path and
its first step (up, down, left or right) the one right answer; rocks lie elsewhere, to be looked past.
"""

from __future__ import annotations

import random

from evaluation.items import Item
from evaluation.tinyehub.builders import answers_balanced, choice_item, letters_balanced
from evaluation.tinyehub.drawing import COLOURS, Colour, canvas_new, shape_draw

CATEGORY = "embodied_intelligence"
SUB_CATEGORY = "grid_navigation"
SEED = 1206
COUNT = 50
GRID = 7
CELL = 32
FLOOR: Colour = (238, 238, 238)
GRID_LINE: Colour = (170, 170, 170)
ROCK: Colour = (110, 110, 110)
AGENT: Colour = COLOURS["blue"]
STAR: Colour = (235, 185, 0)
# One step in each direction as (column, row) change; rows grow downwards, as in the image.
STEPS = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
QUESTION = (
    "The grid is a map seen from above. The blue circle is an agent, the yellow star is its goal and the"
    " grey squares are rocks. The agent moves one square at a time, up (towards the top of the image),"
    " down, left or right. Which way should the agent move first to reach the star by the shortest path?"
)

Cell = tuple[int, int]


def embodied_items() -> tuple[Item, ...]:
    rng = random.Random(SEED)
    letters = letters_balanced(rng=rng, count=COUNT)
    directions = answers_balanced(rng=rng, count=COUNT, answers=list(STEPS))
    return tuple(
        _item(rng=rng, index=index, direction=direction, letter=letter)
        for index, (direction, letter) in enumerate(zip(directions, letters, strict=True))
    )


def cell_centre(*, cell: Cell) -> tuple[int, int]:
    column, row = cell
    return column * CELL + CELL // 2, row * CELL + CELL // 2


def _item(*, rng: random.Random, index: int, direction: str, letter: str) -> Item:
    agent, star = _agent_and_star(rng=rng, direction=direction)
    step_column, step_row = STEPS[direction]
    path = {
        (agent[0] + step_column * step, agent[1] + step_row * step)
        for step in range(_distance(first=agent, second=star) + 1)
    }
    free = [(column, row) for column in range(GRID) for row in range(GRID) if (column, row) not in path]
    rocks = rng.sample(free, rng.randint(0, 4))
    image, draw = canvas_new(background=FLOOR, size=GRID * CELL)
    for line in range(GRID + 1):
        edge = min(line * CELL, GRID * CELL - 1)
        draw.line((edge, 0, edge, GRID * CELL - 1), fill=GRID_LINE, width=1)
        draw.line((0, edge, GRID * CELL - 1, edge), fill=GRID_LINE, width=1)
    for rock in rocks:
        x, y = cell_centre(cell=rock)
        draw.rectangle((x - 12, y - 12, x + 12, y + 12), fill=ROCK)
    shape_draw(draw=draw, shape="circle", centre=cell_centre(cell=agent), radius=11, colour=AGENT)
    shape_draw(draw=draw, shape="star", centre=cell_centre(cell=star), radius=14, colour=STAR)
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category=SUB_CATEGORY,
        index=index,
        question=QUESTION,
        correct=direction,
        distractors=[other for other in STEPS if other != direction],
        letter=letter,
        image=image,
    )


def _agent_and_star(*, rng: random.Random, direction: str) -> tuple[Cell, Cell]:
    """An agent cell with room to go `direction`, and the star 1 to 6 cells that way."""
    step_column, step_row = STEPS[direction]
    while True:
        agent = (rng.randrange(GRID), rng.randrange(GRID))
        distance = rng.randint(1, GRID - 1)
        star = (agent[0] + step_column * distance, agent[1] + step_row * distance)
        if 0 <= star[0] < GRID and 0 <= star[1] < GRID:
            return agent, star


def _distance(*, first: Cell, second: Cell) -> int:
    return abs(first[0] - second[0]) + abs(first[1] - second[1])
