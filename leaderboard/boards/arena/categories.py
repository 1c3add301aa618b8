"""The arena board's categories: every tab a snapshot can hold, and the labels a vote gets when cast."""

from __future__ import annotations

from typing import Final

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Value

from arena.models import Battle, Turn
from core.errors import InvalidInput
from leaderboard.ratings.categories import CATEGORY_RULES, MODALITY_LABELS, categories_label

OVERALL: Final = "overall"
# Every category a snapshot can hold, in tab order: all votes, the modality, then the prompt rules.
CATEGORIES: Final[tuple[str, ...]] = (
    OVERALL,
    "text",
    *(label for label in MODALITY_LABELS if label != "text"),
    *(rule.label for rule in CATEGORY_RULES),
    "non_english",
    "multi_turn",
)
CATEGORY_LABELS: Final[dict[str, str]] = {
    OVERALL: "Overall",
    "text": "Text only",
    "image": "Image",
    "video": "Video",
    "audio": "Audio",
    "ocr": "OCR",
    "counting": "Counting",
    "chart": "Charts & tables",
    "captioning": "Captioning",
    "reasoning": "Reasoning",
    "code": "Code",
    "non_english": "Non-English",
    "multi_turn": "Multi-turn",
}


def category_check(*, category: str) -> str:
    if category not in CATEGORIES:
        raise InvalidInput(f"There is no category {category!r}; choose one of {', '.join(CATEGORIES)}.")
    return category


def battle_categories_label(*, battle: Battle) -> list[str]:
    """The categories of a battle's prompts: every turn's text, its attachments, how many turns."""
    # One query on the vote's path: each turn's prompt with the kinds of its attachments.
    found = list(
        Turn.objects.filter(battle=battle)
        .order_by("index")
        .annotate(kinds=ArrayAgg("turnattachment__asset__kind", default=Value([])))
        .values_list("prompt", "kinds")
    )
    turns = [prompt for prompt, _ in found]
    kinds = {kind for _, turn_kinds in found for kind in turn_kinds if kind is not None}
    labels = categories_label(
        text="\n".join(turns),
        has_image="image" in kinds,
        has_video="video" in kinds,
        has_audio="audio" in kinds,
        turns=len(turns),
    )
    return sorted(labels)
