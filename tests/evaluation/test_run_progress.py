"""A run's progress, live: its page and staff's runs page hear each chunk over WebSocket (the progress
now on connecting, then each chunk's, then the end); a submission's page shows its evaluating run's; a
run the visitor may not read refuses the socket as if it did not exist."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from arena.models import Model
from arena.services import model_register
from evaluation.models import EvaluationRun
from evaluation.services import evaluation_chunk_run, evaluation_run_start
from tests.portal.submissions.helpers import user_make

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _model(slug: str = "echo-progress", **fields: object) -> Model:
    model = model_register(
        slug=slug, display_name=slug, adapter_kind="scripted", adapter_config={"text": "A"}
    )
    if fields:
        Model.objects.filter(pk=model.pk).update(**fields)
        model.refresh_from_db()
    return model


def _socket(live_stack, run: EvaluationRun):
    return connect(
        f"{live_stack.ws_url}/ws/evaluations/{run.pk}/", origin=live_stack.base_url, open_timeout=10
    )


def test_a_runs_followers_hear_the_progress_now_then_each_chunk_then_the_end(live_stack, settings):
    settings.EVALUATION_CHUNK_ITEMS = 3
    run = evaluation_run_start(model=_model(), benchmark="tiny-ehub", limit=6)
    with _socket(live_stack, run) as socket:
        now = json.loads(socket.recv(timeout=10))
        assert now == {"type": "progress", "status": "queued", "done": 0, "total": 6, "eta_s": None}
        evaluation_chunk_run(run_id=run.pk, chunk=0)
        halfway = json.loads(socket.recv(timeout=10))
        assert (halfway["status"], halfway["done"], halfway["total"]) == ("running", 3, 6)
        assert halfway["eta_s"] is not None and halfway["eta_s"] >= 0
        evaluation_chunk_run(run_id=run.pk, chunk=1)
        end = json.loads(socket.recv(timeout=10))
        assert (end["status"], end["done"], end["eta_s"]) == ("finished", 6, 0.0)


def test_the_run_page_shows_the_progress_while_running_and_not_once_ended(settings):
    settings.EVALUATION_CHUNK_ITEMS = 3
    run = evaluation_run_start(model=_model(), benchmark="tiny-ehub", limit=6)
    evaluation_chunk_run(run_id=run.pk, chunk=0)
    body = Client().get(f"/evaluations/{run.pk}/").content.decode()
    assert f'data-run-progress="{run.pk}"' in body and "3 of 6 prompts answered" in body
    assert "evaluation/run-progress" in body
    evaluation_chunk_run(run_id=run.pk, chunk=1)
    body = Client().get(f"/evaluations/{run.pk}/").content.decode()
    assert "data-run-progress" not in body and "run-progress.js" not in body


def test_a_run_of_a_model_out_of_the_arena_refuses_a_strangers_socket(live_stack):
    run = evaluation_run_start(
        model=_model("hidden", status=Model.Status.PAUSED), benchmark="tiny-ehub", limit=2
    )
    with pytest.raises(InvalidStatus) as refused:
        _socket(live_stack, run)
    assert refused.value.response.status_code == 403


def _staff() -> Client:
    client = Client()
    client.force_login(user_make(staff=True))
    return client


def test_staff_start_a_run_with_analyses_from_the_runs_page_and_follow_it_there():
    model = _model()
    client = _staff()
    started = client.post(
        "/evaluations/", {"model": model.slug, "benchmark": "tiny-ehub", "limit": "4", "analyses": "on"}
    )
    run = EvaluationRun.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/evaluations/{run.pk}/"
    assert run.limit == 4 and len(run.conditions) > 1 and run.prompts_total == 4 * 11
    page = client.get("/evaluations/").content.decode()
    assert f'data-run="{run.pk}"' in page and f'data-run-progress="{run.pk}"' in page
    assert "tiny-ehub with analyses" in page


def test_staff_cancel_a_run_from_the_runs_page_and_bad_input_says_what_is_wrong():
    run = evaluation_run_start(model=_model(), benchmark="tiny-ehub", limit=2)
    client = _staff()
    assert client.post(f"/evaluations/{run.pk}/cancel").status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"
    refused = client.post(f"/evaluations/{run.pk}/resume")
    assert refused.status_code == 409 and "This run was cancelled" in refused.content.decode()
    bad = client.post("/evaluations/", {"model": "no-such-model", "benchmark": "tiny-ehub", "limit": "0"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode() and EvaluationRun.objects.count() == 1


def test_the_runs_page_does_not_exist_for_anyone_but_staff():
    visitor = Client()
    visitor.force_login(user_make())
    assert visitor.get("/evaluations/").status_code == 404
    run = evaluation_run_start(model=_model(), benchmark="tiny-ehub", limit=2)
    assert visitor.post(f"/evaluations/{run.pk}/cancel").status_code == 404
    assert Client().get("/evaluations/").status_code == 302  # to sign in
