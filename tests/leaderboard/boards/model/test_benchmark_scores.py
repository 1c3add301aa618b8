"""A model's page lists its stored benchmark scores (written by evaluation runs), with intervals."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from leaderboard.models import BenchmarkScore
from tests.factories import model_make

pytestmark = pytest.mark.django_db


def _score(model, category: str, score: float, lower: float, upper: float, items: int) -> None:
    BenchmarkScore.objects.create(
        model=model,
        benchmark="tiny-ehub",
        version="v1",
        category=category,
        score=score,
        lower=lower,
        upper=upper,
        items=items,
        run_id=uuid.uuid4(),
    )


def test_the_benchmark_section_shows_the_scores_overall_and_per_category_with_intervals():
    model = model_make(slug="scored", display_name="Scored VL")
    _score(model, "overall", 0.625, 0.5, 0.75, 300)
    _score(model, "visual_reasoning", 0.4, 0.25, 0.55, 50)
    body = Client().get("/models/scored/").content.decode()
    section = re.search(r'<section id="benchmarks".*?</section>', body, re.S)
    assert section is not None
    assert 'href="/leaderboard/benchmarks/"' in section[0]
    overall = re.search(r'<tr data-category="overall">.*?</tr>', section[0], re.S)
    reasoning = re.search(r'<tr data-category="visual_reasoning">.*?</tr>', section[0], re.S)
    assert overall is not None and reasoning is not None
    assert "0.625" in overall[0] and "0.500–0.750" in overall[0] and ">300<" in overall[0]
    assert "Visual reasoning" in reasoning[0] and "0.400" in reasoning[0] and "0.250–0.550" in reasoning[0]


def test_a_model_without_benchmark_scores_shows_no_benchmark_section():
    model_make(slug="unscored", display_name="Unscored VL")
    assert 'id="benchmarks"' not in Client().get("/models/unscored/").content.decode()
