"""The arena charts: Plotly figures built on the server as JSON, and the same numbers as tables.

Each `chart_*` function returns `go.Figure(...).to_plotly_json()`-style plain data (numbers, lists,
dicts) that `static/leaderboard/charts.js` hands to Plotly. The page heads each chart itself, so a
figure's title rides along in `layout.meta.title` instead of taking room above the plot. What fits
a screen (how many models, whether cells carry their numbers) is decided in the browser, which
knows the width; the figures hold every model, best-rated first, and the tables list them all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import plotly.graph_objects as go
from django.conf import settings

from arena.models import Model
from leaderboard.boards.arena.categories import CATEGORY_LABELS
from leaderboard.boards.arena.pictures import Picture, chart_pictures
from leaderboard.boards.arena.selectors import HistoryPoint, board_rows, snapshot_result, snapshots_history
from leaderboard.models import RatingSnapshot
from leaderboard.ratings.bradley_terry import RATING_SCALE

Figure = dict[str, Any]

# Colours that read on light and dark pages alike; the page's own text colour is set in charts.js.
_ACCENT: Final = "#6366f1"
_SCALE: Final = "RdBu"
_HISTORY_MODELS: Final = 12  # more lines than this is a tangle


def model_url(slug: str) -> str:
    """A model's own page."""
    return f"/models/{slug}/"


def _layout(**extra: Any) -> dict[str, Any]:
    return {
        # No plotly template: its defaults would be repeated in every figure's JSON.
        "template": "none",
        "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "autosize": True,
        **extra,
    }


def _plain(figure: go.Figure) -> Figure:
    # to_json() encodes numpy arrays and NaN the way plotly.js reads them; back to plain data here
    # so the page can embed every figure in one json_script block.
    data: Figure = json.loads(figure.to_json())
    return data


@dataclass(frozen=True)
class RatedModel:
    slug: str
    name: str
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    component: int
    battles: int = 0
    rank: int | None = None

    @property
    def url(self) -> str:
        return model_url(self.slug)


def chart_ratings(*, models: Sequence[RatedModel], title: str) -> Figure:
    """Each model's rating with its 95% interval as error bars, in the given order (best first)."""
    rated = [model for model in models if model.rating is not None]
    plus = [
        (model.ci_upper - model.rating) if model.ci_upper is not None and model.rating is not None else None
        for model in rated
    ]
    minus = [
        (model.rating - model.ci_lower) if model.ci_lower is not None and model.rating is not None else None
        for model in rated
    ]
    figure = go.Figure(
        go.Scatter(
            x=[model.name for model in rated],
            y=[model.rating for model in rated],
            # charts.js opens the model's page when a point is clicked.
            customdata=[model.slug for model in rated],
            mode="markers",
            marker={"size": 9, "color": _ACCENT},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": plus,
                "arrayminus": minus,
                "thickness": 1.5,
            },
            hovertemplate="%{x}<br>rating %{y:.0f} (+%{error_y.array:.0f} / -%{error_y.arrayminus:.0f})"
            "<extra></extra>",
        ),
        layout=_layout(
            meta={"title": title},
            yaxis={
                "title": {"text": "Rating (95% interval)"},
                "gridcolor": "rgba(128,128,128,0.25)",
                "automargin": True,
            },
            xaxis={"tickangle": -40, "automargin": True},
        ),
    )
    return _plain(figure)


def chart_matrix(
    *,
    models: Sequence[str],
    values: Sequence[Sequence[float | None]],
    title: str,
    colorbar: str,
    percent: bool,
) -> Figure:
    """A row-model-against-column-model heatmap (win rate, predicted win rate, battle counts).

    Every cell carries its number (`texttemplate`); charts.js leaves the numbers out where the
    cells are too small to hold them, and hover (or a tap) still tells.
    """
    number = "%{z:.0%}" if percent else "%{z:,}"
    figure = go.Figure(
        go.Heatmap(
            z=[list(row) for row in values],
            x=list(models),
            y=list(models),
            colorscale=_SCALE if percent else "Blues",
            zmid=0.5 if percent else None,
            zmin=0.0 if percent else None,
            zmax=1.0 if percent else None,
            colorbar={"title": {"text": colorbar, "side": "right"}},
            texttemplate=number,
            hovertemplate=f"%{{y}} vs %{{x}}: {number}<extra></extra>",
            xgap=1,
            ygap=1,
        ),
        layout=_layout(
            meta={"title": title},
            xaxis={
                "tickangle": -40,
                "side": "bottom",
                "title": {"text": "against (column)"},
                "automargin": True,
            },
            yaxis={"autorange": "reversed", "title": {"text": "model (row)"}, "automargin": True},
        ),
    )
    return _plain(figure)


