"""The charts drawn as SVG on the server: what they leave out on a phone and say so, the numbers in the
cells only where they fit, colours from the figure's own scale, and names that stay text."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from PIL import ImageFont

from leaderboard.boards.arena.charts import RatedModel, chart_history, chart_matrix, chart_ratings
from leaderboard.boards.arena.pictures import chart_pictures, matrix_picture, ratings_picture, text_width
from leaderboard.boards.arena.selectors import HistoryPoint


def _models(count: int) -> list[RatedModel]:
    return [
        RatedModel(
            slug=f"m{i}",
            name=f"Model {i}",
            rating=1200.0 - 20 * i,
            ci_lower=1180.0 - 20 * i,
            ci_upper=1220.0 - 20 * i,
            component=0,
        )
        for i in range(count)
    ]


def _win_rates(count: int) -> dict:
    values = [[None if i == j else (0.85 if i < j else 0.15) for j in range(count)] for i in range(count)]
    return chart_matrix(
        models=[f"Model {i}" for i in range(count)],
        values=values,
        title="t",
        colorbar="win rate",
        percent=True,
    )


def test_a_phone_picture_draws_the_best_rated_that_fit_and_says_how_many_it_left_out():
    figure = chart_ratings(models=_models(40), title="t")
    compact = ratings_picture(figure, variant="compact")
    wide = ratings_picture(figure, variant="wide")
    assert compact is not None and wide is not None
    assert compact.cut and compact.shown < wide.shown <= 40
    assert compact.svg.count("<circle") == compact.shown
    assert "Model 0:" in compact.svg and f"Model {compact.shown}:" not in compact.svg
    assert compact.label_note == (
        f", the {compact.shown} best-rated of 40 models; the table below lists all of them"
    )


def test_few_models_fit_whole_with_every_cell_numbered():
    picture = matrix_picture(_win_rates(4), variant="compact", key="win_rate")
    assert picture is not None and not picture.cut and picture.label_note == ""
    assert picture.svg.count('class="cell"') == 4 * 3
    assert ">85%</text>" in picture.svg and ">15%</text>" in picture.svg


def test_cells_too_small_for_their_numbers_leave_them_to_the_tooltips():
    picture = matrix_picture(_win_rates(30), variant="wide", key="win_rate")
    assert picture is not None
    assert 'class="cell"' not in picture.svg
    assert "<title>Model 0 vs Model 1: 85%</title>" in picture.svg


def test_cell_colours_follow_the_figure_colour_scale_and_their_numbers_stay_readable():
    figure = _win_rates(2)
    scale = figure["data"][0]["colorscale"]
    picture = matrix_picture(figure, variant="wide", key="win_rate")
    assert picture is not None
    # 85% sits halfway between the scale's 0.8 and 0.9 stops (dark blue in RdBu): white numbers on it.
    low, high = (tuple(int(v) for v in colour[4:-1].split(",")) for _, colour in scale[8:10])
    expected = tuple(round(a + (b - a) * 0.5) for a, b in zip(low, high, strict=True))
    drawn = re.search(r'<rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)"><title>Model 0 vs Model 1', picture.svg)
    assert drawn is not None
    assert all(abs(int(got) - want) <= 1 for got, want in zip(drawn.groups(), expected, strict=True))
    assert 'fill="#fff" class="cell">85%' in picture.svg


def test_a_model_name_is_text_in_the_picture_never_markup():
    models = [
        RatedModel(
            slug="x",
            name='<script>alert(1)</script>"',
            rating=1000.0,
            ci_lower=990.0,
            ci_upper=1010.0,
            component=0,
        )
    ]
    picture = ratings_picture(chart_ratings(models=models, title="t"), variant="wide")
    assert picture is not None
    assert "<script>" not in picture.svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in picture.svg


def test_history_draws_a_line_per_model_with_its_legend_and_nothing_without_snapshots():
    start = datetime(2026, 11, 1, tzinfo=UTC)
    points = [
        HistoryPoint(
            version=i,
            created_at=start + timedelta(days=i),
            rows=[{"model": "a", "rating": 1000.0 + i}, {"model": "b", "rating": 990.0 - i}],
        )
        for i in range(5)
    ]
    figure, _ = chart_history(points=points, names={"a": "Alpha", "b": "Beta"}, title="t")
    pictures = chart_pictures(figures={"history": figure})["history"]
    assert [picture.variant for picture in pictures] == ["compact", "wide"]
    for picture in pictures:
        assert [name for name, _ in picture.legend] == ["Alpha", "Beta"]
        assert picture.svg.count('class="chart-line"') == 2
        assert ">1 Nov</text>" in picture.svg and ">5 Nov</text>" in picture.svg
    empty, _ = chart_history(points=[], names={}, title="t")
    assert chart_pictures(figures={"history": empty}) == {}


@pytest.mark.parametrize(
    "text", ["100%", "1,234", "Qwen2-VL 72B …", "WWW MMM", "LLaVA OneVision 7B", "against (column)"]
)
def test_text_widths_are_estimated_no_narrower_than_the_browser_sets_them(text):
    # The face Chromium picks for system-ui here, measured by its own metrics.
    face = subprocess.run(
        ["fc-match", "-f", "%{file}", "system-ui"], capture_output=True, text=True, check=True
    ).stdout
    font = ImageFont.truetype(face, 100)
    assert text_width(text, 100) >= font.getlength(text)
