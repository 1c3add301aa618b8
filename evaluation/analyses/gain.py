"""MMStar's multimodal gain and multimodal leakage for one model on one benchmark.

MMStar (Chen et al., 2024) runs each item with and without its image: the gain MG = S_v - S_wv is what the
image adds; the leakage ML = max(0, S_wv - S_t) is how much the model answers without the image beyond what
its base language model already could, i.e. benchmark items seen in (multimodal) training. S_t is a registered
base language model's text-only score; without one the leakage is not known and is left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class GainResult:
    """Scores are fractions of the items answered right (0-1)."""

    items: int
    score_with_image: float
    score_without_image: float
    text_only_score: float | None
    gain: float
    leakage: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GainResult:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def leakage_compute(*, score_without_image: float, text_only_score: float) -> float:
    """ML = max(0, S_wv - S_t): what the model answers without the image beyond its base language model."""
    return max(0.0, score_without_image - text_only_score)


def gain_compute(
    *,
    with_image: Mapping[str, bool],
    without_image: Mapping[str, bool],
    text_only_score: float | None = None,
) -> GainResult:
    """Gain and leakage from per-item correctness (item id → answered right) of the two runs.

    Both runs must cover the same items: a gain over different item sets would mix item difficulty into it.
    """
    if not with_image:
        raise ValueError("There are no items to measure the multimodal gain on.")
    if set(with_image) != set(without_image):
        missing = sorted(set(with_image) ^ set(without_image))
        raise ValueError(
            "The runs with and without the image must cover the same items; "
            f"{len(missing)} differ (first: {missing[0]})."
        )
    if text_only_score is not None and not (math.isfinite(text_only_score) and 0.0 <= text_only_score <= 1.0):
        raise ValueError("The text-only score must be a fraction between 0 and 1.")
    count = len(with_image)
    score_v = sum(bool(value) for value in with_image.values()) / count
    score_wv = sum(bool(value) for value in without_image.values()) / count
    leakage = (
        None
        if text_only_score is None
        else leakage_compute(score_without_image=score_wv, text_only_score=text_only_score)
    )
    return GainResult(
        items=count,
        score_with_image=score_v,
        score_without_image=score_wv,
        text_only_score=text_only_score,
        gain=score_v - score_wv,
        leakage=leakage,
    )
