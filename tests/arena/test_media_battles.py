"""A video battle and an audio battle end to end, over REST and the socket, on the tiny models: the pair is
drawn among the models that read the prompt's media, both answer from what they were given (the frames
the voter chose, the 16 kHz sound), and the vote reveals who they were."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from arena.answers import conversation_build
from arena.models import Model, Response, Vote
from tests.arena.av_media import audio_bytes, video_bytes
from tests.arena.test_battle_stream import _events_until_done
from tests.conftest import LiveStack
from workers.adapters.base import AudioPart, VideoPart

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _battle(api_client: httpx.Client, live_stack: LiveStack, **upload: Any) -> dict:
    created = api_client.post("/api/v1/battles", **upload)
    assert created.status_code == 201, created.text
    battle = created.json()
    events = _events_until_done(live_stack, battle["stream"], client=api_client, timeout=120)
    assert not [event for event in events if event["type"] == "error"], events
    return battle


def _reveal(api_client: httpx.Client, battle: dict) -> list[Model]:
    reveal = api_client.post(f"/api/v1/battles/{battle['id']}/vote", json={"winner": "tie"})
    assert reveal.status_code == 200, reveal.text
    slugs = [reveal.json()["model_a"]["slug"], reveal.json()["model_b"]["slug"]]
    return [Model.objects.get(slug=slug) for slug in slugs]


def test_a_video_battle_draws_video_models_which_see_the_chosen_frames(
    api_client: httpx.Client, live_stack: LiveStack, arena_models
):
    battle = _battle(
        api_client,
        live_stack,
        data={"prompt": "What changes in this clip?", "frames": "4"},
        files={"video": ("clip.mp4", video_bytes("mp4", seconds=1.0), "video/mp4")},
    )
    state = api_client.get(f"/api/v1/battles/{battle['id']}").json()
    assert len(state["turns"][0]["video_frames"]) == 4, "the strip shows what the models saw"
    texts = {side: Response.objects.get(turn__battle_id=battle["id"], side=side) for side in ("a", "b")}
    assert all(response.status == "done" and response.text for response in texts.values())
    models = _reveal(api_client, battle)
    assert all("video" in model.input_modalities for model in models)
    # Counted on the video board (and overall), not the image one.
    vote = Vote.objects.get(battle_id=battle["id"])
    assert "video" in vote.categories and "image" not in vote.categories
    # What each side was given: the 4 frames the voter chose, at their times, the same for both.
    for response in texts.values():
        response = Response.objects.select_related("turn__battle__model_a", "turn__battle__model_b").get(
            pk=response.pk
        )
        (video,) = [
            part for part in conversation_build(response=response)[0].content if isinstance(part, VideoPart)
        ]
        assert len(video.frames) == 4 and len(video.timestamps) == 4
        assert [round(t, 3) for t in video.timestamps] == [
            round(frame["timestamp"], 3) for frame in state["turns"][0]["video_frames"]
        ]


def test_an_audio_battle_draws_models_that_hear_and_both_answer(
    api_client: httpx.Client, live_stack: LiveStack, arena_models
):
    battle = _battle(
        api_client,
        live_stack,
        data={"prompt": "What do you hear?"},
        files={"audio": ("tone.wav", audio_bytes("wav", seconds=1.0), "audio/wav")},
    )
    state = api_client.get(f"/api/v1/battles/{battle['id']}").json()
    assert state["turns"][0]["audio_url"].startswith("/api/v1/attachments/")
    answers = Response.objects.filter(turn__battle_id=battle["id"])
    assert all(answer.status == "done" and answer.prompt_tokens for answer in answers)
    for answer in answers.select_related("turn__battle__model_a", "turn__battle__model_b"):
        parts = conversation_build(response=answer)[0].content
        assert [part.sample_rate for part in parts if isinstance(part, AudioPart)] == [16000]
    models = _reveal(api_client, battle)
    assert all("audio" in model.input_modalities for model in models)
    assert "audio" in Vote.objects.get(battle_id=battle["id"]).categories
