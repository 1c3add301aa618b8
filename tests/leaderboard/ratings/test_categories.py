"""Rule-based prompt categories and per-category battle selection."""

from __future__ import annotations

import pytest

from leaderboard.ratings.battle_set import battles_parse
from leaderboard.ratings.categories import (
    CATEGORY_RULES,
    battles_filter_category,
    categories_label,
    text_is_non_english,
)


@pytest.mark.parametrize(
    ("text", "media", "expected"),
    [
        ("What does the sign in this photo say?", {"has_image": True}, {"image", "ocr"}),
        ("Transcribe the handwriting.", {"has_image": True}, {"image", "ocr"}),
        ("How many dogs are in the picture?", {"has_image": True}, {"image", "counting"}),
        ("Summarise the bar chart and its y-axis.", {"has_image": True}, {"image", "chart"}),
        ("Describe this image in detail.", {"has_image": True}, {"image", "captioning"}),
        ("Solve 3x + 5 = 20 step by step.", {}, {"text", "reasoning"}),
        ("Write a Python function that reverses a list.", {}, {"text", "code"}),
        ("What is happening in this clip?", {"has_video": True}, {"video", "captioning"}),
        ("Who is speaking?", {"has_audio": True}, {"audio"}),
        ("Hello there", {}, {"text"}),
    ],
)
def test_prompt_gets_the_labels_its_rules_match(
    text: str, media: dict[str, bool], expected: set[str]
) -> None:
    assert categories_label(text=text, **media) == expected


def test_ocr_needs_an_image_or_video() -> None:
    assert "ocr" not in categories_label(text="Transcribe the handwriting.")


def test_more_than_one_turn_is_multi_turn() -> None:
    assert "multi_turn" in categories_label(text="and now?", turns=2)
    assert "multi_turn" not in categories_label(text="and now?", turns=1)


@pytest.mark.parametrize(
    ("text", "non_english"),
    [
        ("这张图片里有什么？", True),
        ("Что изображено на картинке?", True),
        ("¿Qué hay en esta imagen? Describe los colores por favor.", True),
        ("Qu'est-ce que c'est dans cette image et pour qui?", True),
        ("Was ist auf dem Bild und wie viele Menschen sind es?", True),
        ("What is in this image? Please describe the colours.", False),
        ("Describe the café and the naïve décor.", False),
        ("1234 + 5678", False),
    ],
)
def test_non_english_detection(text: str, non_english: bool) -> None:
    assert text_is_non_english(text=text) is non_english


def test_rules_live_in_one_table_with_a_label_each() -> None:
    labels = [rule.label for rule in CATEGORY_RULES]
    assert labels == ["ocr", "counting", "chart", "captioning", "reasoning", "code"]
    assert all(rule.patterns for rule in CATEGORY_RULES)


def test_category_filter_keeps_its_battles_and_lists_models_with_enough_of_them() -> None:
    battles = battles_parse(
        rows=[
            {"model_a": "a", "model_b": "b", "winner": "model_a"},
            {"model_a": "a", "model_b": "c", "winner": "tie"},
            {"model_a": "b", "model_b": "a", "winner": "model_b"},
            {"model_a": "c", "model_b": "b", "winner": "model_a"},
        ]
    )
    labels = [{"text", "code"}, {"text", "code"}, {"text"}, {"text", "code"}]
    selection = battles_filter_category(battles=battles, labels=labels, category="code", min_battles=2)
    assert len(selection.battles) == 3
    assert selection.displayed == ("a", "b", "c")
    assert (
        battles_filter_category(battles=battles, labels=labels, category="code", min_battles=3).displayed
        == ()
    )
    with pytest.raises(ValueError, match="got labels for 2 battles, expected 4"):
        battles_filter_category(battles=battles, labels=labels[:2], category="code")
