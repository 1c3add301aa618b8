"""A recipe that names a General-Bench task writes its run's accuracy there: the model's General-Level
`TaskScore` (source evaluation, in percent), and the General-Level board then ranks the model; a task
the board does not list is reported, never invented."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.services import model_register
from evaluation.benchmarks import BENCHMARKS, Benchmark, benchmark_register
from evaluation.recipes import Instruction, Recipe, RecipeError
from evaluation.services import evaluation_chunk_run, evaluation_run_start
from evaluation.tinyehub import tiny_ehub_items
from leaderboard.models import Task, TaskScore

pytestmark = pytest.mark.django_db

_LETTER = Instruction(name="letter", template="{question}\n{options}\nAnswer with the option's letter.")


def _perception() -> tuple:
    return tuple(item for item in tiny_ehub_items() if item.category == "visual_perception")[:8]


@pytest.fixture
def mapped():
    """A benchmark of tiny-ehub's perception items whose multiple-choice recipe is a General-Bench task."""
    recipe = Recipe(
        name="perception-gl/choice",
        benchmark="perception-gl",
        instructions=(_LETTER,),
        inferencer="choice",
        metrics=("accuracy",),
        max_new_tokens=8,
        general_task="image/comprehension/Tiny perception",
    )
    benchmark = benchmark_register(
        benchmark=Benchmark(
            name="perception-gl",
            description="test",
            items=_perception,
            version=lambda: "v1",
            recipes={"choice": recipe},
        )
    )
    yield benchmark
    BENCHMARKS.pop(benchmark.name)


def _run(slug: str, text: str):
    model = model_register(
        slug=slug, display_name=f"{slug} VL", adapter_kind="scripted", adapter_config={"text": text}
    )
    run = evaluation_run_start(model=model, benchmark="perception-gl")
    for chunk in range(run.chunks_total):
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)
    run.refresh_from_db()
    assert run.status == "finished"
    return run


def test_a_mapped_recipes_accuracy_becomes_the_models_general_level_task_score(mapped):
    task = Task.objects.create(
        name="Tiny perception", modality="image", group="comprehension", metric="Acc", sota=90.0
    )
    run = _run("always-a", "A")
    expected = 100.0 * run.summary["overall"]["accuracy"]
    score = TaskScore.objects.get(model=run.model, task=task)
    assert score.score == pytest.approx(expected) and score.source == TaskScore.Source.EVALUATION
    assert score.evaluation_run_id == run.pk and "perception-gl" in score.source_detail
    assert run.summary["general_level"] == [
        {
            "task": "image/comprehension/Tiny perception",
            "score": pytest.approx(expected),
            "stored": True,
            "reason": None,
        }
    ]
    board = Client().get("/api/v1/general-level").json()
    assert "always-a" in {row["arena_slug"] for row in board["models"]}


def test_a_later_run_replaces_the_task_score(mapped):
    task = Task.objects.create(
        name="Tiny perception", modality="image", group="comprehension", metric="Acc", sota=90.0
    )
    first = _run("always-a", "A")
    second = evaluation_run_start(model=first.model, benchmark="perception-gl", limit=4)
    for chunk in range(second.chunks_total):
        evaluation_chunk_run(run_id=second.pk, chunk=chunk)
    assert TaskScore.objects.filter(task=task).count() == 1
    assert TaskScore.objects.get(task=task).evaluation_run_id == second.pk


def test_a_task_the_board_does_not_list_is_reported_and_not_invented(mapped):
    run = _run("always-a", "A")
    assert not Task.objects.exists() and not TaskScore.objects.exists()
    (row,) = run.summary["general_level"]
    assert row["stored"] is False and "lists no such task" in row["reason"]


def test_a_general_task_that_is_not_modality_group_name_is_refused_with_the_shape():
    with pytest.raises(RecipeError, match="modality/group/name"):
        Recipe(name="r", benchmark="b", instructions=(_LETTER,), inferencer="choice", metrics=("accuracy",),
               general_task="MMBench")  # fmt: skip
    with pytest.raises(RecipeError, match="has no group"):
        Recipe(name="r", benchmark="b", instructions=(_LETTER,), inferencer="choice", metrics=("accuracy",),
               general_task="nlp/comprehension/GSM8K")  # fmt: skip


def test_a_benchmark_name_already_taken_is_refused(mapped):
    with pytest.raises(ValueError, match="already a benchmark named 'perception-gl'"):
        benchmark_register(benchmark=Benchmark(name="perception-gl", description="", items=_perception,
                                               version=lambda: "v2", recipes=mapped.recipes))  # fmt: skip
