"""The arena charts drawn as SVG on the server, from the same Plotly figures that charts.js draws.

The page shows these pictures at once and loads no chart library: on a phone, evaluating plotly.js and
drawing five figures holds the main thread for seconds. Plotly replaces a picture only when someone
reaches for the chart (hovers, taps or focuses it) to read values off it; the pictures carry each
value as a tooltip and the tables under them list every number.

Each chart is drawn twice, `compact` for a phone's width and `wide` for the rest, and the stylesheet
shows one. A picture is fitted as charts.js fits a figure: only the best-rated models that fit (saying
so), upright column labels where level ones would touch, and heatmap cells without numbers once the
numbers no longer fit. Text widths are estimated generously, so that a label never runs into another.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, Final, Literal

from django.utils.safestring import SafeString, mark_safe

from leaderboard.boards.svg import nice_scale, svg_path

Variant = Literal["compact", "wide"]
VARIANTS: Final[tuple[Variant, ...]] = ("compact", "wide")

_ACCENT: Final = "#6366f1"
# plotly.js's default colourway, so that a line keeps its colour when Plotly takes over.
_LINES: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_MIN_CELL: Final = 18  # a heatmap cell or a ratings slot: above a label's line height
_MIN_SLOT: Final = 16


@dataclass(frozen=True)
class _Fit:
    width: int  # the drawing's width in CSS pixels at 1:1
    size: int  # font size
    name_max: int  # characters of a model's name before it is cut short
    plot_height: int


_FITS: Final[dict[str, dict[Variant, _Fit]]] = {
    "ratings": {"compact": _Fit(340, 10, 14, 240), "wide": _Fit(720, 12, 22, 260)},
    "history": {"compact": _Fit(340, 10, 14, 240), "wide": _Fit(720, 12, 22, 260)},
    "matrix": {"compact": _Fit(340, 10, 14, 0), "wide": _Fit(560, 12, 22, 0)},
}


@dataclass(frozen=True)
class Picture:
    variant: Variant
    svg: SafeString
    shown: int  # the models drawn
    total: int  # of how many
    legend: tuple[tuple[str, str], ...] = ()  # (name, colour) per line

    @property
    def cut(self) -> bool:
        return self.shown < self.total

    @property
    def label_note(self) -> str:
        """What the picture's accessible name adds when it leaves models out."""
        if not self.cut:
            return ""
        return f", the {self.shown} best-rated of {self.total} models; the table below lists all of them"


def _char_width(char: str) -> float:
    # Generous per-character widths (in em) of the sans-serif faces browsers pick for system-ui.
    if char.isdigit():
        return 0.64
    if char in "%@MW":
        return 0.96
    if char.isupper():
        return 0.74
    if char in " .,:;'|!il":
        return 0.34
    return 0.62


def text_width(text: str, size: float) -> float:
    """An upper estimate of `text`'s width at `size` pixels."""
    return sum(_char_width(char) for char in text) * size


def _short(name: str, most: int) -> str:
    return f"{name[: most - 1]}…" if len(name) > most else name


def _text(x: float, y: float, text: str, *, size: float, anchor: str = "middle", **extra: str) -> str:
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" dy=".32em"{attributes}>'
        f"{escape(text)}</text>"
    )


def _upright(x: float, y: float, text: str, *, size: float, anchor: str = "end", **extra: str) -> str:
    """Text read from bottom to top, its end at (x, y)."""
    return _text(
        0, 0, text, size=size, anchor=anchor, transform=f"translate({x:.1f} {y:.1f}) rotate(-90)", **extra
    )


def _svg(width: float, height: float, body: Sequence[str]) -> SafeString:
    # Every piece of text in `body` went through escape() in _text(); the rest is numbers we wrote.
    return mark_safe(  # noqa: S308
        f'<svg class="chart-svg" viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-hidden="true" focusable="false">{"".join(body)}</svg>'
    )


def _rating_axis(bottom: float, top: float, *, y0: float, height: float) -> tuple[list[float], Any]:
    if top - bottom < 10:
        middle = (bottom + top) / 2
        bottom, top = middle - 5, middle + 5
    low, high, step = nice_scale(bottom, top)
    ticks = [low + i * step for i in range(round((high - low) / step) + 1)]

    def y(value: float) -> float:
        return y0 + (high - value) / (high - low) * height

    return ticks, y


