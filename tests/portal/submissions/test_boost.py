"""A newly enabled model is drawn more often until it has enough counted votes; a snapshot lifts it."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from arena.models import Model
from arena.pairing import pair_draw
from leaderboard.boards.arena.services import snapshot_compute
from tests.factories import model_make, vote_make

pytestmark = pytest.mark.django_db


def test_a_boosted_model_meets_others_about_as_often_as_its_boost_says():
    boosted = model_make(slug="new-vl")
    Model.objects.filter(pk=boosted.pk).update(sampling_boost=5.0)
    others = [model_make(slug=f"old-vl-{i}") for i in range(4)]
    candidates = list(Model.objects.filter(pk__in=[boosted.pk, *(m.pk for m in others)]))
    rng = random.Random(7)
    seen: Counter[str] = Counter()
    for _ in range(3000):
        a, b = pair_draw(candidates=candidates, modalities={"text"}, rng=rng)
        seen.update([a.slug, b.slug])
    # Weights 5:1:1:1:1: the new model is the first pick 5/9 of the time, and the second 5/8 of the rest.
    assert seen["new-vl"] > 3 * max(seen[f"old-vl-{i}"] for i in range(4)) / 2
    assert seen["new-vl"] / 3000 == pytest.approx(5 / 9 + 4 / 9 * 5 / 8, abs=0.03)


def test_a_snapshot_lifts_the_boost_once_the_model_has_enough_counted_votes(settings):
    settings.ARENA_NEW_MODEL_BOOST_VOTES = 3
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 5
    new, old = model_make(slug="new-vl"), model_make(slug="old-vl")
    Model.objects.filter(pk=new.pk).update(sampling_boost=5.0)
    for _ in range(2):
        vote_make(new, old)
    snapshot_compute()
    assert Model.objects.get(pk=new.pk).sampling_boost == 5.0, "2 of 3 votes: still boosted"
    vote_make(new, old, "model_b")
    snapshot_compute()
    assert Model.objects.get(pk=new.pk).sampling_boost == 1.0
