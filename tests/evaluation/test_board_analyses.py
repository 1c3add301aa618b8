"""The benchmark board's analyses: gain, leakage against a registered base language model, stability,
robustness and modality importance from each model's latest run with analyses, on the page and in the
JSON and CSV exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from arena.models import Model
from arena.services import model_register
from core.errors import InvalidInput
from evaluation.models import EvaluationRun, LanguageBase
from evaluation.services import evaluation_chunk_run, evaluation_run_start, language_base_set

pytestmark = pytest.mark.django_db


def _analysed(slug: str, *, text: str, limit: int = 6) -> EvaluationRun:
    model = model_register(
        slug=slug,
        display_name=f"{slug} VL",
        adapter_kind="scripted",
        adapter_config={"text": text, "echo": True},
    )
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=limit, analyses=True)
    for chunk in range(run.chunks_total):
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)
    run.refresh_from_db()
    assert run.status == "finished" and "analyses" in run.summary
    return run


def _row(body: str, table: str, slug: str) -> str:
    section = re.search(rf'<table class="lb-table bm-{table}".*?</table>', body, re.S)
    assert section is not None, f"no {table} table"
    row = re.search(rf'<tr data-model="{slug}">.*?</tr>', section[0], re.S)
    assert row is not None, f"no row for {slug} in the {table} table"
    return row[0]


def test_the_board_shows_a_models_gain_stability_robustness_and_modality_importance():
    run = _analysed("echo-a", text="A")
    analyses = run.summary["analyses"]
    body = Client().get("/leaderboard/benchmarks/").content.decode()
    row = _row(body, "analyses", "echo-a")
    assert f'data-cell="gain">{analyses["gain"]["gain"]:.3f}<' in row
    stability = analyses["stability"]
    assert f'data-cell="stability">{stability["mean"]:.3f} ± {stability["std"]:.3f}<' in row
    assert "no base model" in row
    for robustness in analyses["robustness"]:
        cell = re.search(rf'data-cell="robustness-{robustness["corruption"]}">([^<]*)<', row)
        assert cell is not None
        expected = "—" if robustness["relative"] is None else f"{robustness['relative']:.2f}"
        assert cell[1] == expected
    modality_row = _row(body, "modality", "echo-a")
    assert 'data-cell="needs-image"' in modality_row and 'data-cell="needs-question"' in modality_row


def test_leakage_is_measured_against_the_registered_base_language_models_score_without_images():
    run = _analysed("echo-a", text="A")
    base = model_register(slug="text-base", display_name="Text base", adapter_kind="scripted",
                          adapter_config={"text": "B"})  # fmt: skip
    language_base_set(model=run.model, base=base)
    body = Client().get("/leaderboard/benchmarks/").content.decode()
    assert "text-base has not run" in _row(body, "analyses", "echo-a")

    base_run = evaluation_run_start(model=base, benchmark="tiny-ehub", limit=6, analyses=True)
    for chunk in range(base_run.chunks_total):
        evaluation_chunk_run(run_id=base_run.pk, chunk=chunk)
    base_run.refresh_from_db()
    s_wv = run.summary["analyses"]["gain"]["score_without_image"]
    s_t = base_run.summary["analyses"]["gain"]["score_without_image"]
    expected = max(0.0, s_wv - s_t)
    body = Client().get("/leaderboard/benchmarks/").content.decode()
    assert f'data-cell="leakage">{expected:.3f} <span class="bm-ci">vs text-base' in _row(
        body, "analyses", "echo-a"
    )
    exported = Client().get("/api/v1/benchmarks").json()["benchmarks"][0]["analyses"]
    mine = next(row for row in exported if row["model"] == "echo-a")
    assert mine["gain"]["leakage"] == pytest.approx(expected) and mine["gain"]["text_only_score"] == s_t
    assert mine["text_base"] == "text-base"


def test_the_exports_carry_every_analysis_number():
    run = _analysed("echo-a", text="A")
    analyses = run.summary["analyses"]
    exported = Client().get("/api/v1/benchmarks").json()["benchmarks"][0]["analyses"]
    assert exported[0]["stability"]["std"] == pytest.approx(analyses["stability"]["std"])
    assert [row["corruption"] for row in exported[0]["robustness"]] == ["noise", "blur", "jpeg", "typo"]
    flat = list(csv.DictReader(io.StringIO(Client().get("/api/v1/benchmarks.csv").content.decode())))
    metrics = {row["metric"]: row for row in flat if row["model"] == "echo-a"}
    assert metrics["accuracy"]["lower"] != ""
    assert float(metrics["multimodal_gain"]["score"]) == pytest.approx(analyses["gain"]["gain"], abs=1e-6)
    assert float(metrics["stability_mean"]["score"]) == pytest.approx(analyses["stability"]["mean"], abs=1e-6)
    assert {"robustness_noise", "robustness_typo", "needs_image", "one_modality_share"} <= set(metrics)
    assert "multimodal_leakage" not in metrics  # no base language model registered


def test_a_run_without_analyses_leaves_the_analyses_out():
    model = model_register(
        slug="plain", display_name="Plain", adapter_kind="scripted", adapter_config={"text": "A"}
    )
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=6)
    for chunk in range(run.chunks_total):
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)
    body = Client().get("/leaderboard/benchmarks/").content.decode()
    assert 'data-model="plain"' in body and "bm-analyses" not in body
    assert Client().get("/api/v1/benchmarks").json()["benchmarks"][0]["analyses"] == []


def test_a_base_language_model_is_registered_from_the_command_line_and_never_the_model_itself():
    model = model_register(
        slug="vl", display_name="VL", adapter_kind="scripted", adapter_config={"text": "A"}
    )
    model_register(slug="llm", display_name="LLM", adapter_kind="scripted", adapter_config={"text": "A"})
    out = io.StringIO()
    call_command("language_base", "--model", "vl", "--base", "llm", stdout=out)
    assert "vl is now measured on llm" in out.getvalue()
    assert LanguageBase.objects.get(model=model).base.slug == "llm"
    call_command("language_base", "--model", "vl", "--none", stdout=out)
    assert not LanguageBase.objects.exists()
    with pytest.raises(InvalidInput, match="its own base"):
        language_base_set(model=model, base=Model.objects.get(slug="vl"))
