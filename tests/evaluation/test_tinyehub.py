"""tiny-ehub: counts, balance, determinism, and that each image really holds its answer."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluation import tinyehub
from evaluation.items import OPTION_LETTERS, Item, items_sha256
from evaluation.tinyehub import CATEGORIES, TINY_EHUB_VERSION, tiny_ehub_items
from evaluation.tinyehub.commonsense import LIGHTS
from evaluation.tinyehub.drawing import COLOURS, SIZE, WHITE, png_encode
from evaluation.tinyehub.embodied import AGENT, CELL, STAR
from evaluation.tinyehub.knowledge import WORDS

ROOT = Path(__file__).resolve().parents[2]
SUB_CATEGORY_COUNTS = {
    ("visual_perception", "colour"): 17,
    ("visual_perception", "shape"): 17,
    ("visual_perception", "counting"): 16,
    ("visual_knowledge_acquisition", "word_reading"): 25,
    ("visual_knowledge_acquisition", "digit_reading"): 25,
    ("visual_reasoning", "spatial_relation"): 25,
    ("visual_reasoning", "size_comparison"): 25,
    ("visual_commonsense", "traffic_light"): 17,
    ("visual_commonsense", "clock"): 17,
    ("visual_commonsense", "road_sign"): 16,
    ("object_hallucination", "random"): 25,
    ("object_hallucination", "adversarial"): 25,
    ("embodied_intelligence", "grid_navigation"): 50,
}


@pytest.fixture(scope="module")
def items() -> tuple[Item, ...]:
    return tiny_ehub_items()


def of(items, sub_category: str) -> list[Item]:
    return [item for item in items if item.sub_category == sub_category]


def pixels(item: Item) -> np.ndarray:
    assert item.image is not None
    return np.asarray(Image.open(io.BytesIO(item.image)).convert("RGB"))


def mask_of(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.all(image == colour, axis=-1)


def patches(mask: np.ndarray) -> int:
    """How many 4-connected patches the mask holds: a plain flood fill."""
    seen = np.zeros_like(mask)
    count = 0
    height, width = mask.shape
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return count


def centre_of(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    assert len(xs), "the colour is not in the image"
    return float(xs.mean()), float(ys.mean())


def test_there_are_300_items_50_per_category_in_the_documented_sub_categories(items):
    assert len(items) == 300
    assert Counter(item.category for item in items) == dict.fromkeys(CATEGORIES, 50)
    assert Counter((item.category, item.sub_category) for item in items) == SUB_CATEGORY_COUNTS
    assert {item.benchmark for item in items} == {"tiny-ehub"}
    assert len({item.id for item in items}) == 300


def test_each_letter_is_the_right_answer_equally_often_in_every_choice_category(items):
    for category in set(CATEGORIES) - {"visual_knowledge_acquisition", "object_hallucination"}:
        letters = Counter(item.answer for item in items if item.category == category)
        assert set(letters) == set("ABCD"), category
        assert max(letters.values()) - min(letters.values()) <= 1, (category, letters)


def test_every_choice_item_has_four_distinct_options_and_a_valid_letter(items):
    for item in items:
        if item.answer_type == "choice":
            assert len(item.options) == 4
            assert len(set(item.options)) == 4
            assert item.answer in OPTION_LETTERS[:4]


def test_hallucination_questions_are_half_yes_half_no(items):
    hallucination = [item for item in items if item.category == "object_hallucination"]
    assert {item.answer_type for item in hallucination} == {"yesno"}
    assert Counter(item.answer for item in hallucination) == {"yes": 25, "no": 25}


def test_reading_items_are_free_text_with_distinct_words_and_numbers(items):
    words = [item.answer for item in of(items, "word_reading")]
    numbers = [item.answer for item in of(items, "digit_reading")]
    assert set(words) <= set(WORDS) and len(set(words)) == 25
    assert all(number.isdigit() for number in numbers) and len(set(numbers)) == 25
    assert {item.answer_type for item in of(items, "word_reading") + of(items, "digit_reading")} == {"text"}


def test_every_image_is_a_small_rgb_png(items):
    for item in items:
        assert item.image is not None
        with Image.open(io.BytesIO(item.image)) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (SIZE, SIZE))
    assert sum(len(item.image or b"") for item in items) < 2_000_000


def test_two_builds_give_the_same_items_and_the_version_is_their_hash(items):
    rebuilt = tiny_ehub_items.__wrapped__()
    assert rebuilt is not items
    assert rebuilt == items
    assert items_sha256(items=rebuilt) == TINY_EHUB_VERSION == tinyehub.tiny_ehub_version()
    assert len(TINY_EHUB_VERSION) == 64


def test_another_process_with_another_hash_seed_builds_the_same_version():
    script = "from evaluation.tinyehub import TINY_EHUB_VERSION; print(TINY_EHUB_VERSION)"
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment, cwd=ROOT
    )
    assert result.stdout.strip() == TINY_EHUB_VERSION


def test_the_version_changes_when_one_pixel_changes(items):
    first = items[0]
    assert first.image is not None
    image = Image.open(io.BytesIO(first.image)).convert("RGB")
    red, green, blue = image.getpixel((0, 0))
    image.putpixel((0, 0), (red ^ 1, green, blue))
    changed = dataclasses.replace(first, image=png_encode(image=image))
    assert items_sha256(items=(changed, *items[1:])) != TINY_EHUB_VERSION


def test_counting_images_hold_as_many_shapes_as_the_answer(items):
    for item in of(items, "counting"):
        shapes = patches(~mask_of(pixels(item), WHITE))
        assert shapes == int(item.answer_text), item.id


def test_colour_images_are_mostly_the_colour_answered(items):
    for item in of(items, "colour"):
        image = pixels(item)
        colours, counts = np.unique(image[~mask_of(image, WHITE)], axis=0, return_counts=True)
        assert tuple(colours[counts.argmax()]) == COLOURS[item.answer_text], item.id


def test_spatial_relations_match_the_shapes_positions(items):
    for item in of(items, "spatial_relation"):
        # "Where is the red circle relative to the blue square?"
        words = item.question.rstrip("?").split()
        image = pixels(item)
        (x1, y1), (x2, y2) = (centre_of(mask_of(image, COLOURS[words[index]])) for index in (3, -2))
        if abs(y1 - y2) < 5:
            relation = "to its left" if x1 < x2 else "to its right"
        else:
            assert abs(x1 - x2) < 5, item.id
            relation = "above it" if y1 < y2 else "below it"
        assert abs(x1 - x2) + abs(y1 - y2) > 60, item.id
        assert relation == item.answer_text, item.id


def test_size_comparisons_name_the_colour_with_the_most_or_fewest_pixels(items):
    for item in of(items, "size_comparison"):
        image = pixels(item)
        areas = {name: int(mask_of(image, COLOURS[name]).sum()) for name in item.options}
        pick = max if "largest" in item.question else min
        assert pick(areas, key=areas.__getitem__) == item.answer_text, item.id


def test_traffic_lights_show_the_lamp_their_answer_means(items):
    for item in of(items, "traffic_light"):
        image = pixels(item)
        lit = {meaning for meaning, (_, colour) in LIGHTS.items() if mask_of(image, colour).any()}
        assert lit == {item.answer_text}, item.id


def test_adversarial_no_questions_ask_about_a_colour_the_image_shows(items):
    for item in of(items, "adversarial"):
        colour = item.question.split()[3]
        assert mask_of(pixels(item), COLOURS[colour]).any(), item.id


def test_the_star_lies_straight_ahead_in_the_answered_direction(items):
    for item in of(items, "grid_navigation"):
        image = pixels(item)
        (agent_x, agent_y), (star_x, star_y) = (
            centre_of(mask_of(image, AGENT)),
            centre_of(mask_of(image, STAR)),
        )
        column_step = round((star_x - agent_x) / CELL)
        row_step = round((star_y - agent_y) / CELL)
        assert (column_step == 0) != (row_step == 0), item.id
        direction = (
            ("left" if column_step < 0 else "right") if row_step == 0 else ("up" if row_step < 0 else "down")
        )
        assert direction == item.answer_text, item.id
