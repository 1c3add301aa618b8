"""Stored benchmark runs, their chunks asked here in the test's process (the workers' side is in
test_run_workers.py): chunks fixed by item index, a re-run chunk asking only what is missing, cancel,
the summary from stored predictions equal to the synchronous run's, the submission's verdict, the API."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from arena.models import Model
from arena.services import model_register
from evaluation.api import prediction_line
from evaluation.benchmarks import benchmark_get
from evaluation.models import EvaluationRun, ItemPrediction
from evaluation.runs import benchmark_run
from evaluation.services import (
    evaluation_chunk_run,
    evaluation_predictions,
    evaluation_run_cancel,
    evaluation_run_resume,
    evaluation_run_start,
    submission_evaluation_run,
)
from portal.submissions import services as submissions
from portal.submissions.models import Submission
from tests.portal.submissions.helpers import endpoint_body, user_make

pytestmark = pytest.mark.django_db

# Answers differ per prompt (the prompt echoed after "A"), so that any mix-up of items would show.
ECHO = {"text": "A", "echo": True}


def _echo_model(slug: str = "echo-a", **config: object) -> Model:
    return model_register(
        slug=slug, display_name=slug, adapter_kind="scripted", adapter_config={**ECHO, **config}
    )


def _all_chunks(run: EvaluationRun) -> None:
    for chunk in range(run.chunks_total):
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)


def _lines(run: EvaluationRun) -> list[str]:
    return [prediction_line(prediction) for prediction in evaluation_predictions(run=run)]


def _sync_lines(model: Model, limit: int, *, analyses: bool = False) -> tuple[list[str], dict]:
    sync = benchmark_run(
        benchmark=benchmark_get(name="tiny-ehub"), model=model, limit=limit, analyses=analyses
    )
    return [json.dumps(row, sort_keys=True) + "\n" for row in sync.predictions()], sync.summary()


def _without_timings(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key not in ("timings", "revision", "run")}


def test_a_run_is_cut_into_chunks_by_item_index(settings):
    settings.EVALUATION_CHUNK_ITEMS = 4
    run = evaluation_run_start(model=_echo_model(), benchmark="tiny-ehub", limit=10)
    assert (run.chunk_size, run.chunks_total, run.items_total, run.prompts_total) == (4, 3, 10, 10)
    evaluation_chunk_run(run_id=run.pk, chunk=1)
    assert sorted(ItemPrediction.objects.values_list("item_index", flat=True)) == [4, 5, 6, 7]
    run.refresh_from_db()
    assert run.status == "running" and run.started_at is not None


def test_the_stored_run_gives_the_synchronous_runs_predictions_and_summary(settings):
    settings.EVALUATION_CHUNK_ITEMS = 5
    model = _echo_model()
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=12)
    for chunk in reversed(range(run.chunks_total)):  # any order of chunks gives the same run
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)
    run.refresh_from_db()
    expected_lines, expected_summary = _sync_lines(model, 12)
    assert run.status == "finished" and run.finished_at is not None
    assert _lines(run) == expected_lines
    assert _without_timings(run.summary) == _without_timings(expected_summary)
    assert run.summary["run"] == str(run.pk) and run.summary["timings"]["seconds"] >= 0


def test_a_stored_run_with_analyses_gives_the_synchronous_runs_predictions_and_analyses(settings):
    settings.EVALUATION_CHUNK_ITEMS = 4
    model = _echo_model()
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=8, analyses=True)
    assert run.conditions[0] == "standard" and {"no-image", "wording-5", "jpeg", "typo"} <= set(
        run.conditions
    )
    assert run.prompts_total == 8 * 11  # standard, 2 removals, 4 wordings, 3 image corruptions, typos
    # Half of each chunk first, as if a worker died mid-chunk, then the rest in another order.
    evaluation_chunk_run(run_id=run.pk, chunk=1)
    ItemPrediction.objects.filter(run=run, item_index=5, condition__in=["blur", "wording-3"]).delete()
    EvaluationRun.objects.filter(pk=run.pk).update(status="running")
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    evaluation_chunk_run(run_id=run.pk, chunk=1)
    run.refresh_from_db()
    expected_lines, expected_summary = _sync_lines(model, 8, analyses=True)
    assert run.status == "finished"
    assert _lines(run) == expected_lines
    assert _without_timings(run.summary) == _without_timings(expected_summary)
    analyses = run.summary["analyses"]
    assert analyses["gain"]["items"] == 8 and analyses["stability"]["items"] == 8
    assert [row["corruption"] for row in analyses["robustness"]] == ["noise", "blur", "jpeg", "typo"]
    conditions = {json.loads(line).get("condition", "standard") for line in expected_lines}
    assert conditions == set(run.conditions) - {"no-hint"}  # no tiny-ehub item has a hint


def test_a_chunk_run_again_asks_only_the_prompts_not_stored(settings):
    settings.EVALUATION_CHUNK_ITEMS = 6
    model = _echo_model()
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=6)
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    # As if the worker died after four answers: the last two are gone, and the first ones are marked
    # so that asking them again would show.
    ItemPrediction.objects.filter(run=run, item_index__gte=4).delete()
    EvaluationRun.objects.filter(pk=run.pk).update(status="running", summary={})
    ItemPrediction.objects.filter(run=run).update(prediction="kept")
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    run.refresh_from_db()
    assert run.status == "finished"
    predictions = [p.prediction for p in evaluation_predictions(run=run)]
    assert predictions[:4] == ["kept"] * 4 and "kept" not in predictions[4:]
    assert ItemPrediction.objects.filter(run=run).count() == 6


def test_resume_finishes_a_run_whose_predictions_are_all_stored_and_refuses_a_cancelled_one(settings):
    settings.EVALUATION_CHUNK_ITEMS = 3
    run = evaluation_run_start(model=_echo_model(), benchmark="tiny-ehub", limit=3)
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    EvaluationRun.objects.filter(pk=run.pk).update(status="running")  # the finishing chunk died
    assert evaluation_run_resume(run_id=run.pk).status == "finished"
    cancelled = evaluation_run_start(model=_echo_model(), benchmark="tiny-ehub", limit=3)
    evaluation_run_cancel(run_id=cancelled.pk)
    with pytest.raises(Exception, match="This run was cancelled"):
        evaluation_run_resume(run_id=cancelled.pk)


def test_a_cancelled_run_asks_nothing_more_and_keeps_what_is_stored(settings):
    settings.EVALUATION_CHUNK_ITEMS = 3
    run = evaluation_run_start(model=_echo_model(), benchmark="tiny-ehub", limit=6)
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    assert evaluation_run_cancel(run_id=run.pk).status == "cancelled"
    evaluation_chunk_run(run_id=run.pk, chunk=1)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.summary == {}
    assert ItemPrediction.objects.filter(run=run).count() == 3
    assert evaluation_run_cancel(run_id=run.pk).status == "cancelled", "cancelling again changes nothing"


def test_a_run_of_an_unknown_benchmark_or_no_items_is_refused():
    with pytest.raises(Exception, match="There is no benchmark 'mmbench'"):
        evaluation_run_start(model=_echo_model(), benchmark="mmbench")
    with pytest.raises(Exception, match="at least one item"):
        evaluation_run_start(model=_echo_model(), benchmark="tiny-ehub", limit=0)


def _evaluating_submission(**config: object) -> Submission:
    submission = submissions.submission_create(user=user_make(), data=endpoint_body())
    submissions.submission_checked(submission_id=submission.pk, problem=None, report={})
    submissions.submission_approve(user=user_make(staff=True), submission_id=submission.pk)
    started = submissions.submission_evaluation_start(submission_id=submission.pk)
    assert started is not None and started.model_id is not None
    # Asked through the scripted adapter instead of the endpoint, which does not exist.
    Model.objects.filter(pk=started.model_id).update(
        adapter_kind="scripted", adapter_config={**ECHO, **config}
    )
    return started


def test_a_submissions_run_finishes_it_with_the_scores_in_its_log(settings):
    settings.PORTAL_EVALUATION_LIMIT = 6
    submission = _evaluating_submission()
    run = submission_evaluation_run(submission_id=submission.pk)
    assert run is not None and run.items_total == 6 and run.benchmark == "tiny-ehub"
    _all_chunks(run)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FINISHED
    assert "tiny-ehub" in submission.log_tail and "overall accuracy" in submission.log_tail
    assert "visual_perception: accuracy" in submission.log_tail


def test_a_submissions_page_shows_its_evaluating_runs_progress_and_its_analyses_in_the_log(settings):
    settings.PORTAL_EVALUATION_LIMIT = 4
    settings.EVALUATION_CHUNK_ITEMS = 2
    submission = _evaluating_submission()
    run = submission_evaluation_run(submission_id=submission.pk)
    assert run is not None and len(run.conditions) > 1, "a submission is evaluated with the analyses"
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    submission.refresh_from_db()
    assert submission.evaluation_progress["done"] == 22 and submission.evaluation_progress["total"] == 44
    owner = Client()
    owner.force_login(submission.submitter)
    page = owner.get(f"/submissions/{submission.pk}/").content.decode()
    assert "22 of 44 prompts answered" in page and f'href="/evaluations/{run.pk}/"' in page
    evaluation_chunk_run(run_id=run.pk, chunk=1)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FINISHED
    assert "multimodal gain" in submission.log_tail and "robustness to typo" in submission.log_tail


def test_a_model_failing_every_item_fails_its_submission_with_the_reason(settings):
    settings.PORTAL_EVALUATION_LIMIT = 3
    submission = _evaluating_submission(fail="The model broke.")
    run = submission_evaluation_run(submission_id=submission.pk)
    assert run is not None
    _all_chunks(run)
    run.refresh_from_db()
    submission.refresh_from_db()
    assert run.status == "failed" and "The model failed on every item" in run.error
    assert submission.status == Submission.Status.FAILED
    assert "The model failed on every item" in submission.reason and "The model broke." in submission.reason


def test_the_api_gives_a_finished_runs_results_and_its_predictions_as_json_lines(settings):
    settings.EVALUATION_CHUNK_ITEMS = 2
    model = _echo_model()
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=4)
    _all_chunks(run)
    answer = Client().get(f"/api/v1/evaluations/{run.pk}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "finished" and body["progress"] == {"done": 4, "total": 4, "eta_s": 0.0}
    assert body["summary"]["overall"]["items"] == 4 and body["model"] == "echo-a"
    lines = Client().get(body["predictions"])
    assert lines.status_code == 200 and lines["Content-Type"].startswith("application/x-ndjson")
    assert b"".join(lines.streaming_content).decode() == "".join(_sync_lines(model, 4)[0])


def test_a_run_of_a_model_out_of_the_arena_is_for_staff_and_its_submitter_only(settings):
    settings.PORTAL_EVALUATION_LIMIT = 2
    submission = _evaluating_submission()
    run = submission_evaluation_run(submission_id=submission.pk)
    assert run is not None
    anonymous = Client().get(f"/api/v1/evaluations/{run.pk}")
    assert anonymous.status_code == 404 and anonymous.json() == {"detail": "No such evaluation run."}
    for user in (submission.submitter, user_make(staff=True)):
        client = Client()
        client.force_login(user)
        assert client.get(f"/api/v1/evaluations/{run.pk}").status_code == 200
    stranger = Client()
    stranger.force_login(user_make())
    assert stranger.get(f"/api/v1/evaluations/{run.pk}/predictions.jsonl").status_code == 404
    assert Client().get(f"/api/v1/evaluations/{uuid.uuid4()}").status_code == 404
    assert Client().get("/api/v1/evaluations/not-a-uuid").status_code in (404, 422)


def test_a_chunk_past_its_time_budget_queues_the_rest_of_itself(settings, django_capture_on_commit_callbacks):
    settings.EVALUATION_CHUNK_ITEMS = 4
    settings.EVALUATION_CHUNK_BUDGET_S = 0.0
    settings.EVALUATION_BATCH_ITEMS = 1
    run = evaluation_run_start(model=_echo_model(), benchmark="tiny-ehub", limit=4)
    with django_capture_on_commit_callbacks(execute=False) as continued:
        evaluation_chunk_run(run_id=run.pk, chunk=0)
    assert ItemPrediction.objects.filter(run=run).count() == 1, "one batch, then the budget is spent"
    assert len(continued) == 1
    for _ in range(3):
        evaluation_chunk_run(run_id=run.pk, chunk=0)
    run.refresh_from_db()
    assert run.status == "finished" and list(
        ItemPrediction.objects.filter(run=run).values_list("item_index", flat=True)
    ) == [0, 1, 2, 3]


def test_a_submissions_run_that_cannot_start_fails_it_saying_why(settings):
    settings.PORTAL_EVALUATION_LIMIT = 0
    submission = _evaluating_submission()
    assert submission_evaluation_run(submission_id=submission.pk) is None
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED and "at least one item" in submission.reason
