"""Plotly figures of the arena board, built on the server as JSON; the charts page only draws them.

Each function returns `go.Figure(...).to_plotly_json()`-style plain data (numbers, lists, dicts) that
`static/leaderboard/charts.js` hands to `Plotly.newPlot`. The page heads each chart itself, so a
figure's title rides along in `layout.meta.title` instead of taking room above the plot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import plotly.graph_objects as go

from leaderboard.boards.arena.selectors import HistoryPoint

Figure = dict[str, Any]

# Colours that read on light and dark pages alike; the page's own text colour is set in charts.js.
_ACCENT: Final = "#6366f1"
_SCALE: Final = "RdBu"
_HISTORY_MODELS: Final = 12  # more lines than this is a tangle
_ANNOTATE_UP_TO: Final = 16  # write numbers into heatmap cells only while they fit


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
    name: str
    rating: float | None
    ci_lower: float | None
    ci_upper: float | None
    component: int


def chart_ratings(*, models: Sequence[RatedModel], title: str) -> Figure:
    """Each model's rating with its 95% interval as error bars, best first."""
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
    """A row-model-against-column-model heatmap (win rate, predicted win rate, battle counts)."""
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
            colorbar={"title": {"text": colorbar}},
            texttemplate=number if len(models) <= _ANNOTATE_UP_TO else None,
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


def chart_history(*, points: Sequence[HistoryPoint], names: Mapping[str, str], title: str) -> Figure:
    """Ratings over the snapshots, for the best-rated models of the latest one."""
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
    return _plain(figure)
