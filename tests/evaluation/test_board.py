"""The benchmark board: scores stored (with bootstrap intervals) when a run finishes, the board page with
its tables and tiny-ehub radars, the REST export (JSON, CSV, ETag), and a run's per-item drill-down."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.test import Client

from arena.models import Model
from arena.services import model_register
from evaluation.analyses.correlation import rank_correlation_compute
from evaluation.models import EvaluationRun
from evaluation.services import evaluation_chunk_run, evaluation_run_start
from evaluation.tinyehub import CATEGORIES
from leaderboard.boards.arena.selectors import snapshot_latest, snapshot_rows
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.models import BenchmarkScore
from tests.factories import vote_make
from tests.portal.submissions.helpers import user_make

pytestmark = pytest.mark.django_db

# tiny-ehub's own order (evaluation.tinyehub.CATEGORIES) is what the board's columns and radar follow.


def _finished_run(
    slug: str = "echo-a", *, limit: int = 12, text: str = "A", **model: object
) -> EvaluationRun:
    """tiny-ehub on a scripted model (answers `text` and echoes the prompt), asked here chunk by chunk."""
    registered = model_register(
        slug=slug,
        display_name=f"{slug} VL",
        adapter_kind="scripted",
        adapter_config={"text": text, "echo": True},
    )
    if model:
        Model.objects.filter(pk=registered.pk).update(**model)
    run = evaluation_run_start(model=registered, benchmark="tiny-ehub", limit=limit)
    for chunk in range(run.chunks_total):
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)
    run.refresh_from_db()
    assert run.status == "finished"
    return run


def test_a_finished_run_stores_its_accuracy_and_interval_overall_and_per_category():
    run = _finished_run()
    scores = {score.category: score for score in BenchmarkScore.objects.filter(model=run.model)}
    assert set(scores) == {"overall", *CATEGORIES}
    overall = scores["overall"]
    assert overall.score == pytest.approx(run.summary["overall"]["accuracy"])
    assert (overall.items, overall.benchmark, overall.version, overall.run_id) == (
        12,
        "tiny-ehub",
        run.version,
        run.pk,
    )
    for category in CATEGORIES:
        score = scores[category]
        assert score.score == pytest.approx(run.summary["per_category"][category]["accuracy"])
        assert 0.0 <= score.lower <= score.score <= score.upper <= 1.0 and score.items == 2


def test_a_later_run_replaces_the_models_scores_on_that_benchmark():
    first = _finished_run()
    second = evaluation_run_start(model=first.model, benchmark="tiny-ehub", limit=6)
    for chunk in range(second.chunks_total):
        evaluation_chunk_run(run_id=second.pk, chunk=chunk)
    scores = BenchmarkScore.objects.filter(model=first.model)
    assert scores.count() == 7 and set(scores.values_list("run_id", flat=True)) == {second.pk}
    assert scores.get(category="overall").items == 6


def test_the_board_lists_each_model_with_its_scores_and_links_its_page_and_run():
    run = _finished_run()
    overall = BenchmarkScore.objects.get(model=run.model, category="overall")
    page = Client().get("/leaderboard/benchmarks/")
    assert page.status_code == 200
    body = page.content.decode()
    row = re.search(r'<tr data-model="echo-a">.*?</tr>', body, re.S)
    assert row is not None
    assert 'href="/models/echo-a/"' in row[0] and f'href="/evaluations/{run.pk}/"' in row[0]
    assert f'data-cell="overall">{overall.score:.3f}<' in row[0]
    assert f"{overall.lower:.3f}–{overall.upper:.3f}" in row[0]
    assert row[0].count('data-cell="category"') == 6
    assert 'aria-current="page">Benchmarks<' in body


def test_the_tiny_ehub_radar_names_the_six_scores_in_its_label():
    run = _finished_run()
    page = Client().get("/leaderboard/benchmarks/").content.decode()
    label = re.search(
        r'<figure class="bm-radar" data-radar="echo-a">\s*<svg [^>]*role="img" aria-label="([^"]+)"', page
    )
    assert label is not None
    text = html.unescape(label[1])
    for category in CATEGORIES:
        score = BenchmarkScore.objects.get(model=run.model, category=category).score
        assert f"{category.replace('_', ' ').capitalize()} {score * 100:.1f}%" in text
    # Drawn on the server: the page's own content needs no script.
    assert "<script" not in page.split('<main id="benchmarks"')[1].split("</main>")[0]


def test_the_board_without_results_says_when_they_appear_and_leaves_out_models_out_of_the_arena():
    _finished_run("withdrawn", status=Model.Status.PAUSED)
    body = Client().get("/leaderboard/benchmarks/").content.decode()
    assert "No benchmark results yet" in body and "withdrawn" not in body


def test_the_api_gives_the_board_as_json_and_csv_and_304_while_unchanged():
    run = _finished_run()
    client = Client()
    answer = client.get("/api/v1/benchmarks")
    assert answer.status_code == 200
    table = answer.json()["benchmarks"][0]
    assert table["benchmark"] == "tiny-ehub" and table["categories"] == list(CATEGORIES)
    listed = table["models"][0]
    stored = BenchmarkScore.objects.get(model=run.model, category="visual_reasoning")
    assert listed["model"] == "echo-a" and listed["run"] == str(run.pk)
    assert listed["categories"]["visual_reasoning"] == {
        "score": pytest.approx(stored.score),
        "lower": pytest.approx(stored.lower),
        "upper": pytest.approx(stored.upper),
        "items": 2,
    }
    assert client.get("/api/v1/benchmarks", HTTP_IF_NONE_MATCH=answer["ETag"]).status_code == 304

    flat = client.get("/api/v1/benchmarks.csv")
    assert flat.status_code == 200 and flat["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(flat.content.decode())))
    assert [row["category"] for row in rows] == ["overall", *CATEGORIES]
    assert rows[0]["model"] == "echo-a" and rows[0]["items"] == "12"
    assert client.get("/api/v1/benchmarks.csv", HTTP_IF_NONE_MATCH=flat["ETag"]).status_code == 304
    assert flat["ETag"] != answer["ETag"]


def test_the_drill_down_shows_each_item_its_prediction_and_whether_it_was_right():
    run = _finished_run()
    body = Client().get(f"/evaluations/{run.pk}/").content.decode()
    predictions = list(run.predictions.order_by("item_index"))
    assert len(predictions) == 12
    for prediction in predictions:
        row = re.search(rf'<tr data-item="{re.escape(prediction.item_id)}">.*?</tr>', body, re.S)
        assert row is not None
        assert html.escape(prediction.prediction) in row[0]
        assert ("right" if prediction.correct else "wrong") in row[0]
    assert "Finished" in body and "echo-a VL" in body


def test_the_drill_down_of_a_run_of_a_model_out_of_the_arena_is_a_404_except_to_staff():
    run = _finished_run("hidden", status=Model.Status.PAUSED)
    assert Client().get(f"/evaluations/{run.pk}/").status_code == 404
    staff = Client()
    staff.force_login(user_make(staff=True))
    assert staff.get(f"/evaluations/{run.pk}/").status_code == 200
    assert Client().get("/evaluations/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_board_correlates_each_benchmark_ranking_with_the_arena_ratings(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    models = [
        _finished_run(slug, text=text, limit=24).model
        for slug, text in (("a", "A"), ("b", "B"), ("c", "yes"))
    ]
    for _ in range(4):
        vote_make(models[0], models[1])
        vote_make(models[1], models[2])
        vote_make(models[0], models[2])
    snapshot_compute()
    ratings = {
        row["model"]: row["rating"] for row in snapshot_rows(snapshot=snapshot_latest(), category="overall")
    }
    scores = {
        s.model.slug: s.score
        for s in BenchmarkScore.objects.filter(category="overall").select_related("model")
    }
    expected = rank_correlation_compute(scores=scores, ratings=ratings).to_dict()
    listed = Client().get("/api/v1/benchmarks").json()["benchmarks"][0]["arena_correlation"]
    assert [row["category"] for row in listed] == ["overall", *CATEGORIES]
    assert listed[0] == {"category": "overall", **expected}
    page = Client().get("/leaderboard/benchmarks/").content.decode()
    row = re.search(
        r'<table class="lb-table bm-correlation".*?<tr data-category="overall">(.*?)</tr>', page, re.S
    )
    assert row is not None
    # The scripted answers rank a > b > c, as the votes do.
    assert expected["correlation"]["spearman"] == 1.0
    assert 'data-cell="spearman">1.00' in row[1]


def test_with_fewer_than_three_rated_models_the_board_says_why_there_is_no_correlation():
    _finished_run()
    page = Client().get("/leaderboard/benchmarks/").content.decode()
    assert "Only 0 models have both a score and a rating" in html.unescape(page)
