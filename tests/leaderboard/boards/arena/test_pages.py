"""The arena board page, its live fragment and the charts page."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest
from django.test import Client

from arena.models import Model
from leaderboard.boards.arena.online_elo import online_rating_apply
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.models import OnlineRating
from tests.factories import length_biased_votes_make, model_make, vote_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    # Boards of a few dozen votes: ranked here (test_provisional.py shows what too few votes do).
    settings.LEADERBOARD_MIN_VOTES = 1


def _voted(model_a: Model, model_b: Model, winner: str = "model_a", categories: Sequence[str] = ()) -> None:
    """A vote as vote_cast records it: the vote and the online Elo step."""
    vote_make(model_a, model_b, winner, categories=categories)
    online_rating_apply(model_a=model_a, model_b=model_b, winner=winner)


@pytest.fixture
def board_models() -> dict[str, Model]:
    strong = model_make(slug="strong", display_name="Strong VL", organization="Lab S", license="mit")
    middle = model_make(slug="middle", display_name="Middle VL", organization="Lab M")
    weak = model_make(slug="weak", display_name="Weak VL", organization="Lab W", status=Model.Status.RETIRED)
    for _ in range(12):
        _voted(strong, middle, categories=["text"])
        _voted(middle, weak, categories=["text"])
        _voted(strong, weak, categories=["image", "ocr"])
    for _ in range(30):
        _voted(strong, middle, categories=["text"])
    # In OCR the middle model beats the strong one.
    for _ in range(8):
        _voted(middle, strong, categories=["image", "ocr"])
    _voted(weak, middle, categories=["text"])
    _voted(weak, strong, categories=["image"])
    snapshot_compute()
    return {"strong": strong, "middle": middle, "weak": weak}


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-model="([^"]+)"', html)


def test_the_board_lists_models_best_first_with_every_column(board_models):
    response = Client().get("/leaderboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _rows(html) == ["strong", "middle", "weak"]
    for header in (
        "Rank",
        "Model",
        "Organization",
        "License",
        "Rating",
        "95% CI",
        "Votes",
        "Online Elo",
        "Updated",
    ):
        assert f">{header}<" in html
    assert "Strong VL" in html and "Lab S" in html and "mit" in html
    row = re.search(r'<tr data-model="strong".*?</tr>', html, re.S).group(0)
    online = OnlineRating.objects.get(model=board_models["strong"]).rating
    assert f">{online:.1f}<" in row
    assert re.search(r'data-cell="ci"><span class="ci">\+\d+/−\d+</span>', row)
    assert 'data-status="retired"' in html and "badge-retired" in html
    # The tabs to the General-Level board stay.
    assert 'href="/leaderboard/general-level/"' in html


def test_category_tabs_show_the_rank_change_against_overall(board_models):
    html = Client().get("/leaderboard/?category=ocr").content.decode()
    assert 'aria-current="page" data-category="ocr"' in html
    assert {"overall", "text", "image", "ocr"} <= set(re.findall(r'data-category="([a-z_]+)"', html))
    assert _rows(html)[0] == "middle"
    middle = re.search(r'<tr data-model="middle".*?</tr>', html, re.S).group(0)
    assert 'class="rank-change" data-change="1"' in middle and "▲1" in middle


def test_minimum_votes_hides_models_and_ranks_the_rest_again(board_models):
    # Image votes: strong 21, weak 13, middle 8.
    html = Client().get("/leaderboard/?category=image&min_votes=10").content.decode()
    assert _rows(html) == ["strong", "weak"]
    assert "1 model with fewer than 10 votes hidden." in html
    assert 'name="min_votes"' in html and 'value="10"' in html
    assert 'href="?category=ocr&amp;min_votes=10"' in html, "the tabs keep the filter"


def test_an_unknown_category_is_a_404(board_models):
    assert Client().get("/leaderboard/?category=nope").status_code == 404


def test_models_voted_on_since_the_snapshot_wait_below_with_their_online_elo(board_models):
    newcomer = model_make(slug="newcomer", display_name="Newcomer VL")
    _voted(newcomer, board_models["weak"])
    html = Client().get("/leaderboard/").content.decode()
    assert _rows(html)[-1] == "newcomer"
    assert "Voted on since the last snapshot" in html


def test_an_empty_board_invites_the_first_vote():
    html = Client().get("/leaderboard/").content.decode()
    assert "No ratings yet." in html and 'data-board="arena"' in html


def test_the_fragment_carries_its_version_and_answers_304_while_unchanged(board_models):
    client = Client()
    fragment = client.get("/leaderboard/fragment/?category=overall")
    version = fragment["X-Board-Version"]
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    page = client.get("/leaderboard/").content.decode()
    assert f'data-version="{version}"' in page
    assert 'data-fragment-url="/leaderboard/fragment/?category=overall"' in page
    assert client.get("/leaderboard/fragment/", headers={"If-None-Match": f'"{version}"'}).status_code == 304
    _voted(board_models["weak"], board_models["strong"])
    changed = client.get("/leaderboard/fragment/", headers={"If-None-Match": f'"{version}"'})
    assert changed.status_code == 200 and changed["X-Board-Version"] != version


def test_the_board_page_stays_light_and_the_charts_page_draws_plotly_figures(board_models):
    board = Client().get("/leaderboard/").content.decode()
    assert "plotly" not in board
    assert "/static/leaderboard/live.js" in board and "/static/leaderboard/arena_board.js" in board
    charts = Client().get("/leaderboard/charts/?category=ocr")
    html = charts.content.decode()
    assert charts.status_code == 200
    assert "/static/vendor/plotly.min.js" in html
    figures = json.loads(
        re.search(r'<script id="chart-figures" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert set(figures) == {"ratings", "win_rate", "battle_counts", "predicted_win_rate", "history"}
    ratings = figures["ratings"]["data"][0]
    assert ratings["type"] == "scatter" and ratings["x"][0] == "Middle VL"
    assert ratings["error_y"]["array"] and ratings["error_y"]["arrayminus"]
    assert figures["win_rate"]["data"][0]["type"] == "heatmap"
    assert figures["battle_counts"]["data"][0]["z"][0][1] == 8, "middle and strong met 8 times in OCR"
    assert len(figures["history"]["data"]) == 3


def _figures(html: str) -> dict:
    found = re.search(r'<script id="chart-figures" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None, "the page embeds its figures"
    return json.loads(found.group(1))


def _cells(figure: dict) -> dict[tuple[str, str], float | None]:
    trace = figure["data"][0]
    return {
        (row, column): trace["z"][i][j]
        for i, row in enumerate(trace["y"])
        for j, column in enumerate(trace["x"])
    }


def test_the_charts_honour_style_control_and_say_which_they_use():
    verbose, middle, terse = (
        model_make(slug=slug, display_name=slug.title()) for slug in ("verbose", "middle", "terse")
    )
    length_biased_votes_make({verbose: 0.85, middle: 0.5, terse: 0.15}, 300, seed=3)
    snapshot_compute()
    styled = Client().get("/leaderboard/charts/").content.decode()
    plain = Client().get("/leaderboard/charts/?style=off&category=overall").content.decode()
    assert (
        "<strong>Style control is on</strong>" in styled and "<strong>Style control is off</strong>" in plain
    )
    assert 'href="?category=overall&amp;style=off" data-style-switch="off"' in styled
    assert 'data-style-switch="off" aria-current="true"' in plain
    # With it off, the tabs and the way back to the board keep it off.
    assert 'href="?category=overall&amp;style=off" aria-current="page"' in plain
    assert 'href="/leaderboard/?category=overall&amp;style=off"' in plain
    on, off = _figures(styled), _figures(plain)
    ratings_on = dict(zip(on["ratings"]["data"][0]["customdata"], on["ratings"]["data"][0]["y"], strict=True))
    ratings_off = dict(
        zip(off["ratings"]["data"][0]["customdata"], off["ratings"]["data"][0]["y"], strict=True)
    )
    # The plain fit credits length; style control takes most of it away.
    assert ratings_off["verbose"] - ratings_off["terse"] > 2 * abs(
        ratings_on["verbose"] - ratings_on["terse"]
    )
    assert _cells(on["win_rate"]) == _cells(off["win_rate"]), "the votes as cast, either way"
    assert _cells(on["predicted_win_rate"]) != _cells(off["predicted_win_rate"])


def test_every_chart_has_a_table_linking_each_model_to_its_page(board_models):
    html = Client().get("/leaderboard/charts/?category=ocr").content.decode()
    assert html.count('<details class="chart-data">') == 5
    for slug in ("strong", "middle", "weak"):
        # The ratings and history tables once, each heatmap's row and column headers once each.
        assert html.count(f'<a href="/models/{slug}/">') == 2 + 3 * 2, slug
    figures = _figures(html)
    assert figures["ratings"]["data"][0]["customdata"] == ["middle", "strong", "weak"]
    assert figures["win_rate"]["data"][0]["x"] == ["Middle VL", "Strong VL", "Weak VL"], "best-rated first"


def test_the_charts_page_without_snapshots_loads_no_plotly():
    html = Client().get("/leaderboard/charts/").content.decode()
    assert "No ratings to chart yet." in html and "plotly" not in html


def test_plotly_is_served_from_our_static_files():
    from django.contrib.staticfiles import finders

    found = finders.find("vendor/plotly.min.js")
    assert found is not None
    with open(found, encoding="utf-8") as handle:
        assert "plotly.js" in handle.read(300)
