"""Stored benchmark runs on real Celery workers: the live stack's worker runs a tiny model's chunks to
the synchronous run's predictions, served over HTTP; a worker SIGKILLed mid-run and another started
resume it to the same predictions; a cancelled run stops."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from arena.models import Model
from arena.services import model_register
from evaluation.benchmarks import benchmark_get
from evaluation.models import EvaluationRun, ItemPrediction
from evaluation.runs import benchmark_run
from evaluation.services import evaluation_run_cancel, evaluation_run_resume, evaluation_run_start
from tests.conftest import _database_url
from tests.processes import Processes, environment, processes_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LLAVA = "tiny-llava-64"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    with processes_running(env=environment(DATABASE_URL=_database_url()), logs=tmp_path / "logs") as running:
        yield running


def _sync(model: Model, limit: int) -> tuple[str, dict]:
    run = benchmark_run(benchmark=benchmark_get(name="tiny-ehub"), model=model, limit=limit)
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in run.predictions()), run.summary()


def _ended(run: EvaluationRun, *, timeout: float, log: Path) -> EvaluationRun:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.status in ("finished", "failed", "cancelled"):
            return run
        assert time.monotonic() < deadline, f"still {run.status}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def _stored(run: EvaluationRun) -> int:
    return ItemPrediction.objects.filter(run=run).count()


def _scores(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key not in ("timings", "revision", "run")}


def test_the_live_worker_runs_a_tiny_model_to_the_synchronous_runs_predictions(
    live_stack, arena_models, settings
):
    settings.EVALUATION_CHUNK_ITEMS = 4
    model = Model.objects.get(slug=LLAVA)
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=12)
    assert run.chunks_total == 3
    run = _ended(run, timeout=120, log=live_stack.worker_log)
    assert run.status == "finished", run.error
    lines, summary = _sync(model, 12)
    assert _scores(run.summary) == _scores(summary)
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as client:
        results = client.get(f"/api/v1/evaluations/{run.pk}")
        assert results.status_code == 200, results.text
        assert results.json()["summary"] == run.summary
        assert results.json()["progress"]["done"] == 12
        predictions = client.get(results.json()["predictions"])
    assert predictions.status_code == 200
    assert predictions.text == lines, "greedy and seeded: byte-identical to the synchronous run"


def test_a_worker_killed_mid_run_and_a_resume_give_the_uninterrupted_runs_predictions(
    processes: Processes, settings
):
    settings.EVALUATION_CHUNK_ITEMS = 5
    # Each answer takes a tenth of a second and echoes its prompt, so that every item's answer differs.
    model = model_register(
        slug="eval-slow",
        display_name="eval-slow",
        adapter_kind="scripted",
        adapter_config={"text": "A", "echo": True, "first_token_delay_s": 0.1},
    )
    processes.worker("doomed", models="eval-slow", concurrency=2)
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=40)
    deadline = time.monotonic() + 60
    while _stored(run) < 8:
        assert time.monotonic() < deadline, processes.log("doomed").read_text()[-3000:]
        time.sleep(0.05)
    processes.kill("doomed", signal.SIGKILL)
    at_kill = _stored(run)
    assert at_kill < 40, "killed mid-run"

    processes.worker("survivor", models="eval-slow", concurrency=2)
    evaluation_run_resume(run_id=run.pk)
    run = _ended(run, timeout=60, log=processes.log("survivor"))

    assert run.status == "finished", run.error
    stored = list(ItemPrediction.objects.filter(run=run).values_list("item_id", "rotation"))
    assert len(stored) == len(set(stored)) == 40, "every prompt once"
    lines, summary = _sync(model, 40)
    with httpx.Client(base_url=processes.web(), timeout=30) as client:
        # Unzipped: under ASGI, Django gzips each streamed part as a gzip member of its own, and httpx
        # reads only the first member.
        served = client.get(
            f"/api/v1/evaluations/{run.pk}/predictions.jsonl", headers={"Accept-Encoding": "identity"}
        ).text
    assert served.splitlines() == lines.splitlines()
    assert _scores(run.summary) == _scores(summary)


def test_a_cancelled_run_stops_on_the_worker(live_stack, settings):
    settings.EVALUATION_CHUNK_ITEMS = 5
    model = model_register(
        slug="scripted-a",
        display_name="scripted-a",
        adapter_kind="scripted",
        adapter_config={"text": "A", "first_token_delay_s": 0.2},
    )
    run = evaluation_run_start(model=model, benchmark="tiny-ehub", limit=40)
    deadline = time.monotonic() + 60
    while _stored(run) < 2:
        assert time.monotonic() < deadline, live_stack.worker_log.read_text()[-3000:]
        time.sleep(0.05)
    assert evaluation_run_cancel(run_id=run.pk).status == "cancelled"
    time.sleep(1)  # the prompts being asked at the cancel are stored; no other starts
    settled = _stored(run)
    time.sleep(1.5)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.summary == {}
    assert _stored(run) == settled < 40
