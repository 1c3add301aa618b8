"""The likelihood inferencer on a real local model: the transformers adapter scores each option's tokens
(teacher-forced), the run picks the likeliest and keeps every option's probability for calibration; a
model that gives no probabilities fails the prompt with a sentence saying so."""

from __future__ import annotations

import math

import pytest

from arena.services import model_register
from evaluation.benchmarks import benchmark_get
from evaluation.runs import benchmark_run
from workers.adapters.base import Message, TextPart
from workers.adapters.registry import adapter_get

pytestmark = pytest.mark.django_db


def _tiny(tiny_models_dir):
    spec = tiny_models_dir.specs[0]
    return model_register(
        slug="tiny-ppl",
        display_name="Tiny",
        adapter_kind="transformers",
        adapter_config=dict(spec.adapter_config),
    )


def test_the_transformers_adapter_gives_each_options_token_logprobs_the_same_every_time(tiny_models_dir):
    model = _tiny(tiny_models_dir)
    adapter = adapter_get(
        key=model.slug, kind=model.adapter_kind, config=model.adapter_config, device="cpu", dtype="float32"
    )
    conversation = [Message(role="user", content=(TextPart(text="Which colour is the sky?"),))]
    first = adapter.continuations_logprobs(conversation, ["blue", "a green one"])
    assert len(first) == 2 and all(first) and len(first[1]) >= len(first[0])
    assert all(math.isfinite(value) and value <= 0 for values in first for value in values)
    assert adapter.continuations_logprobs(conversation, ["blue", "a green one"]) == first


def test_a_likelihood_run_chooses_a_letter_with_probabilities_and_reports_calibration(tiny_models_dir):
    run = benchmark_run(benchmark=benchmark_get(name="tiny-ehub-ppl"), model=_tiny(tiny_models_dir), limit=8)
    assert len(run.results) == 8
    for result in run.results:
        assert result.prediction in "ABCD" and result.extracted == result.prediction
        assert result.probabilities is not None and sum(result.probabilities) == pytest.approx(1.0)
    ece = run.summary()["metrics"]["tiny-ehub-ppl/choice"]["ece"]
    assert ece is not None and 0.0 <= ece <= 1.0


def test_a_model_without_probabilities_fails_each_likelihood_prompt_with_why():
    model = model_register(
        slug="says-a", display_name="A", adapter_kind="scripted", adapter_config={"text": "A"}
    )
    run = benchmark_run(benchmark=benchmark_get(name="tiny-ehub-ppl"), model=model, limit=2)
    assert all("cannot rank options by likelihood" in result.prediction for result in run.results)
    assert not any(result.correct for result in run.results)
