"""tiny-ehub, the built-in benchmark: 300 items drawn with Pillow, no downloads, the same bytes every time.

After Tiny LVLM-eHub's six categories, 50 items each (sub-category: items):

- visual_perception: colour 17, shape 17, counting 16 (four options)
- visual_knowledge_acquisition: word_reading 25, digit_reading 25 (free text: the word or number)
- visual_reasoning: spatial_relation 25, size_comparison 25 (four options)
- visual_commonsense: traffic_light 17, clock 17, road_sign 16 (four options)
- object_hallucination: random 25, adversarial 25 (yes/no, 25 of each in all)
- embodied_intelligence: grid_navigation 50 (four options: up, down, left, right)

In each multiple-choice category every letter A-D is the right one for 12 or 13 items. Images are
224x224 RGB PNGs, under 300 KB for the whole set, built in about a second. Each category draws from
its own fixed seed, so changing one leaves the others' items as they were. "The same bytes" holds for one
Pillow build (its FreeType draws the text, its zlib packs the PNGs); see `drawing`.

`TINY_EHUB_VERSION` is the sha256 of the item list (`evaluation.items.items_sha256`): any changed item,
pixel or word gives a new version, so stored results never mix two sets. It is computed, and the items
built, on first use rather than at import.
"""

from __future__ import annotations

import functools

from evaluation.items import Item, items_sha256
from evaluation.tinyehub.builders import BENCHMARK
from evaluation.tinyehub.commonsense import commonsense_items
from evaluation.tinyehub.embodied import embodied_items
from evaluation.tinyehub.hallucination import hallucination_items
from evaluation.tinyehub.knowledge import knowledge_items
from evaluation.tinyehub.perception import perception_items
from evaluation.tinyehub.reasoning import reasoning_items

CATEGORIES = (
    "visual_perception",
    "visual_knowledge_acquisition",
    "visual_reasoning",
    "visual_commonsense",
    "object_hallucination",
    "embodied_intelligence",
)

TINY_EHUB_VERSION: str  # Set on first access by __getattr__ below.


@functools.cache
def tiny_ehub_items() -> tuple[Item, ...]:
    """All 300 items, category by category in CATEGORIES order; built once per process."""
    return (
        *perception_items(),
        *knowledge_items(),
        *reasoning_items(),
        *commonsense_items(),
        *hallucination_items(),
        *embodied_items(),
    )


@functools.cache
def tiny_ehub_version() -> str:
    """The hex sha256 of `tiny_ehub_items()`."""
    return items_sha256(items=tiny_ehub_items())


def __getattr__(name: str) -> str:
    # Building the items takes a second; importing the package (as app loading may) should not.
    if name == "TINY_EHUB_VERSION":
        return tiny_ehub_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BENCHMARK", "CATEGORIES", "TINY_EHUB_VERSION", "tiny_ehub_items", "tiny_ehub_version"]