def _y_axis(ticks: Sequence[float], y: Any, *, left: float, right: float, size: int, title: str) -> list[str]:
    body = []
    for tick in ticks:
        level = f"{y(tick):.1f}"
        body.append(f'<line class="chart-grid" x1="{left:.1f}" x2="{right:.1f}" y1="{level}" y2="{level}"/>')
        body.append(_text(left - 6, y(tick), f"{tick:,.0f}", size=size, anchor="end"))
    middle = (y(ticks[0]) + y(ticks[-1])) / 2
    body.append(_upright(size * 0.7, middle, title, size=size, anchor="middle"))
    return body


def _title(figure: dict[str, Any], axis: str) -> str:
    return str(((figure.get("layout") or {}).get(axis) or {}).get("title", {}).get("text") or "")


def _tick_room(ticks: Sequence[float], size: int) -> float:
    return max(text_width(f"{tick:,.0f}", size) for tick in ticks) + 8 + size * 1.4


def ratings_picture(figure: dict[str, Any], *, variant: Variant) -> Picture | None:
    """Each model's rating as a dot with its 95% interval as a bar, best first."""
    fit = _FITS["ratings"][variant]
    trace = (figure.get("data") or [{}])[0]
    names: list[str] = list(trace.get("x") or [])
    if not names:
        return None
    ratings: list[float] = [float(value) for value in trace["y"]]
    error = trace.get("error_y") or {}
    plus = [value or 0.0 for value in error.get("array") or [0.0] * len(names)]
    minus = [value or 0.0 for value in error.get("arrayminus") or [0.0] * len(names)]
    size, total = fit.size, len(names)
    top_margin, right = 12.0, 12.0
    # The scale of all models, so that the compact and the wide picture agree.
    ticks, y = _rating_axis(
        min(r - m for r, m in zip(ratings, minus, strict=True)),
        max(r + p for r, p in zip(ratings, plus, strict=True)),
        y0=top_margin,
        height=fit.plot_height,
    )
    left = _tick_room(ticks, size)
    shown = max(1, min(total, math.floor((fit.width - left - right) / _MIN_SLOT)))
    slot = (fit.width - left - right) / shown
    short = [_short(name, fit.name_max) for name in names[:shown]]
    longest = max(text_width(name, size) for name in short)
    upright = slot < longest + 8
    bottom = top_margin + fit.plot_height
    height = bottom + (longest + 12 if upright else size + 16)
    body = _y_axis(ticks, y, left=left, right=fit.width - right, size=size, title=_title(figure, "yaxis"))
    for i in range(shown):
        x = left + slot * (i + 0.5)
        high, low, middle = y(ratings[i] + plus[i]), y(ratings[i] - minus[i]), y(ratings[i])
        tip = f"{names[i]}: rating {ratings[i]:.0f} (+{plus[i]:.0f} / −{minus[i]:.0f})"
        body.append(
            f'<g class="chart-point"><title>{escape(tip)}</title>'
            f'<path class="chart-bar" d="M{x:.1f},{high:.1f}V{low:.1f}'
            f'M{x - 4:.1f},{high:.1f}h8M{x - 4:.1f},{low:.1f}h8"/>'
            f'<circle cx="{x:.1f}" cy="{middle:.1f}" r="4.5" fill="{_ACCENT}"/></g>'
        )
        if upright:
            body.append(_upright(x, bottom + 6, short[i], size=size))
        else:
            body.append(_text(x, bottom + 6 + size / 2, short[i], size=size))
    return Picture(variant=variant, svg=_svg(fit.width, height, body), shown=shown, total=total)


def _rgb(colour: str) -> tuple[float, float, float]:
    red, green, blue = (float(part) for part in colour.strip()[4:-1].split(","))
    return red, green, blue


def _colour(scale: Sequence[Sequence[Any]], share: float) -> tuple[int, int, int]:
    share = min(1.0, max(0.0, share))
    for (start, low), (end, high) in itertools.pairwise(scale):
        if share <= end:
            part = (share - start) / (end - start) if end > start else 0.0
            a, b = _rgb(low), _rgb(high)
            red, green, blue = (round(a[k] + (b[k] - a[k]) * part) for k in range(3))
            return red, green, blue
    red, green, blue = (round(value) for value in _rgb(scale[-1][1]))
    return red, green, blue


