"""Evaluation never starves battles: on a worker busy with a run's chunks, a battle's answers are taken
before the chunks still queued, so they wait at most for the chunk being asked when they were queued."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from arena.models import Response
from arena.services import battle_create, model_register
from evaluation.models import EvaluationRun, ItemPrediction
from evaluation.services import evaluation_run_cancel, evaluation_run_start
from tests.conftest import _database_url
from tests.processes import Processes, environment, processes_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CHUNK_ITEMS = 3
PROMPT_DELAY_S = 0.1  # tiny-ehub asks one prompt per item: a chunk holds the worker about 0.3 s


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    env = environment(DATABASE_URL=_database_url(), EVALUATION_CHUNK_ITEMS=str(CHUNK_ITEMS))
    with processes_running(env=env, logs=tmp_path / "logs") as running:
        yield running


def _chunks_asked_before(run: EvaluationRun, moment: datetime) -> set[int]:
    predictions = ItemPrediction.objects.filter(run=run, created_at__lt=moment)
    indexes = predictions.values_list("item_index", flat=True)
    return {index // run.chunk_size for index in indexes}


def test_a_battle_on_a_worker_busy_with_an_evaluation_waits_for_one_chunk_at_most(
    processes: Processes, settings
):
    """One worker thread hosts both models; 20 chunks (about 6 s of work) are queued before the battle.

    Each answer may wait for the chunk the thread is asking when it is queued (one chunk: about 0.3 s
    here, at most EVALUATION_CHUNK_BUDGET_S plus one prompt's time in general), never for another.
    Measured once by hand with the chunks sent at the answers' priority (the FIFO of before): the side
    on the evaluated model started 6.3 s after it was queued, after 18 more chunks (the side on the
    other model's queue, which round robin reached sooner, after none); with the priority, both start
    within 0.3 s, after none, as the chunk being asked ends.
    """
    settings.EVALUATION_CHUNK_ITEMS = CHUNK_ITEMS
    model_register(
        slug="prio-other", display_name="prio-other", adapter_kind="scripted", adapter_config={"text": "B"}
    )
    processes.worker("busy", models="prio-*", concurrency=1)
    # Registered while the worker runs: a model's queue added at run time keeps the order too.
    evaluated = model_register(
        slug="prio-evaluated",
        display_name="prio-evaluated",
        adapter_kind="scripted",
        adapter_config={"text": "A", "first_token_delay_s": PROMPT_DELAY_S},
    )
    deadline = time.monotonic() + 60
    while "now hosting model.prio-evaluated" not in processes.log("busy").read_text():
        assert time.monotonic() < deadline, processes.log("busy").read_text()[-3000:]
        time.sleep(0.05)
    run = evaluation_run_start(model=evaluated, benchmark="tiny-ehub", limit=60)
    assert run.chunks_total == 20
    while not ItemPrediction.objects.filter(run=run, item_index__gte=CHUNK_ITEMS).exists():
        assert time.monotonic() < deadline, processes.log("busy").read_text()[-3000:]
        time.sleep(0.05)

    battle = battle_create(prompt="Which is first?", creator_id="voter", ip_hash="")
    sent_at = timezone.now()  # the answers' tasks are sent as the battle's transaction commits
    while Response.objects.filter(turn__battle=battle).exclude(status="done").exists():
        assert time.monotonic() < deadline, processes.log("busy").read_text()[-3000:]
        time.sleep(0.05)
    evaluation_run_cancel(run_id=run.pk)

    models = {"a": battle.model_a.slug, "b": battle.model_b.slug}
    assert set(models.values()) == {"prio-evaluated", "prio-other"}
    begun = _chunks_asked_before(run, sent_at)
    assert len(begun) < run.chunks_total - 10, "the battle came while most chunks were still queued"
    for answer in Response.objects.filter(turn__battle=battle):
        assert answer.started_at is not None
        asked_meanwhile = _chunks_asked_before(run, answer.started_at) - begun
        waited_s = (answer.started_at - answer.queued_at).total_seconds()
        print(f"{models[answer.side]}: waited {waited_s:.2f} s, {len(asked_meanwhile)} chunks")
        assert len(asked_meanwhile) <= 1, (
            f"the answer on {models[answer.side]} waited for chunks {sorted(asked_meanwhile)}"
        )
