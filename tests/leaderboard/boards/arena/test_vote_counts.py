"""The vote counts (`leaderboard.VoteCount`): kept at vote time, taken back by an invalidation, recounted
after imports, and the only thing a snapshot or the beat check reads."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from arena import services as arena_services
from arena.models import Model, Turn, Vote
from core.errors import NotFound
from leaderboard.boards.arena import services as snapshot_services
from leaderboard.boards.arena.counts import vote_counts_rebuild
from leaderboard.boards.arena.imports import battles_import
from leaderboard.boards.arena.selectors import snapshots_history
from leaderboard.boards.arena.services import snapshot_compute, snapshot_due
from leaderboard.boards.arena.votes import pair_counts_by_category, vote_counts_state, votes_counted
from leaderboard.models import RatingSnapshot, VoteCount
from tests.factories import FIXTURES_DIR, battle_make, command_output, model_make, vote_make

pytestmark = pytest.mark.django_db

PROMPTS = [
    "What is in the picture?",
    "How many apples are there?",
    "Write a Python function that sorts a list.",
    "¿Qué es esto? Describe la imagen para mí, por favor.",
    "Transcribe the text on this sign, please.",
]
WINNERS = ["model_a", "model_b", "tie", "tie (bothbad)"]
Key = tuple[int, int, str, str]


@pytest.fixture(autouse=True)
def quick(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10
    settings.LEADERBOARD_SNAPSHOT_INTERVAL_S = 5


def _cast(models: list[Model], count: int, *, start: int = 0) -> list[Vote]:
    """Votes cast as a voter casts them (arena.services.vote_cast), over varied prompts and winners."""
    votes = []
    for i in range(start, start + count):
        n = len(models)
        a, b = models[i % n], models[(i + 1 + (i // n) % (n - 1)) % n]
        battle = battle_make(creator_id="voter-1", model_a=a, model_b=b)
        Turn.objects.filter(battle=battle).update(prompt=PROMPTS[i % len(PROMPTS)])
        result = arena_services.vote_cast(
            battle_id=battle.pk, voter_id="voter-1", ip_hash="", winner=WINNERS[i % len(WINNERS)]
        )
        votes.append(result.vote)
    return votes


def _recount(*, anony_only: bool) -> Counter[Key]:
    """Straight from the votes: what the counts must add up to (valid votes, blind ones if so set)."""
    blind = "AND v.anony" if anony_only else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT b.model_a_id, b.model_b_id, v.winner, c.category, COUNT(*)
            FROM {Vote._meta.db_table} v
            JOIN arena_battle b ON b.id = v.battle_id
            CROSS JOIN LATERAL unnest(array_append(v.categories, 'overall'::varchar)) AS c(category)
            WHERE v.is_valid {blind}
            GROUP BY 1, 2, 3, 4
            """
        )
        return Counter({(a, b, w, c): n for a, b, w, c, n in cursor.fetchall()})


def _counted(*, anony_only: bool) -> Counter[Key]:
    """What the counts table says, summed over blind and not unless only blind votes count."""
    found: Counter[Key] = Counter()
    rows = VoteCount.objects.filter(count__gt=0)
    if anony_only:
        rows = rows.filter(anony=True)
    for row in rows:
        found[(row.model_a_id, row.model_b_id, row.winner, row.category)] += row.count
    return found


def _rows() -> dict[tuple[object, ...], int]:
    return {
        (row.category, row.model_a_id, row.model_b_id, row.winner, row.anony): row.count
        for row in VoteCount.objects.filter(count__gt=0)
    }


@pytest.fixture
def models() -> list[Model]:
    return [model_make(slug=f"m{i}") for i in range(4)]


@pytest.mark.parametrize("anony_only", [True, False])
def test_the_counts_match_a_recount_of_the_votes_after_votes_and_invalidations(settings, models, anony_only):
    settings.LEADERBOARD_ANONY_ONLY = anony_only
    cast = _cast(models, 24)
    vote_make(models[0], models[1], "model_b", categories=["text"], anony=False)
    vote_make(models[2], models[3], "tie", categories=["image", "ocr"], anony=False)
    assert _counted(anony_only=anony_only) == _recount(anony_only=anony_only)
    for vote in cast[::5]:
        assert arena_services.vote_invalidate(vote_id=vote.pk, reason="test") is True
    assert _counted(anony_only=anony_only) == _recount(anony_only=anony_only)
    counts = pair_counts_by_category()
    recount = _recount(anony_only=anony_only)
    for category, category_counts in counts.items():
        assert category_counts.total == sum(n for key, n in recount.items() if key[3] == category), category
    assert vote_counts_state().total == votes_counted().count()


