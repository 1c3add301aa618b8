"""A model's page, /models/<slug>/: what it is, its ratings per category (plain and style-controlled), its
rating over time, its record against each opponent, its General-Level row; served from the read cache."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from arena.models import Model, Vote, model_links_validate
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.boards.general_level.services import general_level_import
from leaderboard.boards.model.chart import history_chart
from leaderboard.boards.model.description import description_html
from leaderboard.boards.model.selectors import model_page_get
from tests.factories import length_biased_votes_make, model_make, vote_make

pytestmark = pytest.mark.django_db

GENERAL_LEVEL = {
    "tasks": [
        {"name": "VQA", "modality": "image", "group": "comprehension", "metric": "ACC", "sota": 50},
        {"name": "Captions", "modality": "image", "group": "generation", "metric": "ACC", "sota": 50},
    ],
    "models": {"verbose": {"scores": [60, 70]}, "Elsewhere Model": {"scores": [40, 30]}},
}


@pytest.fixture(autouse=True)
def quick(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    # Small boards, ranked here: the provisional rule has its own tests.
    settings.LEADERBOARD_MIN_VOTES = 1


@pytest.fixture
def arena() -> dict[str, Model]:
    """Three equal models where the longer answer wins (two snapshots), and OCR votes that only two share."""
    verbose = model_make(
        slug="verbose",
        display_name="Verbose VL",
        organization="Lab V",
        license="mit",
        input_modalities=["text", "image"],
        description="A **long-winded** model.\n\n# Details\n\nSee [the card](https://example.org/card).",
        links=[{"label": "Weights", "url": "https://example.org/weights"}],
    )
    middle = model_make(slug="middle", display_name="Middle VL")
    terse = model_make(slug="terse", display_name="Terse VL")
    length_biased_votes_make({verbose: 0.85, middle: 0.5, terse: 0.15}, 240, seed=3)
    snapshot_compute()
    for _ in range(5):
        vote_make(middle, verbose, categories=["image", "ocr"])
    vote_make(verbose, middle, categories=["image", "ocr"])
    for _ in range(3):
        vote_make(verbose, terse, "tie")
    snapshot_compute()
    return {"verbose": verbose, "middle": middle, "terse": terse}


def _page(path: str = "/models/verbose/") -> str:
    response = Client().get(path)
    assert response.status_code == 200, response.content[:400]
    return response.content.decode()


def _row(html: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr {attribute}="{value}".*?</tr>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return found.group(0)


def _cell(row: str, name: str) -> str:
    found = re.search(rf'data-cell="{name}"[^>]*>(.*?)</td>', row, re.S)
    assert found, f"no cell {name}"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def _api_row(category: str, style: str, slug: str = "verbose") -> dict:
    rows = Client().get(f"/api/v1/leaderboard?category={category}&style={style}").json()["rows"]
    return next(row for row in rows if row["model"] == slug)


def _ci(row: dict) -> str:
    return f"+{row['ci_upper'] - row['rating']:.0f}/−{row['rating'] - row['ci_lower']:.0f}"


def test_the_page_shows_the_models_name_organisation_licence_description_and_links(arena):
    html = _page()
    assert "<h1>Verbose VL</h1>" in html and "<title>Verbose VL · Arena Hub</title>" in html
    assert re.search(r'data-fact="organization">Lab V<', html)
    assert re.search(r'data-fact="license">mit<', html)
    assert re.search(r'data-fact="modalities">text, image<', html)
    assert "A <strong>long-winded</strong> model." in html
    # The description's heading sits below the page's "About" (h2), whatever level it was written at.
    assert "<h3>Details</h3>" in html
    assert '<a href="https://example.org/card" rel="noopener noreferrer nofollow">the card</a>' in html
    assert '<a href="https://example.org/weights" rel="noopener noreferrer nofollow">Weights</a>' in html


def test_each_category_shows_its_rating_and_interval_plain_and_style_controlled(arena):
    html = _page()
    categories = re.findall(r'<tr data-category="([a-z_]+)"', html)
    assert categories == ["overall", "image", "ocr"]
    for category in categories:
        row = _row(html, "data-category", category)
        plain, styled = _api_row(category, "off"), _api_row(category, "on")
        assert _cell(row, "plain-rating") == f"{plain['rating']:.0f}"
        assert _cell(row, "plain-ci") == _ci(plain)
        assert _cell(row, "plain-rank").split()[0] == str(plain["rank"])
        assert _cell(row, "votes") == str(plain["battles"])
        if styled["rating"] is None:
            assert _cell(row, "style-rating") == "—"
        else:
            assert _cell(row, "style-rating") == f"{styled['rating']:.0f}"
            assert _cell(row, "style-ci") == _ci(styled)
    # Length wins these votes: style control takes most of the verbose model's lead away.
    overall = _row(html, "data-category", "overall")
    assert int(_cell(overall, "plain-rating")) > int(_cell(overall, "style-rating"))


def test_the_rating_over_time_has_a_point_per_snapshot_that_rates_the_model(arena):
    html = _page()
    history = Client().get("/api/v1/models/verbose").json()["history"]["points"]
    assert [point["version"] for point in history] == [1, 2]
    numbers = re.search(r'<details class="model-history">.*?</details>', html, re.S).group(0)
    shown = re.findall(
        r'<th scope="row" class="num">(\d+)</th>\s*<td><time[^>]*>[^<]*</time></td>\s*'
        r'<td class="num">(\d+)</td>',
        numbers,
    )
    assert shown == [(str(point["version"]), f"{point['rating']:.0f}") for point in history]
    line = re.search(r'<path class="model-chart__line" d="([^"]+)"', html).group(1)
    assert len(re.findall(r"[ML]", line)) == 2, "one vertex per snapshot"
    assert 'class="model-chart__band"' in html, "the interval is shaded"


def _decisive_record(
    model: Model, opponent: Model, *, categories: tuple[str, ...] = ()
) -> tuple[int, int, int]:
    """(battles, decisive battles, wins) of `model` against `opponent`, counted from the vote rows."""
    battles = decisive = wins = 0
    for vote in Vote.objects.select_related("battle"):
        pair = {vote.battle.model_a_id, vote.battle.model_b_id}
        if pair != {model.pk, opponent.pk} or not set(categories) <= set(vote.categories):
            continue
        battles += 1
        if vote.winner in ("model_a", "model_b"):
            decisive += 1
            winner = vote.battle.model_a_id if vote.winner == "model_a" else vote.battle.model_b_id
            wins += winner == model.pk
    return battles, decisive, wins


def test_win_rates_against_each_opponent_are_those_of_the_votes(arena):
    html = _page()
    verbose = arena["verbose"]
    assert re.findall(r'<tr data-opponent="([a-z]+)"', html)
    for slug in ("middle", "terse"):
        row = _row(html, "data-opponent", slug)
        battles, decisive, wins = _decisive_record(verbose, arena[slug])
        assert _cell(row, "battles") == str(battles)
        assert _cell(row, "win-rate") == f"{round(100 * wins / decisive)}%"
        assert f'href="/models/{slug}/"' in row
    # Ties count as battles, not in the win rate.
    assert _decisive_record(verbose, arena["terse"])[0] > _decisive_record(verbose, arena["terse"])[1]


def test_a_category_shows_its_own_history_and_opponents(arena):
    html = _page("/models/verbose/?category=ocr")
    assert "Against each opponent: OCR" in html
    assert re.findall(r'<tr data-opponent="([a-z]+)"', html) == ["middle"], "terse never met it in OCR"
    battles, decisive, wins = _decisive_record(arena["verbose"], arena["middle"], categories=("ocr",))
    row = _row(html, "data-opponent", "middle")
    assert (_cell(row, "battles"), _cell(row, "win-rate")) == (
        str(battles),
        f"{round(100 * wins / decisive)}%",
    )
    assert 'aria-current="page" data-category="ocr"' in html
    numbers = re.search(r'<details class="model-history">.*?</details>', html, re.S).group(0)
    assert numbers.count("<tr>") - 1 == 1, "OCR votes came after the first snapshot: one point"


def test_an_unknown_category_or_slug_is_our_404_page(arena):
    for path in ("/models/verbose/?category=nope", "/models/nobody/", "/models/" + "x" * 300 + "/"):
        response = Client().get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.content.decode()


def test_the_general_level_row_shows_where_the_model_is_on_that_board(arena):
    general_level_import(data=json.dumps(GENERAL_LEVEL).encode(), filename="seed.json")
    html = _page()
    row = _row(html, "data-general-level", "verbose")
    board = Client().get("/api/v1/general-level").json()
    listed = next(entry for entry in board["models"] if entry["arena_slug"] == "verbose")
    for symbol, value in listed["overall"].items():
        assert f'data-level="{symbol}">{value:.2f}<' in row
    assert f'data-level="{listed["level"]}"' in row and f'<td class="num rank">{listed["rank"]}<' in row
    assert 'href="/leaderboard/general-level/verbose/"' in html
    assert "Not on the" in _page("/models/middle/")
    # No benchmark run yet: no benchmark section (tests/leaderboard/boards/model/test_benchmark_scores.py).
    assert "data-benchmarks" not in html


def test_a_model_without_votes_has_a_page_that_says_it_is_not_rated_yet(arena):
    model_make(slug="newcomer", display_name="Newcomer VL", description="")
    html = _page("/models/newcomer/")
    assert "Not rated yet" in html and "No overall rating to chart yet." in html
    assert 'id="about"' not in html, "no description, no links: no empty section"


def test_an_anonymous_repeat_read_is_served_from_the_cache_without_a_query(arena, django_assert_num_queries):
    first = Client().get("/models/verbose/?category=ocr")
    with django_assert_num_queries(0):
        again = Client().get("/models/verbose/?category=ocr")
    assert again.status_code == 200 and again.content == first.content


def test_a_vote_alone_leaves_the_page_cached_and_a_snapshot_or_model_edit_changes_it(
    arena, django_assert_num_queries
):
    before = _page()
    vote_make(arena["terse"], arena["verbose"])
    with django_assert_num_queries(0):
        assert _page() == before
    snapshot_compute()
    after = _page()
    assert after != before and re.findall(r'<th scope="row" class="num">(\d+)</th>', after)[-1] == "3"
    verbose = arena["verbose"]
    verbose.display_name = "Renamed VL"
    verbose.save()
    assert "<h1>Renamed VL</h1>" in _page()


def test_the_boards_link_model_names_to_their_pages(arena):
    board = Client().get("/leaderboard/").content.decode()
    for slug in ("verbose", "middle", "terse"):
        assert re.search(rf'<a class="model-name" href="/models/{slug}/">', board)
    general_level_import(data=json.dumps(GENERAL_LEVEL).encode(), filename="seed.json")
    gl = Client().get("/leaderboard/general-level/").content.decode()
    assert 'href="/models/verbose/" data-arena-model' in gl
    assert gl.count("data-arena-model") == 1, "the model known only from its results has no arena page"
    assert 'href="/models/verbose/"' in Client().get("/leaderboard/general-level/verbose/").content.decode()


def test_the_model_endpoint_gives_style_controlled_ratings_per_category(arena):
    body = Client().get("/api/v1/models/verbose").json()
    assert set(body["style_ratings"]) == set(body["ratings"]) == {"overall", "image", "ocr"}
    for category, rated in body["style_ratings"].items():
        expected = _api_row(category, "on")
        assert {key: rated[key] for key in ("rating", "ci_lower", "ci_upper", "rank", "provisional")} == {
            key: expected[key] for key in ("rating", "ci_lower", "ci_upper", "rank", "provisional")
        }
    assert body["style_ratings"]["overall"]["rating"] < body["ratings"]["overall"]["rating"]


def test_the_selector_reads_every_part_of_the_page(arena):
    page = model_page_get(slug="verbose", category="overall")
    assert [rating.key for rating in page.ratings] == ["overall", "image", "ocr"]
    assert all(rating.styled is not None for rating in page.ratings)
    assert [point["version"] for point in page.history] == [1, 2]
    assert page.chart is not None and len(page.chart.ticks) >= 2
    assert {opponent.slug for opponent in page.opponents} == {"middle", "terse"}
    assert page.general_level is None


# ---------- The description, the links, the chart ----------


def test_a_description_is_sanitised_markdown():
    rendered = description_html(
        text="<script>alert(1)</script> [bad](javascript:alert(1)) ![a cat](https://example.org/cat.png)\n\n"
        "### Deep\n\n#### Deeper\n\n| a | b |\n|--:|---|\n| 1 | 2 |"
    )
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert 'href="javascript' not in rendered
    assert "<img" not in rendered
    assert '<a href="https://example.org/cat.png" rel="noopener noreferrer nofollow">a cat</a>' in rendered
    assert "<h3>Deep</h3>" in rendered and "<h4>Deeper</h4>" in rendered
    assert "<td>1</td>" in rendered and "style=" not in rendered
    assert description_html(text="  \n") == ""


@pytest.mark.parametrize(
    "links",
    [
        "https://example.org",
        [{"label": "Card", "url": "javascript:alert(1)"}],
        [{"label": "", "url": "https://example.org"}],
        [{"label": "Card", "url": "https://example.org", "extra": 1}],
    ],
)
def test_malformed_links_are_refused(links):
    with pytest.raises(ValidationError):
        model_links_validate(links)


def test_well_formed_links_pass():
    model_links_validate([{"label": "Card", "url": "https://example.org/card"}])


def test_the_chart_scale_covers_every_interval_and_a_single_snapshot_still_draws_a_line():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    points = [
        {
            "created_at": start + timedelta(minutes=i),
            "rating": 1000.0 + 30 * i,
            "ci_lower": 960.0 + 30 * i,
            "ci_upper": 1045.0 + 30 * i,
        }
        for i in range(4)
    ]
    chart = history_chart(points=points)
    assert chart is not None
    assert chart.low <= 960 and chart.high >= 1135 and chart.ticks[0] == chart.high
    assert chart.line.startswith("M0.0,") and chart.line.split()[-1].startswith("L1000.0,")
    single = history_chart(points=points[:1])
    assert single is not None and single.line.count("L") == 1 and single.low < 1000 < single.high
    assert history_chart(points=[{"created_at": start, "rating": None}]) is None
