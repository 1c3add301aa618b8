"""Small builders for arena data in tests."""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management import call_command
from django.test import Client
from openpyxl import Workbook
from PIL import Image

from arena.models import Battle, Exclusion, Model, Response, Side, Turn, Vote
from core.versions import data_versions_bump
from leaderboard.boards.arena.counts import excluded_counts_add, vote_counts_add
from leaderboard.boards.arena.style import vote_style_store
from leaderboard.boards.arena.versions import VOTES
from leaderboard.models import OnlineRating, RatingSnapshot

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
_counter = itertools.count(1)


def model_make(**fields: Any) -> Model:
    number = next(_counter)
    defaults: dict[str, Any] = {
        "slug": f"model-{number}",
        "display_name": f"Model {number}",
        "organization": f"Org {number}",
        "license": "apache-2.0",
        "input_modalities": ["text", "image"],
        "adapter_kind": "openai",
        "adapter_config": {"base_url": "http://127.0.0.1:9/v1", "model": f"m{number}"},
    }
    return Model.objects.create(**{**defaults, **fields})


def battle_make(*, creator_id: str = "voter-1", status: str = Response.Status.DONE, **fields: Any) -> Battle:
    model_a = fields.pop("model_a", None) or model_make()
    model_b = fields.pop("model_b", None) or model_make()
    battle = Battle.objects.create(model_a=model_a, model_b=model_b, creator_id=creator_id, **fields)
    turn = Turn.objects.create(battle=battle, index=0, prompt="What is in the picture?")
    for side in Side.values:
        Response.objects.create(turn=turn, side=side, status=status, text=f"answer {side}")
    return battle


def vote_make(
    model_a: Model,
    model_b: Model,
    winner: str = "model_a",
    *,
    categories: Sequence[str] = (),
    anony: bool = True,
    is_valid: bool = True,
    **fields: object,
) -> Vote:
    """A voted battle without turns, counted as the board's `vote_cast` receivers count it (with the
    categories given rather than labelled from prompts): all a snapshot reads. No online Elo step."""
    battle = Battle.objects.create(model_a=model_a, model_b=model_b, creator_id="voter-1")
    exclusions = [] if is_valid else [Exclusion.INVALIDATED]
    return _vote_counted(
        battle=battle,
        winner=winner,
        categories=categories,
        anony=anony,
        is_valid=is_valid,
        exclusions=exclusions,
        **fields,
    )


def _vote_counted(*, battle: Battle, winner: str, categories: Sequence[str], **fields: object) -> Vote:
    """The vote on `battle`, counted and its style stored as `vote_cast`'s receivers do."""
    vote = Vote.objects.create(
        battle=battle,
        winner=winner,
        voter_id="voter-1",
        ip_hash="hash-of-an-ip",
        categories=list(categories),
        **fields,
    )
    vote_counts_add(vote=vote, battle=battle)
    excluded_counts_add(vote=vote)
    vote_style_store(vote=vote, battle=battle)
    data_versions_bump(VOTES)
    return vote


def answered_vote_make(
    model_a: Model,
    model_b: Model,
    winner: str = "model_a",
    *,
    answer_a: str,
    answer_b: str,
    categories: Sequence[str] = (),
    anony: bool = True,
) -> Vote:
    """A voted one-turn battle with these answers, counted and its style stored as `vote_cast`'s
    receivers do (categories given, not labelled). No online Elo step."""
    battle = Battle.objects.create(model_a=model_a, model_b=model_b, creator_id="voter-1")
    turn = Turn.objects.create(battle=battle, index=0, prompt="Describe the picture.")
    Response.objects.create(turn=turn, side=Side.A, status=Response.Status.DONE, text=answer_a)
    Response.objects.create(turn=turn, side=Side.B, status=Response.Status.DONE, text=answer_b)
    return _vote_counted(battle=battle, winner=winner, categories=categories, anony=anony)


def command_output(command: str, *args: str) -> str:
    """What a management command writes to stdout."""
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def rows_in_database() -> tuple[int, ...]:
    """Row counts of everything a ratings command could write: equal before and after, nothing was."""
    return (
        Model.objects.count(),
        Battle.objects.count(),
        Vote.objects.count(),
        OnlineRating.objects.count(),
        RatingSnapshot.objects.count(),
    )


def image_bytes(
    *, size: tuple[int, int] = (64, 48), fmt: str = "PNG", color: str = "red", **save: Any
) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt in {"PNG", "WEBP"} and save.pop("alpha", False) else "RGB"
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def voter_client() -> tuple[Client, str]:
    """A browser-like client with a voting session and its CSRF token."""
    client = Client(enforce_csrf_checks=True)
    token = client.get("/api/v1/session").json()["csrf_token"]
    return client, token


def vote_post(client: Client, token: str, battle_id: object, winner: str = "model_a") -> Any:
    return client.post(
        f"/api/v1/battles/{battle_id}/vote",
        data={"winner": winner},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def workbook_bytes(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    """An .xlsx file with one sheet per entry, rows as given (General-Bench layout in the tests)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def length_biased_votes_make(models: Mapping[Model, float], count: int, *, seed: int = 0) -> None:
    """`count` votes between models of equal skill where length decides: each model writes a long
    answer with its own probability (`models`), and the longer answer wins 85% of the time (a coin
    toss when both are alike). A plain fit credits the verbose models; style control should not."""
    rng = np.random.default_rng(seed)
    pool = list(models)
    long_answer = " ".join(["word"] * 200)
    short_answer = " ".join(["word"] * 20)
    for _ in range(count):
        first, second = rng.choice(len(pool), size=2, replace=False)
        model_a, model_b = pool[int(first)], pool[int(second)]
        long_a, long_b = rng.random() < models[model_a], rng.random() < models[model_b]
        # Alike: a coin toss; else the longer answer wins 85% of the time.
        a_wins = rng.random() < 0.5 if long_a == long_b else (rng.random() < 0.85) == long_a
        answered_vote_make(
            model_a,
            model_b,
            "model_a" if a_wins else "model_b",
            answer_a=long_answer if long_a else short_answer,
            answer_b=long_answer if long_b else short_answer,
        )
