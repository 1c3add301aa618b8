"""The board scored from the database: ranking, page keys, and one computation per version."""

from __future__ import annotations

import json

import pytest

from leaderboard.boards.general_level import selectors as general_level_selectors
from leaderboard.boards.general_level.selectors import (
    general_level_board,
    general_level_level_boards,
    general_level_modality_boards,
    general_level_version,
)
from leaderboard.boards.general_level.services import general_level_import
from leaderboard.models import TaskScore
from tests.factories import model_make

pytestmark = pytest.mark.django_db

TASKS: list[dict[str, object]] = [
    {"name": "VQA", "modality": "image", "group": "comprehension", "metric": "ACC", "sota": 50},
    {"name": "T2I", "modality": "image", "group": "generation", "metric": "ACC", "sota": 30},
    {"name": "QA", "modality": "nlp", "group": None, "metric": "ACC", "sota": 60},
]


def _import(models: dict[str, list[float | None]], tasks: list[dict[str, object]] = TASKS) -> None:
    document = {"tasks": tasks, "models": {name: {"scores": scores} for name, scores in models.items()}}
    general_level_import(data=json.dumps(document).encode(), filename="board.json")


def test_models_are_ranked_by_level_then_by_that_levels_score():
    _import(
        {
            "Specialist": [None, None, None],
            "Broad": [40, 20, 50],  # no win: Level 2
            "Synergy": [60, 35, 50],  # wins in both image groups, no language win: Level 4
            "Generalist": [55, 31, 70],  # wins everywhere: Level 5
            "Stronger": [90, 90, 90],
        }
    )
    board = general_level_board()
    assert [(entry.name, entry.report.level) for entry in board.entries] == [
        ("Stronger", 5),
        ("Generalist", 5),
        ("Synergy", 4),
        ("Broad", 2),
        ("Specialist", 1),
    ]
    assert [entry.rank for entry in board.entries] == [1, 2, 3, 4, 5]
    assert board.task_counts == {"image": 2, "video": 0, "audio": 0, "3d": 0, "nlp": 1}


def test_level_boards_list_models_scoring_above_zero_best_first():
    _import({"Broad": [40, 20, 50], "Synergy": [60, 35, 50], "Generalist": [55, 31, 70]})
    boards = {b.level: b for b in general_level_level_boards(board=general_level_board())}
    assert [row.entry.name for row in boards[3].rows] == ["Synergy", "Generalist"]
    assert [row.entry.name for row in boards[5].rows] == ["Generalist"]
    assert boards[5].zero_count == 2
    image = next(
        b for b in general_level_modality_boards(board=general_level_board()) if b.modality == "image"
    )
    assert [row.entry.name for row in image.rows] == ["Synergy", "Generalist", "Broad"]


def test_arena_models_use_their_slug_and_other_names_a_unique_slugified_key():
    model_make(slug="alpha-7b", display_name="Alpha 7B", organization="Alpha Lab")
    _import({"alpha-7b": [60, 35, 50], "Beta Chat": [1, 1, 1], "beta chat": [2, 2, 2], "Fragment": [3, 3, 3]})
    entries = {entry.name: entry for entry in general_level_board().entries}
    assert entries["Alpha 7B"].key == "alpha-7b" and entries["Alpha 7B"].organization == "Alpha Lab"
    assert entries["Alpha 7B"].arena_slug == "alpha-7b"
    assert {entries["Beta Chat"].key, entries["beta chat"].key} == {"beta-chat", "beta-chat-2"}
    assert entries["Fragment"].key == "fragment-2"  # /fragment/ is the live board's own address
    assert entries["Beta Chat"].arena_slug is None


def test_the_board_is_computed_once_per_version(monkeypatch):
    _import({"Alpha": [60, 35, 50]})
    calls = []
    compute = general_level_selectors.general_level_board_compute

    def counting(**kwargs):
        calls.append(kwargs)
        return compute(**kwargs)

    monkeypatch.setattr(general_level_selectors, "general_level_board_compute", counting)
    first = general_level_board()
    again = general_level_board()
    assert len(calls) == 1 and again.version == first.version

    _import({"Alpha": [61, 35, 50]})
    changed = general_level_board()
    assert len(calls) == 2 and changed.version != first.version
    assert changed.entries[0].report.modalities[0].comprehension.tasks[0].raw == 61


def test_the_version_follows_renames_and_deletions():
    model = model_make(slug="alpha", display_name="Alpha")
    _import({"alpha": [60, 35, 50], "Beta": [1, 1, 1]})
    before = general_level_version()
    model.display_name = "Alpha Two"
    model.save()
    renamed = general_level_version()
    assert renamed != before
    TaskScore.objects.filter(model_name="Beta").delete()
    assert general_level_version() != renamed
    assert [entry.name for entry in general_level_board().entries] == ["Alpha Two"]
