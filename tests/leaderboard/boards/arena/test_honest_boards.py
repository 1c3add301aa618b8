"""Honest boards: provisional models ranked apart, style control from the stored answers, and the
choice between bootstrap and sandwich intervals."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.models import Response, Side, Turn, Vote
from arena.services import vote_cast, vote_invalidate
from leaderboard.boards.arena.selectors import rows_ranked
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.boards.arena.style import battle_style_count
from leaderboard.models import VoteStyle
from tests.factories import battle_make, length_biased_votes_make, model_make, vote_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20


def _board(query: str = "") -> dict:
    response = Client().get(f"/api/v1/leaderboard{query}")
    assert response.status_code == 200, response.content
    return response.json()


# ---------- the style of the answers ----------


def test_style_counts_words_headers_list_items_and_bold_spans_over_every_turn():
    battle = battle_make()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(
        text="# Title\n\nSome **bold** and __more__ text.\n\n- one\n- two\n1. three"
    )
    Response.objects.filter(turn__battle=battle, side=Side.B).update(text="Just four words here.")
    second = Turn.objects.create(battle=battle, index=1, prompt="And then?")
    Response.objects.create(turn=second, side=Side.A, status=Response.Status.DONE, text="## Again\n* item")
    Response.objects.create(turn=second, side=Side.B, status=Response.Status.DONE, text="two words")
    counts = battle_style_count(battle=battle)
    assert (counts["headers_a"], counts["lists_a"], counts["bold_a"]) == (2, 4, 2)
    assert counts["words_a"] == 13 + 4
    assert (counts["words_b"], counts["headers_b"], counts["lists_b"], counts["bold_b"]) == (6, 0, 0, 0)


def test_a_hash_without_a_space_or_stars_inside_a_word_are_not_markdown():
    battle = battle_make()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(text="#hashtag 2*3*4 -dash")
    counts = battle_style_count(battle=battle)
    assert (counts["headers_a"], counts["lists_a"], counts["bold_a"]) == (0, 0, 0)


def test_a_cast_vote_stores_its_style_and_an_invalidation_removes_it():
    battle = battle_make()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(text="**Yes.** - no")
    vote_cast(battle_id=battle.pk, voter_id="voter-1", ip_hash="", winner="model_a")
    vote = Vote.objects.get(battle=battle)
    style = VoteStyle.objects.get(vote=vote)
    assert (style.bold_a, style.words_a, style.words_b) == (1, 3, 2)
    assert (style.model_a_id, style.model_b_id, style.winner) == (
        battle.model_a_id,
        battle.model_b_id,
        "model_a",
    )
    assert vote_invalidate(vote_id=vote.pk) is True
    assert not VoteStyle.objects.filter(vote=vote).exists()


# ---------- provisional models ----------


def test_one_vote_in_a_category_leaves_both_models_provisional_and_unranked(settings):
    settings.LEADERBOARD_MIN_VOTES = 100
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    vote_make(alpha, beta, categories=["ocr"])
    snapshot_compute()
    for style in ("on", "off"):
        rows = _board(f"?category=ocr&style={style}")["rows"]
        assert [row["model"] for row in rows] == ["alpha", "beta"]
        assert all(row["provisional"] is True and row["rank"] is None for row in rows)
        assert all(row["rank_lower"] is None and row["rank_upper"] is None for row in rows)
    html = Client().get("/leaderboard/?category=ocr").content.decode()
    assert "Provisional (fewer than 100 votes)" in html
    assert 'data-provisional data-rank="1"' in html and '<span class="rank-value">1</span>' not in html


def test_ranked_models_come_first_and_are_ranked_without_the_provisional_ones(settings):
    settings.LEADERBOARD_MIN_VOTES = 10
    strong, weak, new = model_make(slug="strong"), model_make(slug="weak"), model_make(slug="new")
    for _ in range(12):
        vote_make(strong, weak)
    vote_make(new, strong)  # one win over the leader: a high rating, but on one vote
    snapshot_compute()
    rows = _board("?style=off")["rows"]
    assert [(row["model"], row["rank"], row["provisional"]) for row in rows] == [
        ("strong", 1, False),
        ("weak", 2, False),
        ("new", None, True),
    ]


def test_rows_ranked_puts_provisional_rows_last_by_rating_and_reranks_the_rest():
    rows = [
        {
            "model": "a",
            "rating": 1100.0,
            "ci_lower": 1090.0,
            "ci_upper": 1110.0,
            "battles": 5,
            "component": 0,
        },
        {
            "model": "b",
            "rating": 1050.0,
            "ci_lower": 1040.0,
            "ci_upper": 1060.0,
            "battles": 500,
            "component": 0,
        },
        {"model": "c", "rating": 900.0, "ci_lower": 890.0, "ci_upper": 910.0, "battles": 500, "component": 0},
        {
            "model": "d",
            "rating": 1200.0,
            "ci_lower": 1000.0,
            "ci_upper": 1400.0,
            "battles": 3,
            "component": 0,
        },
    ]
    ranked = rows_ranked(rows=rows, min_battles=0, min_votes=100, interval="bootstrap")
    assert [(row["model"], row["rank"]) for row in ranked] == [("b", 1), ("c", 2), ("d", None), ("a", None)]


# ---------- bootstrap or sandwich ----------


def test_the_setting_chooses_the_intervals_shown_and_the_api_returns_both(settings):
    settings.LEADERBOARD_MIN_VOTES = 1
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    for winner in ["model_a"] * 8 + ["model_b"] * 4:
        vote_make(alpha, beta, winner)
    snapshot_compute()
    boot = _board("?style=off")
    assert boot["interval"] == "bootstrap"
    for row in boot["rows"]:
        assert [row["ci_lower"], row["ci_upper"]] == row["intervals"]["bootstrap"]
        assert None not in row["intervals"]["sandwich"]
        assert row["intervals"]["sandwich"] != row["intervals"]["bootstrap"]
    settings.LEADERBOARD_INTERVALS = "sandwich"
    # Another query string: the answers above are cached, and the setting is a deployment's.
    sandwich = _board("?style=off&category=overall")
    assert sandwich["interval"] == "sandwich"
    for row in sandwich["rows"]:
        assert [row["ci_lower"], row["ci_upper"]] == row["intervals"]["sandwich"]
        assert row["ci_lower"] < row["rating"] < row["ci_upper"]
    asked = _board("?style=off&intervals=bootstrap")
    assert [row["ci_lower"] for row in asked["rows"]] == [row["ci_lower"] for row in boot["rows"]]
    page = Client().get("/leaderboard/").content.decode()
    assert "Intervals shown: <strong>sandwich (closed form)</strong> (this site&#x27;s default)" in page or (
        "Intervals shown: <strong>sandwich (closed form)</strong> (this site's default)" in page
    )
    assert Client().get("/api/v1/leaderboard?intervals=wild").status_code in (400, 422)
    assert Client().get("/leaderboard/?intervals=wild").status_code == 404


# ---------- style control ----------


def test_style_control_removes_a_length_bias_that_the_plain_board_keeps(settings):
    settings.LEADERBOARD_MIN_VOTES = 50
    verbose, middle, terse = model_make(slug="verbose"), model_make(slug="middle"), model_make(slug="terse")
    # Equal models; only how often each writes a long answer differs, and the longer answer wins.
    length_biased_votes_make({verbose: 0.85, middle: 0.5, terse: 0.15}, 450, seed=3)
    snapshot = snapshot_compute()
    assert snapshot.settings["style"]["votes"] == 450
    plain = {row["model"]: row for row in _board("?style=off")["rows"]}
    styled_body = _board("?style=on")
    styled = {row["model"]: row for row in styled_body["rows"]}
    assert _board()["style"] is True, "style control is on by default"
    # Plain: the verbose model is surely ahead of the terse one (ranks 1 and 3).
    assert plain["verbose"]["rating"] - plain["terse"]["rating"] > 100
    assert (plain["verbose"]["rank"], plain["terse"]["rank"]) == (1, 3)
    # Styled: length explains the votes; the three cannot be told apart.
    assert abs(styled["verbose"]["rating"] - styled["terse"]["rating"]) < 40
    assert {row["rank"] for row in styled.values()} == {1}
    assert not any(row["provisional"] for row in styled.values())
    html = Client().get("/leaderboard/").content.decode()
    assert "Style control is on" in html and "one standard deviation of length difference" in html
    assert "Style control is off" in Client().get("/leaderboard/?style=off").content.decode()


def test_votes_without_stored_answers_still_rate_models_with_style_control_on(settings):
    settings.LEADERBOARD_MIN_VOTES = 5
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    for _ in range(8):
        vote_make(alpha, beta)
    vote_make(beta, alpha)
    snapshot_compute()
    styled = _board()["rows"]
    plain = _board("?style=off")["rows"]
    assert [(row["model"], row["rank"]) for row in styled] == [(row["model"], row["rank"]) for row in plain]
    for mine, theirs in zip(styled, plain, strict=True):
        assert mine["rating"] == pytest.approx(theirs["rating"], abs=1e-6), "no style known: the plain fit"


def test_a_model_outside_the_style_sample_is_listed_provisional_without_a_rating(settings):
    settings.LEADERBOARD_MIN_VOTES = 1
    settings.LEADERBOARD_STYLE_MAX_VOTES = 3
    old, alpha, beta = model_make(slug="old"), model_make(slug="alpha"), model_make(slug="beta")
    vote_make(old, alpha)
    for _ in range(3):
        vote_make(alpha, beta)
    snapshot_compute()
    rows = {row["model"]: row for row in _board()["rows"]}
    assert rows["old"]["provisional"] is True and rows["old"]["rating"] is None
    assert rows["alpha"]["rank"] == 1


def test_style_control_is_refitted_at_most_every_interval_once_votes_are_many(settings, monkeypatch):
    from leaderboard.boards.arena import services

    settings.LEADERBOARD_STYLE_INTERVAL_S = 3600
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    vote_make(alpha, beta)
    first = snapshot_compute()
    monkeypatch.setattr(services, "_STYLE_CHEAP_VOTES", 0)
    vote_make(beta, alpha)
    second = snapshot_compute()
    assert second.settings["style"]["fitted_in"] == first.version, "carried over"
    assert second.style_results == first.style_results
    settings.LEADERBOARD_STYLE_INTERVAL_S = 0
    vote_make(beta, alpha)
    third = snapshot_compute()
    assert third.settings["style"]["fitted_in"] == third.version and third.settings["style"]["votes"] == 3