def _ink(red: int, green: int, blue: int) -> str:
    """Black or white, whichever reads on the cell."""
    return "#000" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 140 else "#fff"


def matrix_picture(figure: dict[str, Any], *, variant: Variant, key: str) -> Picture | None:
    """A row-model-against-column-model heatmap, with its colour bar."""
    fit = _FITS["matrix"][variant]
    trace = (figure.get("data") or [{}])[0]
    names: list[str] = list(trace.get("x") or [])
    if not names:
        return None
    size, total = fit.size, len(names)
    percent = ".0%" in str(trace.get("texttemplate") or "")
    values = [value for row in trace["z"] for value in row if value is not None]
    low = 0.0 if percent else float(min(values, default=0))
    high = 1.0 if percent else float(max(values, default=1))
    span = (high - low) or 1.0
    scale = trace["colorscale"]

    def number(value: float) -> str:
        return f"{value:.0%}" if percent else f"{round(value):,}"

    bar_ticks = [low, (low + high) / 2, high] if percent else [low, high]
    bar_labels = [number(value) for value in bar_ticks]
    bar_title = str((trace.get("colorbar") or {}).get("title", {}).get("text") or "")
    bar = 10 if variant == "compact" else 14
    right = 8 + bar + 4 + max(text_width(label, size) for label in bar_labels) + 6 + size * 1.4
    short = [_short(name, fit.name_max) for name in names]
    label = max(text_width(name, size) for name in short) + 8
    title_room = size * 1.4
    left, top = label + title_room, 8.0
    room = fit.width - left - right
    shown = max(1, min(total, math.floor(room / _MIN_CELL)))
    cell = room / shown
    short = short[:shown]
    longest = max(text_width(name, size) for name in short)
    written = [number(value) for row in trace["z"][:shown] for value in row[:shown] if value is not None]
    fits = (
        cell >= max((text_width(text, size) for text in written or ["0"]), default=0) + 6 and cell >= size + 4
    )
    upright = cell < longest + 6
    bottom = top + room
    height = bottom + (longest + 10 if upright else size + 12) + title_room
    body = []
    for i in range(shown):
        for j in range(shown):
            value = trace["z"][i][j]
            if value is None:
                continue
            red, green, blue = _colour(scale, (float(value) - low) / span)
            x, y = left + j * cell, top + i * cell
            tip = f"{names[i]} vs {names[j]}: {number(value)}"
            body.append(
                f'<rect x="{x + 0.5:.1f}" y="{y + 0.5:.1f}" width="{cell - 1:.1f}" height="{cell - 1:.1f}" '
                f'fill="rgb({red},{green},{blue})"><title>{escape(tip)}</title></rect>'
            )
            if fits:
                body.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2,
                        number(value),
                        size=size,
                        fill=_ink(red, green, blue),
                        **{"class": "cell"},
                    )
                )
    for i, name in enumerate(short):
        body.append(_text(left - 6, top + (i + 0.5) * cell, name, size=size, anchor="end"))
        x = left + (i + 0.5) * cell
        if upright:
            body.append(_upright(x, bottom + 6, name, size=size))
        else:
            body.append(_text(x, bottom + 6 + size / 2, name, size=size))
    body.append(_upright(size * 0.7, top + room / 2, _title(figure, "yaxis"), size=size, anchor="middle"))
    body.append(_text(left + room / 2, height - title_room / 2, _title(figure, "xaxis"), size=size))
    # The colour bar: highest at the top, as Plotly draws it.
    gradient = f"bar-{key}-{variant}"
    stops = "".join(
        f'<stop offset="{1 - float(offset):.3f}" stop-color="{colour}"/>'
        for offset, colour in reversed(scale)
    )
    bar_x = fit.width - right + 8
    body.append(
        f'<defs><linearGradient id="{gradient}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>'
    )
    body.append(
        f'<rect x="{bar_x:.1f}" y="{top:.1f}" width="{bar}" height="{room:.1f}" fill="url(#{gradient})"/>'
    )
    for value, text in zip(bar_ticks, bar_labels, strict=True):
        y = top + (high - value) / span * room
        body.append(
            _text(
                bar_x + bar + 4,
                min(max(y, top + size / 2), bottom - size / 2),
                text,
                size=size,
                anchor="start",
            )
        )
    body.append(_upright(fit.width - size * 0.7, top + room / 2, bar_title, size=size, anchor="middle"))
    return Picture(variant=variant, svg=_svg(fit.width, height, body), shown=shown, total=total)


