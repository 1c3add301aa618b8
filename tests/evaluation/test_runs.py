"""`run_benchmark` on real models through the workers' adapters: a tiny demo model covers all six
tiny-ehub categories and gives the same predictions twice; a scripted model that always answers "A"
scores what the rules say it must."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arena.services import model_register
from evaluation.benchmarks import benchmark_get
from evaluation.runs import benchmark_run, items_spread
from evaluation.tinyehub import CATEGORIES, tiny_ehub_items

pytestmark = pytest.mark.django_db

LLAVA = "tiny-llava-64"


def _run(tmp_path: Path, name: str, *args: str) -> tuple[dict, str]:
    out = StringIO()
    predictions = tmp_path / f"{name}.jsonl"
    call_command("run_benchmark", *args, "--json", "--predictions", str(predictions), stdout=out)
    return json.loads(out.getvalue()), predictions.read_text()


def test_a_demo_model_covers_every_category_and_repeats_identically(arena_models, tmp_path):
    first, first_predictions = _run(tmp_path, "first", "--model", LLAVA, "--limit", "24")
    second, second_predictions = _run(tmp_path, "second", "--model", LLAVA, "--limit", "24")
    assert set(first["per_category"]) == set(CATEGORIES)
    assert all(row["items"] == 4 for row in first["per_category"].values())
    assert first_predictions == second_predictions, "greedy and seeded: byte-identical predictions"
    del first["timings"], second["timings"]
    assert first == second
    assert first["benchmark"] == "tiny-ehub" and first["items_sha256"] != first["version"]
    assert first["counts"]["items"] == 24 and first["model"] == LLAVA


def test_always_answering_a_scores_chance_on_choices_yes_on_yes_no_and_nothing_on_reading():
    always_a = model_register(
        slug="always-a", display_name="Always A", adapter_kind="scripted", adapter_config={"text": "A"}
    )
    run = benchmark_run(benchmark=benchmark_get(name="tiny-ehub"), model=always_a)
    scores = run.summary()["per_category"]
    # Every letter is right for a quarter of each four-option category.
    for category in ("visual_perception", "visual_reasoning", "visual_commonsense", "embodied_intelligence"):
        assert scores[category]["accuracy"] == pytest.approx(0.25, abs=0.03), category
    # "A" has no "no" in it: POPE's rule reads it as yes, right for the half whose answer is yes.
    assert scores["object_hallucination"]["accuracy"] == 0.5
    assert scores["visual_knowledge_acquisition"]["accuracy"] == 0.0
    assert run.summary()["counts"]["items"] == len(tiny_ehub_items()) == 300


def test_a_short_run_takes_items_from_every_category_in_turn():
    spread = items_spread(items=tiny_ehub_items(), limit=7)
    assert len(spread) == 7 and len({item.category for item in spread}) == 6


def test_an_unknown_model_or_benchmark_is_refused_with_what_exists():
    with pytest.raises(CommandError, match="No model 'nope' is registered"):
        call_command("run_benchmark", "--model", "nope")
    with pytest.raises(CommandError, match="the built-in ones are tiny-ehub"):
        call_command("run_benchmark", "--model", "nope", "--benchmark", "mmbench")


def test_batched_prompts_give_the_predictions_asked_one_by_one_give(arena_models, settings):
    model = next(model for model in arena_models if model.slug == LLAVA)
    benchmark = benchmark_get(name="tiny-ehub")
    settings.EVALUATION_BATCH_ITEMS, settings.EVALUATION_BATCH_PROMPTS = 1, 1
    alone = benchmark_run(benchmark=benchmark, model=model, limit=12, analyses=True)
    settings.EVALUATION_BATCH_ITEMS, settings.EVALUATION_BATCH_PROMPTS = 4, 16
    batched = benchmark_run(benchmark=benchmark, model=model, limit=12, analyses=True)
    assert [result.prediction.strip() for _, result in batched.asked] == [
        result.prediction.strip() for _, result in alone.asked
    ]
    assert [condition for condition, _ in batched.asked] == [condition for condition, _ in alone.asked]
    assert batched.summary()["overall"] == alone.summary()["overall"]