def chart_history(
    *, points: Sequence[HistoryPoint], names: Mapping[str, str], title: str
) -> tuple[Figure, list[str]]:
    """Ratings over the snapshots for the best-rated models of the latest one, and those models' slugs."""
    latest = points[-1].rows if points else []
    leaders = [row["model"] for row in sorted(latest, key=lambda row: -(row["rating"] or float("-inf")))]
    leaders = leaders[:_HISTORY_MODELS]
    traces = []
    for slug in leaders:
        xs, ys = [], []
        for point in points:
            row = next((row for row in point.rows if row["model"] == slug), None)
            if row is not None and row["rating"] is not None:
                xs.append(point.created_at.isoformat())
                ys.append(row["rating"])
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                customdata=[slug] * len(xs),
                mode="lines+markers" if len(xs) < 30 else "lines",
                name=names.get(slug, slug),
                hovertemplate="%{fullData.name}<br>%{x}<br>rating %{y:.0f}<extra></extra>",
            )
        )
    figure = go.Figure(
        traces,
        layout=_layout(
            meta={"title": title},
            yaxis={"title": {"text": "Rating"}, "gridcolor": "rgba(128,128,128,0.25)", "automargin": True},
            xaxis={"title": {"text": "Snapshot time (UTC)"}, "automargin": True},
            legend={"orientation": "h", "y": -0.3},
        ),
    )
    return _plain(figure), leaders


def predicted_win_rates(*, models: Sequence[RatedModel]) -> list[list[float | None]]:
    """P(row beats column) from the ratings, as the stored matrices compute it: none on the diagonal,
    for a model without a rating, or between components (their ratings are on separate scales)."""
    matrix: list[list[float | None]] = []
    for row in models:
        cells: list[float | None] = []
        for column in models:
            if (
                row is column
                or row.rating is None
                or column.rating is None
                or row.component != column.component
            ):
                cells.append(None)
            else:
                cells.append(1.0 / (1.0 + math.pow(10.0, (column.rating - row.rating) / RATING_SCALE)))
        matrix.append(cells)
    return matrix


# ---------- The page: every figure and its table ----------


@dataclass(frozen=True)
class MatrixTable:
    """A heatmap's numbers: `cells[i][j]` is row model i against column model j, as written."""

    models: tuple[RatedModel, ...]
    cells: tuple[tuple[str, ...], ...]

    @property
    def rows(self) -> list[tuple[RatedModel, tuple[str, ...]]]:
        return list(zip(self.models, self.cells, strict=True))


@dataclass(frozen=True)
class HistoryLine:
    model: RatedModel
    first: float | None
    latest: float | None
    points: int


@dataclass(frozen=True)
class ArenaCharts:
    category: str
    style: bool
    interval: str
    figures: dict[str, Figure]
    ratings: tuple[RatedModel, ...]  # best first, as drawn
    matrices: dict[str, MatrixTable]
    history: tuple[HistoryLine, ...]
    pictures: dict[str, tuple[Picture, ...]]  # the figures drawn as SVG, compact and wide


_MATRICES: Final = (
    ("win_rate", "Win rate (ties left out)", "win rate", True),
    ("battle_counts", "Battles between each pair", "battles", False),
    ("predicted_win_rate", "Predicted win rate from the ratings", "P(row wins)", True),
)


def _cell(value: float | None, *, percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.0%}" if percent else f"{round(value):,}"


