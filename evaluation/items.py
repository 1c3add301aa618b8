"""The benchmark item every benchmark shares, its JSON form and the hash that versions a list of them.

Pure Python (no Django): runs, storage and importers build on it. An item carries its question, its
options, the right answer and its image as PNG bytes; how a prompt is laid out from them (options as
"A. ...") is the inferencer's business, so `question` holds the question alone.

Modalities beyond the one image (audio, video) join later as fields that default to None; such a field
must stay out of `to_dict()` while it holds its default, so that the hash of every existing list, and
with it every benchmark version already stored, stays the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

AnswerType = Literal["choice", "yesno", "text"]
ANSWER_TYPES: tuple[AnswerType, ...] = ("choice", "yesno", "text")
OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
YES_NO = ("yes", "no")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_TEXT_FIELDS = ("id", "benchmark", "category", "sub_category", "question", "answer", "answer_type", "hint")
_FIELDS = frozenset((*_TEXT_FIELDS, "options", "image"))


class ItemError(ValueError):
    """An item that cannot be right as given; the message names the item and what is wrong."""


@dataclass(frozen=True, kw_only=True)
class Item:
    """One question of a benchmark, with the answer that counts as right.

    `answer` is the option letter ("A", "B", ...) when `answer_type` is "choice", "yes" or "no" when it
    is "yesno", and the expected text otherwise. `sub_category` may be empty for benchmarks without one;
    `hint` is context shown with the question (as MMBench's hint), empty when there is none.
    """

    id: str
    benchmark: str
    category: str
    sub_category: str
    question: str
    options: tuple[str, ...] = ()
    answer: str
    answer_type: AnswerType
    image: bytes | None = None
    hint: str = ""

    def __post_init__(self) -> None:
        problem = _item_problem(item=self)
        if problem:
            raise ItemError(f"Item {self.id!r}: {problem}.")

    @property
    def option_letters(self) -> tuple[str, ...]:
        """The letters of the options, in order ("A", "B", ...); empty unless multiple choice."""
        return tuple(OPTION_LETTERS[: len(self.options)])

    @property
    def answer_text(self) -> str:
        """The right answer as a person reads it: the option's text for multiple choice."""
        if self.answer_type == "choice":
            return self.options[OPTION_LETTERS.index(self.answer)]
        return self.answer

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: options as a list, the image as base64 text (or None)."""
        return {
            "id": self.id,
            "benchmark": self.benchmark,
            "category": self.category,
            "sub_category": self.sub_category,
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "answer_type": self.answer_type,
            "image": None if self.image is None else base64.b64encode(self.image).decode("ascii"),
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """The item `to_dict` gave; raises ItemError saying which field is missing or malformed."""
        label = f"Item {data.get('id')!r}" if isinstance(data, Mapping) else "An item"
        if not isinstance(data, Mapping):
            raise ItemError(f"{label} must be a JSON object.")
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise ItemError(f"{label} has fields no item has: {', '.join(unknown)}.")
        missing = sorted(key for key in _FIELDS if key not in data)
        if missing:
            raise ItemError(f"{label} lacks the fields {', '.join(missing)}.")
        for key in _TEXT_FIELDS:
            if not isinstance(data[key], str):
                raise ItemError(f"{label}: {key} must be text.")
        options = data["options"]
        if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
            raise ItemError(f"{label}: options must be a list of texts.")
        return cls(
            id=data["id"],
            benchmark=data["benchmark"],
            category=data["category"],
            sub_category=data["sub_category"],
            question=data["question"],
            options=tuple(options),
            answer=data["answer"],
            answer_type=cast(AnswerType, data["answer_type"]),
            image=_image_decode(value=data["image"], label=label),
            hint=data["hint"],
        )


def items_sha256(*, items: Iterable[Item]) -> str:
    """The hex sha256 of the items in order, image bytes included: a benchmark's version.

    Each item is hashed as its `to_dict()` in canonical JSON (sorted keys, no spaces), one a line, so the
    hash depends on nothing but the items' content and order.
    """
    digest = hashlib.sha256()
    for item in items:
        line = json.dumps(item.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _item_problem(*, item: Item) -> str:
    """What is wrong with the item, as the end of a sentence; empty when nothing is."""
    for name in ("id", "benchmark", "category", "question"):
        value = getattr(item, name)
        if not isinstance(value, str) or not value.strip():
            return f"{name} must be non-empty text"
    if not isinstance(item.sub_category, str) or not isinstance(item.hint, str):
        return "sub_category and hint must be text"
    if item.answer_type not in ANSWER_TYPES:
        return f"answer_type must be one of {', '.join(ANSWER_TYPES)}, not {item.answer_type!r}"
    if not isinstance(item.options, tuple) or not all(isinstance(option, str) for option in item.options):
        return "options must be a tuple of texts"
    if item.image is not None and not (
        isinstance(item.image, bytes) and item.image.startswith(PNG_SIGNATURE)
    ):
        return "the image must be PNG bytes"
    if not isinstance(item.answer, str):
        return "answer must be text"
    if item.answer_type == "choice":
        return _choice_problem(options=item.options, answer=item.answer)
    if item.options:
        return f"a {item.answer_type} item has no options"
    if item.answer_type == "yesno" and item.answer not in YES_NO:
        return f"the answer of a yes/no item must be 'yes' or 'no', not {item.answer!r}"
    if not item.answer.strip():
        return "the answer must be non-empty text"
    return ""


def _choice_problem(*, options: tuple[str, ...], answer: str) -> str:
    if not 2 <= len(options) <= len(OPTION_LETTERS):
        return f"a multiple-choice item needs 2 to {len(OPTION_LETTERS)} options, not {len(options)}"
    if any(not option.strip() for option in options):
        return "an option is empty"
    if len({option.strip().casefold() for option in options}) != len(options):
        return "two options say the same"
    letters = OPTION_LETTERS[: len(options)]
    if len(answer) != 1 or answer not in letters:
        return f"the answer must be one of the option letters {', '.join(letters)}, not {answer!r}"
    return ""


def _image_decode(*, value: object, label: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemError(f"{label}: image must be base64 text or null.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ItemError(f"{label}: image is not valid base64.") from None