def test_a_vote_is_counted_under_overall_and_each_of_its_categories(models):
    (vote,) = _cast(models, 1, start=1)  # "How many apples…": text and counting
    assert sorted(vote.categories) == ["counting", "text"]
    rows = VoteCount.objects.filter(model_a=models[1]).order_by("category")
    assert [(row.category, row.count, row.last_vote_id, row.anony) for row in rows] == [
        ("counting", 1, vote.pk, True),
        ("overall", 1, vote.pk, True),
        ("text", 1, vote.pk, True),
    ]


def test_an_invalidation_takes_the_vote_out_of_every_row_and_deletes_none(models):
    (vote,) = _cast(models, 1, start=1)
    before = VoteCount.objects.count()
    assert arena_services.vote_invalidate(vote_id=vote.pk, reason="spam") is True
    assert Vote.objects.get(pk=vote.pk).is_valid is False
    assert VoteCount.objects.count() == before
    assert set(VoteCount.objects.values_list("count", flat=True)) == {0}
    assert pair_counts_by_category() == {}, "rows at zero are not read"
    assert arena_services.vote_invalidate(vote_id=vote.pk) is False, "already invalid: nothing changes"
    assert set(VoteCount.objects.values_list("count", flat=True)) == {0}
    with pytest.raises(NotFound):
        arena_services.vote_invalidate(vote_id=vote.pk + 1000)


def test_an_invalidation_does_not_rewind_the_online_elo(models):
    from leaderboard.models import OnlineRating

    (vote,) = _cast(models, 1)
    before = dict(OnlineRating.objects.values_list("model_id", "rating"))
    arena_services.vote_invalidate(vote_id=vote.pk)
    assert dict(OnlineRating.objects.values_list("model_id", "rating")) == before


def test_the_rebuild_gives_the_rows_the_votes_built_one_by_one(models):
    cast = _cast(models, 30)
    vote_make(models[0], models[2], categories=["text", "code"], anony=False)
    for vote in cast[::4]:
        arena_services.vote_invalidate(vote_id=vote.pk)
    incremental = _rows()
    written = vote_counts_rebuild()
    assert _rows() == incremental
    assert written == len(incremental), "rows at zero are not written again"
    # The rebuild's last_vote_id is the highest valid vote of the row's.
    last = {
        (row.category, row.model_a_id, row.model_b_id, row.winner, row.anony): row.last_vote_id
        for row in VoteCount.objects.all()
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.model_a_id, b.model_b_id, v.winner, v.anony, MAX(v.id) FROM arena_vote v "
            "JOIN arena_battle b ON b.id = v.battle_id WHERE v.is_valid GROUP BY 1, 2, 3, 4"
        )
        for a, b, winner, anony, highest in cursor.fetchall():
            assert last[("overall", a, b, winner, anony)] == highest


def test_the_rebuild_command_says_how_many_rows_it_wrote(models):
    _cast(models, 6)
    rows = VoteCount.objects.filter(count__gt=0).count()
    printed = command_output("vote_counts_rebuild")
    assert printed.strip() == (
        f"{rows} vote count rows written; 6 counted votes; 0 excluded vote count rows written."
    )


def test_an_import_counts_its_votes_and_keeps_those_cast_before(settings):
    settings.LEADERBOARD_ANONY_ONLY = False
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    _cast([alpha, beta], 3)
    result = battles_import(path=FIXTURES_DIR / "genai-arena" / "battles.json")
    assert result.imported == 2060
    for anony_only in (True, False):
        assert _counted(anony_only=anony_only) == _recount(anony_only=anony_only)
    assert vote_counts_state().total == 2063
    settings.LEADERBOARD_ANONY_ONLY = True
    snapshot = snapshot_compute()
    assert snapshot is not None and snapshot.vote_count == votes_counted().count() == 1515 + 3


def _vote_table_read(queries: list[dict[str, str]]) -> list[str]:
    table = re.compile(rf"\b{re.escape(Vote._meta.db_table)}\b")
    return [query["sql"] for query in queries if table.search(query["sql"])]


def test_a_snapshot_and_the_beat_check_read_no_votes(models):
    _cast(models, 12)
    with CaptureQueriesContext(connection) as due_queries:
        assert snapshot_due().due is True
    with CaptureQueriesContext(connection) as compute_queries:
        snapshot = snapshot_compute(only_if_due=True)
    assert snapshot is not None and snapshot.vote_count == 12
    assert set(snapshot.results) >= {"overall", "text", "counting", "code", "non_english"}
    assert compute_queries.captured_queries, "the capture saw the snapshot's queries"
    assert _vote_table_read(due_queries.captured_queries) == []
    assert _vote_table_read(compute_queries.captured_queries) == []


