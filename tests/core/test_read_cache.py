"""core.http.cached_read on the real pages and endpoints: reads that cost no query while nothing changed,
and every change seen by the next read."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from arena.models import Model
from arena.services import vote_cast
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.boards.general_level.services import general_level_import
from tests.factories import battle_make, model_make

pytestmark = pytest.mark.django_db

GENERAL_LEVEL = {
    "tasks": [{"name": "VQA", "modality": "image", "group": "comprehension", "metric": "ACC", "sota": 50}],
    "models": {"Alpha": {"scores": [60]}},
}


@pytest.fixture
def arena() -> dict[str, Model]:
    strong, weak = model_make(slug="strong"), model_make(slug="weak")
    for _ in range(3):
        _vote(strong, weak)
    snapshot_compute()
    general_level_import(data=json.dumps(GENERAL_LEVEL).encode(), filename="seed.json")
    return {"strong": strong, "weak": weak}


def _vote(model_a: Model, model_b: Model, winner: str = "model_a") -> None:
    """A vote through the arena's service, as the vote endpoint casts it."""
    battle = battle_make(model_a=model_a, model_b=model_b, creator_id="voter-1")
    vote_cast(battle_id=battle.pk, voter_id="voter-1", ip_hash="hash", winner=winner)


READS = (
    "/leaderboard/",
    "/leaderboard/fragment/",
    "/leaderboard/fragment/?category=text&min_votes=1",
    "/leaderboard/charts/",
    "/leaderboard/general-level/",
    "/leaderboard/general-level/fragment/",
    "/leaderboard/general-level/alpha/",
    "/api/v1/models",
    "/api/v1/models/strong",
    "/api/v1/leaderboard",
    "/api/v1/leaderboard?format=csv",
    "/api/v1/leaderboard/snapshots",
    "/api/v1/general-level",
)


@pytest.mark.parametrize("path", READS)
def test_a_repeated_read_runs_no_query(arena, path, django_assert_num_queries):
    first = Client().get(path)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = Client().get(path)
    assert again.status_code == 200 and again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]


def test_a_current_copy_gets_304_from_the_cache_without_a_query(arena, django_assert_num_queries):
    etag = Client().get("/api/v1/leaderboard")["ETag"]
    with django_assert_num_queries(0):
        again = Client().get("/api/v1/leaderboard", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag


def test_the_query_string_order_does_not_matter(arena, django_assert_num_queries):
    Client().get("/leaderboard/fragment/?category=text&min_votes=1")
    with django_assert_num_queries(0):
        assert Client().get("/leaderboard/fragment/?min_votes=1&category=text").status_code == 200


def test_a_model_edit_is_seen_by_the_next_read(arena):
    assert "Renamed VL" not in Client().get("/api/v1/models").content.decode()
    strong = arena["strong"]
    strong.display_name = "Renamed VL"
    strong.save()
    assert "Renamed VL" in Client().get("/api/v1/models").content.decode()
    assert "Renamed VL" in Client().get("/leaderboard/").content.decode()


def test_a_vote_moves_the_live_board_and_leaves_the_snapshot_reads_cached(arena, django_assert_num_queries):
    board = Client().get("/leaderboard/fragment/")
    rows = Client().get("/api/v1/leaderboard")
    snapshots = Client().get("/api/v1/leaderboard/snapshots")
    _vote(arena["weak"], arena["strong"], winner="model_a")
    moved = Client().get("/leaderboard/fragment/")
    assert moved["X-Board-Version"] != board["X-Board-Version"] and moved.content != board.content
    with django_assert_num_queries(0):
        assert Client().get("/api/v1/leaderboard/snapshots").content == snapshots.content
    # The rows are still the snapshot's; only the live vote totals beside them moved.
    after = Client().get("/api/v1/leaderboard").json()
    before = rows.json()
    assert after["rows"] == before["rows"] and after["snapshot"] == before["snapshot"]
    assert after["votes"]["counted"] == before["votes"]["counted"] + 1
    snapshot_compute()
    assert Client().get("/api/v1/leaderboard").json()["snapshot"]["version"] == 2


def test_a_general_level_import_is_seen_by_the_next_read(arena):
    assert "Beta" not in Client().get("/api/v1/general-level").content.decode()
    document = {**GENERAL_LEVEL, "models": {"Beta": {"scores": [40]}}}
    general_level_import(data=json.dumps(document).encode(), filename="more.json")
    assert "Beta" in Client().get("/api/v1/general-level").content.decode()


def test_signed_in_users_get_their_own_page_but_share_the_fragment(arena, django_assert_max_num_queries):
    staff = User.objects.create_user("moderator", password="pw", is_staff=True)
    Client().get("/leaderboard/")
    client = Client()
    client.force_login(staff)
    with django_assert_max_num_queries(50) as queries:
        page = client.get("/leaderboard/")
    assert page.status_code == 200 and queries.captured_queries, "rendered for the user, not shared"
    Client().get("/leaderboard/fragment/")
    with django_assert_max_num_queries(2) as queries:  # the user's session and user rows at most
        assert client.get("/leaderboard/fragment/").status_code == 200
    assert not any("rating" in query["sql"] for query in queries.captured_queries)


def test_an_unreachable_cache_is_a_miss_not_an_error(arena, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    client = Client()
    for path in READS:
        response = client.get(path)
        assert response.status_code == 200, path
    assert client.get("/api/v1/session").status_code == 200, "sessions fall back to the database"
    assert "strong" in client.get("/api/v1/models").content.decode()
