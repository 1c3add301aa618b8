"""Modalities and task groups of General-Bench, and how their names are read."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from leaderboard.general_level.errors import GeneralLevelInputError


class Modality(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    THREE_D = "3d"
    NLP = "nlp"


class Group(StrEnum):
    COMPREHENSION = "comprehension"
    GENERATION = "generation"


# The overall Level-2/3/4 average over exactly these, in this order, whatever the task set holds.
NON_LANGUAGE_MODALITIES: Final[tuple[Modality, ...]] = (
    Modality.IMAGE,
    Modality.VIDEO,
    Modality.AUDIO,
    Modality.THREE_D,
)

_MODALITY_NAMES: Final[dict[str, Modality]] = {
    "image": Modality.IMAGE,
    "video": Modality.VIDEO,
    "audio": Modality.AUDIO,
    "3d": Modality.THREE_D,
    "nlp": Modality.NLP,
    "language": Modality.NLP,
}

_GROUP_NAMES: Final[dict[str, Group]] = {
    "comprehension": Group.COMPREHENSION,
    "c": Group.COMPREHENSION,
    "generation": Group.GENERATION,
    "g": Group.GENERATION,
}


def modality_parse(*, name: str) -> Modality:
    """The modality called `name` (case-insensitive); raises GeneralLevelInputError otherwise."""
    found = _MODALITY_NAMES.get(name.strip().casefold())
    if found is None:
        allowed = ", ".join(m.value for m in Modality)
        raise GeneralLevelInputError(f"unknown modality {name!r}; expected one of {allowed}")
    return found


def group_parse(*, name: str) -> Group:
    """The group called `name` (comprehension/generation or C/G, case-insensitive)."""
    found = _GROUP_NAMES.get(name.strip().casefold())
    if found is None:
        raise GeneralLevelInputError(f"unknown group {name!r}; expected 'comprehension' or 'generation'")
    return found