def test_a_snapshot_stores_the_state_of_the_counts_it_read(models):
    cast = _cast(models, 5)
    snapshot = snapshot_compute()
    state = vote_counts_state()
    assert (snapshot.vote_count, snapshot.last_vote_id, snapshot.last_vote_at) == (
        state.total,
        max(vote.pk for vote in cast),
        state.last_at,
    )
    assert snapshot.category_votes["overall"] == 5


# ---------- the history ----------


def _snapshot_at(version: int, at) -> RatingSnapshot:
    return RatingSnapshot.objects.create(
        version=version, created_at=at, vote_count=1, results={"overall": {"rows": []}}
    )


def test_old_snapshots_are_thinned_to_the_newest_of_each_hour_and_recent_ones_all_kept(settings, models):
    settings.LEADERBOARD_SNAPSHOT_KEEP_ALL_S = 86400
    hour = (timezone.now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    old = [
        _snapshot_at(1, hour + timedelta(minutes=5)),
        _snapshot_at(2, hour + timedelta(minutes=20)),
        _snapshot_at(3, hour + timedelta(minutes=50)),  # the newest of its hour
        _snapshot_at(4, hour + timedelta(hours=1, minutes=10)),  # alone in its hour
        _snapshot_at(5, hour + timedelta(hours=2, minutes=1)),
        _snapshot_at(6, hour + timedelta(hours=2, minutes=2)),
    ]
    recent = [
        _snapshot_at(7, timezone.now() - timedelta(hours=5, minutes=1)),
        _snapshot_at(8, timezone.now() - timedelta(hours=5)),
        _snapshot_at(9, timezone.now() - timedelta(minutes=1)),
    ]
    assert len(old) + len(recent) == 9
    _cast(models, 2)
    latest = snapshot_compute()
    assert latest.version == 10
    kept = list(RatingSnapshot.objects.order_by("version").values_list("version", flat=True))
    assert kept == [3, 4, 6, 7, 8, 9, 10]
    # The history, the snapshot list and the export read whatever is left.
    assert [point.version for point in snapshots_history(category="overall")] == kept
    listed = Client().get("/api/v1/leaderboard/snapshots?page_size=100").json()
    assert [item["version"] for item in listed["items"]] == kept[::-1] and listed["count"] == len(kept)
    assert Client().get("/api/v1/leaderboard").json()["snapshot"]["version"] == 10


def test_the_latest_snapshot_is_kept_even_when_every_snapshot_is_old(models):
    hour = (timezone.now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    for version, minutes in [(1, 5), (2, 10), (3, 20)]:
        _snapshot_at(version, hour + timedelta(minutes=minutes))
    snapshot_services._snapshots_thin(before=timezone.now() + timedelta(days=1))
    assert list(RatingSnapshot.objects.values_list("version", flat=True)) == [3]


# ---------- the page ----------


def test_the_board_says_how_old_its_ratings_are_and_that_the_online_elo_is_live(models):
    _cast(models, 3)
    snapshot = snapshot_compute()
    RatingSnapshot.objects.filter(pk=snapshot.pk).update(
        vote_count=1234, created_at=timezone.now() - timedelta(seconds=12)
    )
    html = Client().get("/leaderboard/fragment/?category=overall").content.decode()
    meta = re.search(r'<p class="board-meta".*?</p>', html, re.S).group(0)
    created = RatingSnapshot.objects.get(pk=snapshot.pk).created_at
    assert f'<time datetime="{created.isoformat()}" data-age' in meta
    text = " ".join(re.sub(r"<[^>]+>", " ", meta).split())
    assert re.search(
        r"Ratings from 1[2-9] seconds ago \(snapshot \d+ over 1,234 votes\); the online Elo column is live\.",
        text,
    ), text
    page = " ".join(Client().get("/leaderboard/").content.decode().split())
    assert "recomputed as votes arrive" not in page
    assert "recomputed every few seconds while votes arrive (the board says how old its ratings are)" in page


def test_an_older_snapshot_says_minutes_or_hours(models):
    _cast(models, 1)
    snapshot = snapshot_compute()
    RatingSnapshot.objects.filter(pk=snapshot.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    html = Client().get("/leaderboard/fragment/?category=overall").content.decode()
    assert re.search(r"data-age[^>]*>3\xa0minutes ago</time>", html), "timesince beyond a minute"
