"""What the charts drawn as SVG on the server share: round rating scales and polyline paths."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

_TICKS_MAX: Final = 6


def nice_scale(bottom: float, top: float, *, ticks: int = _TICKS_MAX) -> tuple[float, float, float]:
    """The plot's bottom, top and tick step: the smallest round step (1, 2 or 5 times a power of ten) at
    which ticks on its multiples cover bottom..top in at most `ticks` ticks."""
    power = 10 ** math.floor(math.log10((top - bottom) / (ticks - 1)))
    for step in (factor * power for factor in (1, 2, 5, 10, 20, 50)):
        low, high = math.floor(bottom / step) * step, math.ceil(top / step) * step
        if round((high - low) / step) <= ticks - 1:
            return float(low), float(high), float(step)
    raise AssertionError("a step of 50 times the span's sixth always fits")


def svg_path(xs: Sequence[float], ys: Sequence[float]) -> str:
    """The polyline through the points, as an SVG path."""
    return " ".join(
        f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(zip(xs, ys, strict=True))
    )
