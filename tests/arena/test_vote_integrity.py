"""Which votes count, decided when the vote is cast (arena.integrity): every vote is stored, an excluded
one keeps its reasons and moves no count, no style row and no online Elo; moderators' bulk invalidation
takes counted votes out again; the board and its JSON say how many were counted and excluded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from arena.identity import voter_hash_get
from arena.identity_leaks import answer_names_identity, identity_words, identity_words_build
from arena.integrity import normalised_prompt_digest, prompt_counted
from arena.models import (
    Ban,
    Battle,
    Exclusion,
    MediaAsset,
    PromptCount,
    Response,
    Side,
    Turn,
    TurnAttachment,
    Vote,
)
from arena.services import battle_retry, vote_cast, votes_invalidate, votes_matching_count
from core.errors import Conflict, InvalidInput
from leaderboard.boards.arena.counts import excluded_counts_rebuild
from leaderboard.models import ExcludedVoteCount, OnlineRating, VoteCount, VoteStyle
from tests.factories import battle_make, model_make, vote_post, voter_client

pytestmark = pytest.mark.django_db

VOTER = "voter-integrity"
IP_HASH = "a" * 64


@pytest.fixture(autouse=True)
def rules(settings):
    """The rules as deployed, each test turning one of them tight: answers finished long ago."""
    settings.ARENA_VOTE_MIN_SECONDS = 3
    settings.ARENA_VOTE_DAILY_CAP = 200
    settings.ARENA_PROMPT_COUNT_CAP = 50
    settings.ARENA_IDENTITY_WORDS_EXTRA = []


def _battle(*, prompt: str = "What is in the picture?", finished_ago_s: float = 60, **fields) -> Battle:
    battle = battle_make(creator_id=fields.pop("creator_id", VOTER), **fields)
    Turn.objects.filter(battle=battle).update(prompt=prompt)
    Response.objects.filter(turn__battle=battle).update(
        finished_at=timezone.now() - timedelta(seconds=finished_ago_s)
    )
    return battle


def _cast(battle: Battle, *, voter_id: str = VOTER, ip_hash: str = IP_HASH) -> Vote:
    return vote_cast(battle_id=battle.pk, voter_id=voter_id, ip_hash=ip_hash, winner="model_a").vote


def _counted(battle: Battle) -> int:
    found = VoteCount.objects.filter(
        model_a=battle.model_a, model_b=battle.model_b, category="overall"
    ).aggregate(n=Sum("count"))
    return found["n"] or 0


def _assert_excluded(battle: Battle, vote: Vote, *reasons: str) -> None:
    stored = Vote.objects.get(pk=vote.pk)
    assert stored.battle_id == battle.pk
    assert stored.is_valid is False
    assert list(stored.exclusions) == list(reasons)
    assert _counted(battle) == 0
    assert not VoteStyle.objects.filter(vote=stored).exists()
    assert not OnlineRating.objects.filter(model__in=[battle.model_a, battle.model_b]).exists()


def _assert_counted(battle: Battle, vote: Vote) -> None:
    stored = Vote.objects.get(pk=vote.pk)
    assert stored.is_valid is True and stored.exclusions == []
    assert _counted(battle) == 1
    assert OnlineRating.objects.get(model=battle.model_a).battles == 1


# ---------- a counted vote ----------


def test_a_vote_that_breaks_no_rule_is_counted_moves_the_elo_and_takes_a_prompt_place():
    battle = _battle()
    result = vote_cast(battle_id=battle.pk, voter_id=VOTER, ip_hash=IP_HASH, winner="model_a")
    _assert_counted(battle, result.vote)
    assert result.reveals["elo"].model_a.after > result.reveals["elo"].model_a.before
    assert VoteStyle.objects.filter(vote=result.vote).exists()
    assert prompt_counted(battle=battle) == 1


def test_an_excluded_vote_is_stored_with_the_same_reveal_but_no_elo_and_no_prompt_place():
    client, token = voter_client()
    voter = client.session["arena_voter_id"]
    Ban.objects.create(kind=Ban.Kind.VOTER, value_hash=voter_hash_get(voter_id=voter), reason="spam")
    battle = _battle(creator_id=voter)

    response = vote_post(client, token, battle.pk, "model_b")

    assert response.status_code == 200
    body = response.json()
    # The models are revealed as always; nothing says why the vote did not count.
    assert body["model_a"]["slug"] == battle.model_a.slug and body["winner"] == "model_b"
    assert body["elo"] is None
    assert "ban" not in response.content.decode().lower()
    _assert_excluded(battle, Vote.objects.get(battle=battle), Exclusion.VOTER_BANNED)
    assert prompt_counted(battle=battle) == 0


# ---------- one rule at a time ----------


def test_a_failed_answer_in_an_earlier_turn_excludes_the_vote():
    battle = _battle()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(status=Response.Status.FAILED)
    later = Turn.objects.create(battle=battle, index=1, prompt="And now?")
    for side in Side.values:
        Response.objects.create(
            turn=later, side=side, status=Response.Status.DONE, text="fine",
            finished_at=timezone.now() - timedelta(minutes=1),
        )  # fmt: skip
    _assert_excluded(battle, _cast(battle), Exclusion.ANSWER_FAILED)


def test_an_answer_naming_a_registered_model_excludes_the_vote():
    model_make(display_name="Zephyrine Vision", slug="zephyrine-vision", organization="Quillwort Labs")
    battle = _battle()
    Response.objects.filter(turn__battle=battle, side=Side.B).update(text="As Zephyrine Vision, I see a cat.")
    _assert_excluded(battle, _cast(battle), Exclusion.IDENTITY_LEAK)


def test_an_answer_naming_a_registered_organisation_or_slug_excludes_the_vote():
    model_make(display_name="Zephyrine Vision", slug="zephyrine-vision-7b", organization="Quillwort Labs")
    for text in ("I was made at QUILLWORT LABS.", "Model: zephyrine_vision_7b"):
        battle = _battle()
        Response.objects.filter(turn__battle=battle, side=Side.A).update(text=text)
        vote = _cast(battle)
        assert Vote.objects.get(pk=vote.pk).exclusions == [Exclusion.IDENTITY_LEAK], text


@pytest.mark.parametrize(
    "text",
    [
        "I am ChatGPT, a model by OpenAI.",
        "As a large model I (Claude) see two dogs.",
        "I'm Qwen2.5-VL. There is a cat.",
        "Meta AI here: a red bus.",
        "I was developed by Google.",
        "I am a large language model trained by Example Corp.",
        "Yi-34B says: a bridge.",
        "This is gpt4o answering.",
    ],
)
def test_an_answer_with_a_built_in_identity_word_excludes_the_vote(text):
    battle = _battle()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(text=text)
    _assert_excluded(battle, _cast(battle), Exclusion.IDENTITY_LEAK)


def test_ordinary_words_containing_meta_or_yi_are_no_identity_leak():
    battle = _battle()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(
        text="The metadata is a metaphor; the metal sign in Yiddish yields to a palm tree and a llama."
    )
    Response.objects.filter(turn__battle=battle, side=Side.B).update(
        text="Meta-analysis: yi, meta, metaverse."
    )
    _assert_counted(battle, _cast(battle))


def test_extra_identity_words_come_from_the_setting(settings):
    settings.ARENA_IDENTITY_WORDS_EXTRA = ["Blorptron"]
    battle = _battle()
    Response.objects.filter(turn__battle=battle, side=Side.A).update(text="blorptron-2 sees a kite")
    _assert_excluded(battle, _cast(battle), Exclusion.IDENTITY_LEAK)


def test_the_identity_list_follows_newly_registered_models():
    assert answer_names_identity(text="I am Snorkelwing.", words=identity_words()) is None
    model_make(display_name="Snorkelwing")
    assert answer_names_identity(text="I am Snorkelwing.", words=identity_words()) == "Snorkelwing"


def test_short_or_generic_registered_names_are_left_out_of_the_identity_list():
    words = identity_words_build(registered=["A", "VL", "Chat", "Model 7"])
    assert answer_names_identity(text="A chat about a VL picture.", words=words) is None
    assert answer_names_identity(text="Model 7 here", words=words) == "Model 7"
    assert answer_names_identity(text="Model 70 here", words=words) is None


def test_a_blocked_prompt_excludes_the_vote():
    battle = _battle(prompt_blocked_at=timezone.now())
    _assert_excluded(battle, _cast(battle), Exclusion.PROMPT_BLOCKED)


def test_a_banned_voter_is_excluded_and_an_expired_or_lifted_ban_is_not():
    now = timezone.now()
    value = voter_hash_get(voter_id=VOTER)
    Ban.objects.create(kind=Ban.Kind.VOTER, value_hash=value, reason="old", expires_at=now)
    Ban.objects.create(kind=Ban.Kind.VOTER, value_hash=value, reason="lifted", lifted_at=now)
    first = _battle()
    _assert_counted(first, _cast(first))

    Ban.objects.create(
        kind=Ban.Kind.VOTER, value_hash=value, reason="spam", expires_at=now + timedelta(days=1)
    )
    second = _battle()
    vote = _cast(second)
    assert Vote.objects.get(pk=vote.pk).exclusions == [Exclusion.VOTER_BANNED]
    assert _counted(second) == 0


def test_a_banned_address_excludes_the_vote_and_another_address_counts():
    Ban.objects.create(kind=Ban.Kind.IP, value_hash=IP_HASH, reason="farm")
    battle = _battle()
    _assert_excluded(battle, _cast(battle), Exclusion.IP_BANNED)
    other = _battle()
    _assert_counted(other, _cast(other, ip_hash="b" * 64))


def test_the_daily_cap_excludes_votes_beyond_it_and_forgets_votes_older_than_a_day(settings):
    settings.ARENA_VOTE_DAILY_CAP = 2
    battles = [_battle(prompt=f"Question {i}") for i in range(4)]
    first, second = _cast(battles[0]), _cast(battles[1])
    assert first.is_valid and second.is_valid
    _assert_excluded(battles[2], _cast(battles[2]), Exclusion.DAILY_CAP)
    Vote.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=25))
    _assert_counted(battles[3], _cast(battles[3]))


def test_a_vote_sooner_than_the_minimum_after_the_answers_finished_is_too_fast(settings):
    settings.ARENA_VOTE_MIN_SECONDS = 3
    quick = _battle(finished_ago_s=1)
    _assert_excluded(quick, _cast(quick), Exclusion.TOO_FAST)
    patient = _battle(finished_ago_s=4)
    _assert_counted(patient, _cast(patient))


def test_a_battle_that_was_retried_takes_no_counted_vote():
    battle = _battle()
    Battle.objects.create(model_a=battle.model_b, model_b=battle.model_a, creator_id=VOTER, retry_of=battle)
    _assert_excluded(battle, _cast(battle), Exclusion.RETRIED)


def test_the_prompt_cap_counts_a_normalised_prompt_so_often_then_stores_without_counting(settings):
    settings.ARENA_PROMPT_COUNT_CAP = 2
    first = _battle(prompt="What is in the picture?")
    second = _battle(prompt="  what IS in   the picture")
    third = _battle(prompt="¿What is in the picture?!")
    assert _cast(first).is_valid and _cast(second).is_valid
    _assert_excluded(third, _cast(third), Exclusion.DUPLICATE_PROMPT)
    assert prompt_counted(battle=first) == 2
    other = _battle(prompt="What is in the other picture?")
    _assert_counted(other, _cast(other))


def test_the_same_prompt_about_another_image_is_another_prompt(settings):
    settings.ARENA_PROMPT_COUNT_CAP = 1
    first, second = _battle(), _battle()
    asset = MediaAsset.objects.create(sha256="c" * 64, kind="image", mime_type="image/png", size_bytes=1)
    TurnAttachment.objects.create(turn=second.turns.get(), asset=asset, position=0)
    _assert_counted(first, _cast(first))
    _assert_counted(second, _cast(second))


def test_an_excluded_vote_takes_no_place_under_the_prompt_cap(settings):
    settings.ARENA_PROMPT_COUNT_CAP = 1
    quick = _battle(finished_ago_s=0)
    assert _cast(quick).exclusions == [Exclusion.TOO_FAST]
    assert not PromptCount.objects.exists()
    later = _battle()
    _assert_counted(later, _cast(later))


def test_every_reason_that_applies_is_kept_in_order(settings):
    settings.ARENA_PROMPT_COUNT_CAP = 1
    PromptCount.objects.create(digest=normalised_prompt_digest(prompt="What is in the picture?"), counted=1)
    Ban.objects.create(kind=Ban.Kind.IP, value_hash=IP_HASH, reason="farm")
    battle = _battle(finished_ago_s=0, prompt_blocked_at=timezone.now())
    Response.objects.filter(turn__battle=battle, side=Side.A).update(text="ChatGPT here.")
    _assert_excluded(
        battle,
        _cast(battle),
        Exclusion.IDENTITY_LEAK,
        Exclusion.PROMPT_BLOCKED,
        Exclusion.IP_BANNED,
        Exclusion.TOO_FAST,
        Exclusion.DUPLICATE_PROMPT,
    )


def test_a_named_battle_keeps_its_behaviour_whatever_the_rules():
    Ban.objects.create(kind=Ban.Kind.VOTER, value_hash=voter_hash_get(voter_id=VOTER), reason="spam")
    battle = _battle(mode=Battle.Mode.SIDE_BY_SIDE, finished_ago_s=0)
    vote = _cast(battle)
    stored = Vote.objects.get(pk=vote.pk)
    assert (stored.is_valid, stored.exclusions, stored.anony) == (True, [], False)
    assert not PromptCount.objects.exists()


def test_prompt_digests_ignore_case_spacing_and_end_punctuation_only():
    digest = normalised_prompt_digest(prompt="What is in the picture?")
    assert normalised_prompt_digest(prompt="  WHAT is\tin the  picture…") == digest
    assert normalised_prompt_digest(prompt="What is in the picture, really?") != digest
    assert normalised_prompt_digest(prompt="What is in the picture?", attachments=["c" * 64]) != digest


# ---------- retries ----------


def test_a_voted_battle_cannot_be_retried():
    battle = _battle()
    _cast(battle)
    with pytest.raises(Conflict, match="has a vote"):
        battle_retry(battle_id=battle.pk, voter_id=VOTER, ip_hash=IP_HASH)
    assert not Battle.objects.filter(retry_of=battle).exists()


def test_the_original_of_a_retry_is_abandoned_and_refuses_a_vote():
    model_make(), model_make()
    battle = _battle()
    retried = battle_retry(battle_id=battle.pk, voter_id=VOTER, ip_hash=IP_HASH)
    assert retried.retry_of_id == battle.pk
    with pytest.raises(Conflict, match="abandoned"):
        _cast(battle)
    assert not Vote.objects.filter(battle=battle).exists()


# ---------- bulk invalidation ----------


def _votes_at(*, voter_id: str, ip_hash: str, hours_ago: list[int]) -> list[Vote]:
    votes = []
    for i, hours in enumerate(hours_ago):
        battle = _battle(creator_id=voter_id, prompt=f"{voter_id} question {i}")
        vote = _cast(battle, voter_id=voter_id, ip_hash=ip_hash)
        Vote.objects.filter(pk=vote.pk).update(created_at=timezone.now() - timedelta(hours=hours))
        votes.append(vote)
    return votes


def _total_counted() -> int:
    return VoteCount.objects.filter(category="overall").aggregate(n=Sum("count"))["n"] or 0


def test_bulk_invalidation_of_a_voter_over_a_time_range_drops_their_counts():
    mine = _votes_at(voter_id="voter-x", ip_hash="d" * 64, hours_ago=[30, 10, 5])
    theirs = _votes_at(voter_id="voter-y", ip_hash="d" * 64, hours_ago=[10])
    assert _total_counted() == 4
    now = timezone.now()
    window = {"since": now - timedelta(hours=12), "until": now}

    assert votes_matching_count(voter_id="voter-x", **window) == 2
    ids = votes_invalidate(voter_id="voter-x", reason="vote farm", **window)

    assert sorted(ids) == sorted([mine[1].pk, mine[2].pk])
    assert _total_counted() == 2
    for vote in mine[1:]:
        stored = Vote.objects.get(pk=vote.pk)
        assert (stored.is_valid, stored.exclusions) == (False, [Exclusion.INVALIDATED])
    assert Vote.objects.get(pk=mine[0].pk).is_valid and Vote.objects.get(pk=theirs[0].pk).is_valid
    assert votes_matching_count(voter_id="voter-x", **window) == 0
    assert votes_invalidate(voter_id="voter-x", reason="again", **window) == []


def test_bulk_invalidation_of_a_hashed_address_takes_every_voter_behind_it():
    farm = "e" * 64
    votes = [
        *_votes_at(voter_id="voter-p", ip_hash=farm, hours_ago=[1]),
        *_votes_at(voter_id="voter-q", ip_hash=farm, hours_ago=[2]),
    ]
    elsewhere = _votes_at(voter_id="voter-r", ip_hash="f" * 64, hours_ago=[1])

    ids = votes_invalidate(ip_hash=farm, since=None, until=None, reason="one address, many sessions")

    assert sorted(ids) == sorted(vote.pk for vote in votes)
    assert _total_counted() == 1
    assert Vote.objects.get(pk=elsewhere[0].pk).is_valid


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"voter_id": "v", "ip_hash": "h"}, "not both"),
        ({}, "not both"),
        ({"voter_id": "v", "reason": " "}, "needs a reason"),
    ],
)
def test_bulk_invalidation_names_exactly_one_voter_or_address_and_a_reason(arguments, message):
    kwargs = {"since": None, "until": None, "reason": "why", **arguments}
    with pytest.raises(InvalidInput, match=message):
        votes_invalidate(**kwargs)


def test_an_empty_time_range_is_refused():
    now = timezone.now()
    with pytest.raises(InvalidInput, match="time range is empty"):
        votes_matching_count(voter_id="v", since=now, until=now - timedelta(hours=1))


# ---------- what the board says ----------


def test_the_leaderboard_json_and_the_board_show_counted_and_excluded_totals_live(client, settings):
    counted = _battle()
    _cast(counted)
    first = client.get("/api/v1/leaderboard").json()["votes"]
    assert first == {"counted": 1, "excluded": 0, "excluded_by_reason": {}}

    settings.ARENA_VOTE_MIN_SECONDS = 3
    Ban.objects.create(kind=Ban.Kind.IP, value_hash=IP_HASH, reason="farm")
    both = _battle(finished_ago_s=0)
    _cast(both)
    banned = _battle(prompt="Another question")
    _cast(banned)

    after = client.get("/api/v1/leaderboard").json()["votes"]
    assert after == {
        "counted": 1,
        "excluded": 2,
        "excluded_by_reason": {Exclusion.IP_BANNED: 2, Exclusion.TOO_FAST: 1},
    }
    page = client.get("/leaderboard/fragment/").content.decode()
    assert "Votes: 1 counted, 2 excluded" in page
    assert "the address is banned: 2" in page


def test_an_invalidation_moves_a_vote_from_counted_to_excluded_on_the_board(client):
    vote = _cast(_battle())
    assert client.get("/api/v1/leaderboard").json()["votes"]["counted"] == 1
    votes_invalidate(voter_id=VOTER, since=None, until=None, reason="checked by hand")
    totals = client.get("/api/v1/leaderboard").json()["votes"]
    assert totals == {"counted": 0, "excluded": 1, "excluded_by_reason": {Exclusion.INVALIDATED: 1}}
    assert Vote.objects.get(pk=vote.pk).exclusions == [Exclusion.INVALIDATED]


def test_the_excluded_counts_kept_at_vote_time_equal_a_recount_from_the_votes(settings):
    settings.ARENA_PROMPT_COUNT_CAP = 1
    Ban.objects.create(kind=Ban.Kind.IP, value_hash=IP_HASH, reason="farm")
    for finished_ago_s in (0, 60, 60):
        _cast(_battle(finished_ago_s=finished_ago_s))
    counted = _cast(_battle(prompt="A fresh question"), ip_hash="b" * 64)
    votes_invalidate(ip_hash="b" * 64, since=None, until=None, reason="checked")
    kept = _excluded_rows()
    assert kept[("", True)] == 4 and kept[(Exclusion.INVALIDATED, True)] == 1
    assert Vote.objects.get(pk=counted.pk).exclusions == [Exclusion.INVALIDATED]

    excluded_counts_rebuild()

    assert _excluded_rows() == kept


def _excluded_rows() -> dict[tuple[str, bool], int]:
    return {(row.reason, row.anony): row.count for row in ExcludedVoteCount.objects.filter(count__gt=0)}
