"""Visual commonsense: what a traffic light or road sign asks of a driver, the time a clock shows (50 items).

The signs are the international (Vienna Convention) ones whose meaning hardly varies by country: the
red octagon STOP, the red disc with a white bar (no entry) and the red-bordered triangle on its tip
(give way).
"""

from __future__ import annotations

import random

from evaluation.items import Item
from evaluation.tinyehub.builders import answers_balanced, choice_item, letters_balanced
from evaluation.tinyehub.drawing import (
    CLOCK_DIRECTIONS,
    SIZE,
    WHITE,
    Colour,
    canvas_new,
    inverted_triangle_draw,
    octagon_draw,
    text_draw,
)

CATEGORY = "visual_commonsense"
SEED = 1204
COUNTS = {"traffic_light": 17, "clock": 17, "road_sign": 16}
SKY: Colour = (205, 228, 250)
_SIGN_RED: Colour = (200, 16, 30)
_DARK: Colour = (45, 45, 45)
_UNLIT: Colour = (85, 85, 85)
# The lamp lit, top to bottom, and what it asks of a driver.
LIGHTS: dict[str, tuple[int, Colour]] = {
    "Stop": (0, (235, 20, 20)),
    "Slow down and get ready to stop": (1, (250, 170, 0)),
    "Go": (2, (20, 200, 60)),
}
_LIGHT_DISTRACTOR = "Sound the horn"
SIGNS = ("Stop completely before going on", "Do not enter this road", "Give way to other traffic")
_SIGN_DISTRACTOR = "Parking is allowed here"


def commonsense_items() -> tuple[Item, ...]:
    rng = random.Random(SEED)
    letters = iter(letters_balanced(rng=rng, count=sum(COUNTS.values())))
    lights = answers_balanced(rng=rng, count=COUNTS["traffic_light"], answers=list(LIGHTS))
    items = [
        _traffic_light_item(rng=rng, index=index, meaning=meaning, letter=next(letters))
        for index, meaning in enumerate(lights)
    ]
    hours = answers_balanced(rng=rng, count=COUNTS["clock"], answers=range(1, 12))
    items += [
        _clock_item(rng=rng, index=index, hour=hour, letter=next(letters)) for index, hour in enumerate(hours)
    ]
    signs = answers_balanced(rng=rng, count=COUNTS["road_sign"], answers=SIGNS)
    items += [
        _road_sign_item(rng=rng, index=index, meaning=meaning, letter=next(letters))
        for index, meaning in enumerate(signs)
    ]
    return tuple(items)


def _traffic_light_item(*, rng: random.Random, index: int, meaning: str, letter: str) -> Item:
    lit, lit_colour = LIGHTS[meaning]
    image, draw = canvas_new(background=SKY)
    x = SIZE // 2 + rng.randint(-40, 40)
    draw.rectangle((x - 5, 190, x + 5, SIZE - 1), fill=_DARK)
    draw.rectangle((x - 32, 12, x + 32, 190), fill=_DARK)
    for lamp in range(3):
        y = 42 + lamp * 59
        draw.ellipse((x - 23, y - 23, x + 23, y + 23), fill=lit_colour if lamp == lit else _UNLIT)
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="traffic_light",
        index=index,
        question="A driver comes to this traffic light. What should the driver do?",
        correct=meaning,
        distractors=[*(other for other in LIGHTS if other != meaning), _LIGHT_DISTRACTOR],
        letter=letter,
        image=image,
    )


def _clock_item(*, rng: random.Random, index: int, hour: int, letter: str) -> Item:
    image, draw = canvas_new(background=(235, 235, 235))
    cx, cy = SIZE // 2 + rng.randint(-6, 6), SIZE // 2 + rng.randint(-6, 6)
    radius = 96
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=WHITE, outline=_DARK, width=5)
    # Numbers stand in for the ticks at 12, 3, 6 and 9, outside the hands' reach so none hides them.
    for hour_mark, (dx, dy) in enumerate(CLOCK_DIRECTIONS):
        if hour_mark % 3 == 0:
            centre = (cx + dx * 76 // 1000, cy + dy * 76 // 1000)
            text_draw(draw=draw, text=str(hour_mark or 12), centre=centre, size=22, colour=_DARK)
        else:
            inner, outer = radius - 16, radius - 6
            tick = (
                cx + dx * inner // 1000,
                cy + dy * inner // 1000,
                cx + dx * outer // 1000,
                cy + dy * outer // 1000,
            )
            draw.line(tick, fill=_DARK, width=4)
    # Minute hand long and thin at 12, hour hand short and thick: read as a person reads a real clock.
    minute_dx, minute_dy = CLOCK_DIRECTIONS[0]
    draw.line((cx, cy, cx + minute_dx * 60 // 1000, cy + minute_dy * 60 // 1000), fill=_DARK, width=4)
    hour_dx, hour_dy = CLOCK_DIRECTIONS[hour]
    draw.line((cx, cy, cx + hour_dx * 40 // 1000, cy + hour_dy * 40 // 1000), fill=_DARK, width=9)
    draw.ellipse((cx - 7, cy - 7, cx + 7, cy + 7), fill=_DARK)
    others = [other for other in range(1, 13) if other != hour]
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="clock",
        index=index,
        question="What time does the clock show?",
        correct=f"{hour} o'clock",
        distractors=[f"{other} o'clock" for other in rng.sample(others, 3)],
        letter=letter,
        image=image,
    )


def _road_sign_item(*, rng: random.Random, index: int, meaning: str, letter: str) -> Item:
    image, draw = canvas_new(background=SKY)
    x, y = SIZE // 2 + rng.randint(-10, 10), 96 + rng.randint(-6, 6)
    draw.rectangle((x - 5, y, x + 5, SIZE - 1), fill=(120, 120, 120))
    if meaning == SIGNS[0]:
        octagon_draw(draw=draw, centre=(x, y), radius=78, colour=WHITE)
        octagon_draw(draw=draw, centre=(x, y), radius=72, colour=_SIGN_RED)
        text_draw(draw=draw, text="STOP", centre=(x, y), size=40, colour=WHITE)
    elif meaning == SIGNS[1]:
        draw.ellipse((x - 76, y - 76, x + 76, y + 76), fill=WHITE)
        draw.ellipse((x - 70, y - 70, x + 70, y + 70), fill=_SIGN_RED)
        draw.rectangle((x - 50, y - 13, x + 50, y + 13), fill=WHITE)
    else:
        inverted_triangle_draw(draw=draw, centre=(x, y), radius=88, colour=_SIGN_RED)
        inverted_triangle_draw(draw=draw, centre=(x, y), radius=52, colour=WHITE)
    return choice_item(
        rng=rng,
        category=CATEGORY,
        sub_category="road_sign",
        index=index,
        question="What does this road sign tell a driver?",
        correct=meaning,
        distractors=[*(other for other in SIGNS if other != meaning), _SIGN_DISTRACTOR],
        letter=letter,
        image=image,
    )
