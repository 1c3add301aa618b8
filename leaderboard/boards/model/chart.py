"""A model's rating over time as an SVG drawn on the server: no chart library, nothing to load after the page.

The plot is a fixed-height SVG stretched to the page's width (`preserveAspectRatio="none"`, strokes that
do not scale), so its coordinates are fractions of a `WIDTH` x `HEIGHT` box. Axis labels are HTML around
it, which keeps them readable at every width: the rating ticks are evenly spaced by construction, so the
page lays them out in a column from top to bottom with no position of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from leaderboard.boards.svg import nice_scale, svg_path

WIDTH: Final = 1000
HEIGHT: Final = 200
_SPAN_MIN: Final = 10.0  # rating points: the narrowest scale drawn
_MARKERS_UP_TO: Final = 30  # a dot on every point while they stay apart


@dataclass(frozen=True)
class HistoryChart:
    line: str  # the rating line's SVG path
    band: str  # the 95% interval as a closed SVG path ("" when no point has one)
    markers: tuple[str, ...]  # a dot per snapshot while there are few: zero-length paths, round caps
    grid: tuple[str, ...]  # y of each rating tick's grid line
    ticks: tuple[int, ...]  # the rating ticks, top first (the page lists them beside the plot)
    first: datetime
    last: datetime
    low: float  # the rating at the bottom of the plot
    high: float  # and at its top


def history_chart(*, points: Sequence[Mapping[str, Any]]) -> HistoryChart | None:
    """The chart of `points` (rows of `model_history`: created_at, rating, ci_lower, ci_upper), oldest
    first; None when none of them has a rating."""
    rated = [point for point in points if point.get("rating") is not None]
    if not rated:
        return None
    ratings = [float(point["rating"]) for point in rated]
    lows = [float(p["ci_lower"]) if p.get("ci_lower") is not None else float(p["rating"]) for p in rated]
    highs = [float(p["ci_upper"]) if p.get("ci_upper") is not None else float(p["rating"]) for p in rated]
    bottom, top = min(lows), max(highs)
    if top - bottom < _SPAN_MIN:
        # A steady rating without an interval still gets a scale around it, with the line in the middle.
        middle = (bottom + top) / 2
        bottom, top = middle - _SPAN_MIN / 2, middle + _SPAN_MIN / 2
    low, high, step = nice_scale(bottom, top)
    times = [point["created_at"].timestamp() for point in rated]
    start, end = times[0], times[-1]

    def y(value: float) -> float:
        return (high - value) / (high - low) * HEIGHT

    if end == start:
        # One snapshot (or several at once): a short level stroke in the middle, so there is a line to see.
        xs = [WIDTH / 2 - 6, WIDTH / 2 + 6]
        ratings, lows, highs = ratings[-1:] * 2, lows[-1:] * 2, highs[-1:] * 2
    else:
        xs = [(time - start) / (end - start) * WIDTH for time in times]
    band = ""
    if lows != highs:
        # Along the upper bounds, then back along the lower ones: one closed shape.
        back = svg_path(xs[::-1], [y(v) for v in lows[::-1]])
        band = f"{svg_path(xs, [y(v) for v in highs])} L{back[1:]} Z"
    ticks = tuple(round(high - i * step) for i in range(round((high - low) / step) + 1))
    return HistoryChart(
        line=svg_path(xs, [y(value) for value in ratings]),
        band=band,
        markers=tuple(f"M{px:.1f},{y(value):.1f} l0,0" for px, value in zip(xs, ratings, strict=True))
        if len(rated) <= _MARKERS_UP_TO and end != start
        else (),
        grid=tuple(f"{y(tick):.1f}" for tick in ticks),
        ticks=ticks,
        first=rated[0]["created_at"],
        last=rated[-1]["created_at"],
        low=low,
        high=high,
    )