def _unrated(slug: str, name_of: Callable[[str], str]) -> RatedModel:
    return RatedModel(slug=slug, name=name_of(slug), rating=None, ci_lower=None, ci_upper=None, component=-1)


def arena_charts(*, snapshot: RatingSnapshot, category: str, style: bool) -> ArenaCharts | None:
    """The charts page of one category, with or without style control; None without a result.

    Style control changes the ratings, what they predict and their history; the observed win rates
    and battle counts are the votes themselves either way. The heatmaps list the models in the order
    of the ratings shown, so that the best-rated come first (a phone draws the first few only).
    """
    result = snapshot_result(snapshot=snapshot, category=category)
    if result is None:
        return None
    interval = settings.LEADERBOARD_INTERVALS
    rows = board_rows(
        snapshot=snapshot,
        category=category,
        style=style,
        min_battles=0,
        min_votes=settings.LEADERBOARD_MIN_VOTES,
        interval=interval,
    )
    info = snapshot.model_info or {}
    slugs = [row["model"] for row in rows]
    names = dict(Model.objects.filter(slug__in=slugs).values_list("slug", "display_name"))

    def name_of(slug: str) -> str:
        return names.get(slug) or info.get(slug, {}).get("name") or slug

    # The ranked models first (best first within each component), then the provisional ones, and
    # those without a rating (outside the style sample) last.
    rows.sort(
        key=lambda row: (
            row["rating"] is None,
            row["provisional"],
            row["component"],
            -(row["rating"] if row["rating"] is not None else 0.0),
            row["model"],
        )
    )
    rated = tuple(
        RatedModel(
            slug=row["model"],
            name=name_of(row["model"]),
            rating=row["rating"],
            ci_lower=row["ci_lower"],
            ci_upper=row["ci_upper"],
            component=row["component"],
            battles=row["battles"],
            rank=row["rank"],
        )
        for row in rows
    )
    label = CATEGORY_LABELS[category]
    figures: dict[str, Figure] = {
        "ratings": chart_ratings(models=rated, title=f"{label}: ratings with 95% intervals"),
    }
    stored = result.get("matrices") or {}
    matrix_models: list[str] = list(stored.get("models") or [])
    by_slug = {model.slug: model for model in rated}
    position = {model.slug: i for i, model in enumerate(rated)}
    order = sorted(range(len(matrix_models)), key=lambda i: position.get(matrix_models[i], len(position)))
    ordered = tuple(by_slug.get(matrix_models[i]) or _unrated(matrix_models[i], name_of) for i in order)
    matrices: dict[str, MatrixTable] = {}
    for key, title, colorbar, percent in _MATRICES if matrix_models else ():
        if key == "predicted_win_rate" and style:
            values: list[list[float | None]] = predicted_win_rates(models=ordered)
        elif key in stored:
            values = [[stored[key][i][j] for j in order] for i in order]
        else:
            continue
        figures[key] = chart_matrix(
            models=[model.name for model in ordered],
            values=values,
            title=f"{label}: {title}",
            colorbar=colorbar,
            percent=percent,
        )
        matrices[key] = MatrixTable(
            models=ordered,
            cells=tuple(tuple(_cell(value, percent=percent) for value in row) for row in values),
        )
    points = snapshots_history(category=category, style=style)
    figures["history"], leaders = chart_history(
        points=points, names={slug: name_of(slug) for slug in slugs}, title=f"{label}: rating over time"
    )
    history = []
    for slug in leaders:
        ratings = [
            row["rating"]
            for point in points
            for row in point.rows
            if row["model"] == slug and row["rating"] is not None
        ]
        model = by_slug.get(slug) or _unrated(slug, name_of)
        history.append(
            HistoryLine(
                model=model,
                first=ratings[0] if ratings else None,
                latest=ratings[-1] if ratings else None,
                points=len(ratings),
            )
        )
    return ArenaCharts(
        category=category,
        style=style,
        interval=interval,
        figures=figures,
        ratings=tuple(model for model in rated if model.rating is not None),
        matrices=matrices,
        history=tuple(history),
        pictures=chart_pictures(figures=figures),
    )
