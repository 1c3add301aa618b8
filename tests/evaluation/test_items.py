"""The shared benchmark item: its checks, its JSON form and the hash that versions a list."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from evaluation.items import Item, ItemError, items_sha256


def png(*, pixel: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    image = Image.new("RGB", (4, 4), (255, 255, 255))
    image.putpixel((1, 2), pixel)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def choice(**overrides: object) -> Item:
    fields: dict[str, object] = {
        "id": "b/1",
        "benchmark": "b",
        "category": "perception",
        "sub_category": "colour",
        "question": "What colour is the square?",
        "options": ("red", "green", "blue"),
        "answer": "B",
        "answer_type": "choice",
        "image": png(),
    }
    return Item(**{**fields, **overrides})  # type: ignore[arg-type]


def test_choice_item_names_its_letters_and_the_right_option():
    item = choice()
    assert item.option_letters == ("A", "B", "C")
    assert item.answer_text == "green"


def test_round_trip_through_json_gives_the_same_item():
    items = [
        choice(),
        Item(
            id="b/2",
            benchmark="b",
            category="hallucination",
            sub_category="",
            question="Is there a cat?",
            answer="no",
            answer_type="yesno",
        ),
        Item(
            id="b/3",
            benchmark="b",
            category="reading",
            sub_category="words",
            question="What word is written?",
            answer="river",
            answer_type="text",
            image=png(pixel=(0, 0, 0)),
            hint="Lower case.",
        ),
    ]
    for item in items:
        data = json.loads(json.dumps(item.to_dict()))
        assert Item.from_dict(data) == item


def test_to_dict_holds_the_image_as_base64_text():
    data = choice().to_dict()
    assert isinstance(data["image"], str)
    assert data["options"] == ["red", "green", "blue"]


def test_hash_is_the_same_for_equal_lists_and_depends_on_order():
    first, second = choice(), choice(id="b/2", answer="C")
    assert items_sha256(items=[first, second]) == items_sha256(items=[choice(), choice(id="b/2", answer="C")])
    assert items_sha256(items=[first, second]) != items_sha256(items=[second, first])


def test_hash_changes_when_one_pixel_changes():
    assert items_sha256(items=[choice()]) != items_sha256(items=[choice(image=png(pixel=(254, 255, 255)))])


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"answer": "D"}, "option letters A, B, C"),
        ({"answer": "green"}, "option letters"),
        ({"options": ("red", "Red ", "blue")}, "two options say the same"),
        ({"options": ("red",), "answer": "A"}, "2 to 26 options"),
        ({"answer_type": "yesno", "options": (), "answer": "maybe"}, "'yes' or 'no'"),
        ({"answer_type": "yesno", "answer": "yes"}, "has no options"),
        ({"answer_type": "text", "options": (), "answer": " "}, "non-empty"),
        ({"answer_type": "guess"}, "answer_type must be one of"),
        ({"image": b"GIF89a"}, "PNG bytes"),
        ({"question": ""}, "question must be non-empty"),
    ],
)
def test_an_item_that_cannot_be_right_is_refused_with_a_reason(overrides, problem):
    with pytest.raises(ItemError, match=problem):
        choice(**overrides)


def test_from_dict_names_a_missing_field():
    data = choice().to_dict()
    del data["answer"]
    with pytest.raises(ItemError, match="lacks the fields answer"):
        Item.from_dict(data)


def test_from_dict_refuses_fields_no_item_has():
    with pytest.raises(ItemError, match="fields no item has: colour"):
        Item.from_dict({**choice().to_dict(), "colour": "red"})


def test_from_dict_refuses_an_image_that_is_not_base64():
    with pytest.raises(ItemError, match="not valid base64"):
        Item.from_dict({**choice().to_dict(), "image": "not base64!"})


def test_from_dict_refuses_options_that_are_not_a_list_of_texts():
    with pytest.raises(ItemError, match="options must be a list of texts"):
        Item.from_dict({**choice().to_dict(), "options": "red, green"})
