import random
from collections import Counter

import pytest

from arena.pairing import pair_draw
from core.errors import Unavailable
from tests.factories import model_make

pytestmark = pytest.mark.django_db


def test_pair_is_two_distinct_models():
    models = [model_make() for _ in range(3)]
    rng = random.Random(1)
    for _ in range(50):
        a, b = pair_draw(candidates=models, modalities={"text"}, rng=rng)
        assert a.pk != b.pk


def test_models_without_the_prompt_modality_are_left_out():
    text_only = [model_make(input_modalities=["text"]) for _ in range(3)]
    vision = [model_make(), model_make()]
    a, b = pair_draw(candidates=text_only + vision, modalities={"text", "image"}, rng=random.Random(2))
    assert {a.pk, b.pk} == {model.pk for model in vision}


def test_fewer_than_two_capable_models_is_a_readable_503():
    models = [model_make(input_modalities=["text"]), model_make()]
    with pytest.raises(Unavailable, match="Fewer than two models that accept image and text"):
        pair_draw(candidates=models, modalities={"text", "image"})


def test_sampling_weight_shapes_the_draw_and_zero_excludes():
    heavy, light, never = model_make(sampling_weight=8.0), model_make(), model_make(sampling_weight=0)
    other = model_make()
    counts: Counter[int] = Counter()
    rng = random.Random(3)
    for _ in range(400):
        pair = pair_draw(candidates=[heavy, light, other, never], modalities={"text"}, rng=rng)
        counts.update(model.pk for model in pair)
    assert counts[never.pk] == 0
    # With weights 8:1:1 the heavy model is in ~98% of pairs, each light one in ~51%.
    assert counts[heavy.pk] > 360
    assert 140 < counts[light.pk] < 270


def test_left_right_order_is_random():
    models = [model_make() for _ in range(2)]
    rng = random.Random(4)
    lefts = Counter(pair_draw(candidates=models, modalities={"text"}, rng=rng)[0].pk for _ in range(200))
    assert min(lefts.values()) > 60