def _time_label(moment: datetime, *, span_s: float) -> str:
    return f"{moment:%H:%M}" if span_s < 2 * 86400 else f"{moment.day} {moment:%b}"


def history_picture(figure: dict[str, Any], *, variant: Variant) -> Picture | None:
    """Ratings over the snapshots, a line per model, with the legend under it (as HTML, which wraps)."""
    fit = _FITS["history"][variant]
    lines = [
        (
            str(trace.get("name") or ""),
            [datetime.fromisoformat(x) for x in trace["x"]],
            [float(v) for v in trace["y"]],
        )
        for trace in figure.get("data") or []
        if trace.get("x")
    ]
    if not lines:
        return None
    size = fit.size
    times = [moment for _, xs, _ in lines for moment in xs]
    ratings = [value for _, _, ys in lines for value in ys]
    top_margin, right = 12.0, 12.0
    ticks, y = _rating_axis(min(ratings), max(ratings), y0=top_margin, height=fit.plot_height)
    left = _tick_room(ticks, size)
    start, end = min(times), max(times)
    span_s = (end - start).total_seconds()
    plot_width = fit.width - left - right

    def x(moment: datetime) -> float:
        if span_s == 0:
            return left + plot_width / 2
        return left + (moment - start).total_seconds() / span_s * plot_width

    bottom = top_margin + fit.plot_height
    height = bottom + 2 * size + 24
    body = _y_axis(ticks, y, left=left, right=fit.width - right, size=size, title=_title(figure, "yaxis"))
    count = 1 if span_s == 0 else (3 if variant == "compact" else 6)
    for i in range(count):
        moment = start if count == 1 else start + (end - start) * (i / (count - 1))
        anchor = "middle" if count == 1 else ("start" if i == 0 else "end" if i == count - 1 else "middle")
        body.append(
            _text(
                x(moment), bottom + 6 + size / 2, _time_label(moment, span_s=span_s), size=size, anchor=anchor
            )
        )
    body.append(_text(left + plot_width / 2, height - size / 2 - 2, _title(figure, "xaxis"), size=size))
    legend = []
    for index, (name, xs, ys) in enumerate(lines):
        colour = _LINES[index % len(_LINES)]
        legend.append((name, colour))
        xs_drawn = [x(moment) for moment in xs]
        ys_drawn = [y(value) for value in ys]
        marks = ""
        if len(xs) < 30:
            marks = "".join(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3"/>'
                for px, py in zip(xs_drawn, ys_drawn, strict=True)
            )
        body.append(
            f'<g class="chart-line" stroke="{colour}" fill="{colour}"><title>{escape(name)}</title>'
            f'<path fill="none" stroke-width="2" d="{svg_path(xs_drawn, ys_drawn)}"/>{marks}</g>'
        )
    return Picture(
        variant=variant,
        svg=_svg(fit.width, height, body),
        shown=len(lines),
        total=len(lines),
        legend=tuple(legend),
    )


def chart_pictures(*, figures: dict[str, dict[str, Any]]) -> dict[str, tuple[Picture, ...]]:
    """Each figure's compact and wide pictures, by figure key; a figure with nothing to draw has none."""
    pictures: dict[str, tuple[Picture, ...]] = {}
    for key, figure in figures.items():
        drawn = []
        for variant in VARIANTS:
            if key == "ratings":
                picture = ratings_picture(figure, variant=variant)
            elif key == "history":
                picture = history_picture(figure, variant=variant)
            else:
                picture = matrix_picture(figure, variant=variant, key=key)
            if picture is not None:
                drawn.append(picture)
        if drawn:
            pictures[key] = tuple(drawn)
    return pictures
