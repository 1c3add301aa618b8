"""A whole battle through the live stack: REST + WebSocket, a real Celery worker, real tiny models."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from arena.models import Model, Response
from tests.battles import session_cookies
from tests.conftest import BROKEN_SLUG, LiveStack
from tests.factories import image_bytes

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _events_until_done(
    live_stack: LiveStack, stream: str, *, client: httpx.Client, turn: int = 0, timeout: float = 90
) -> list[dict[str, Any]]:
    """Collect the socket messages `client`'s session hears until both sides of `turn` ended (done or
    error)."""
    events: list[dict[str, Any]] = []
    ended: set[str] = set()
    deadline = time.monotonic() + timeout
    with connect(
        live_stack.ws_url + stream,
        origin=Origin(live_stack.base_url),
        open_timeout=10,
        additional_headers=session_cookies(client),
    ) as socket:
        while len(ended) < 2:
            remaining = deadline - time.monotonic()
            assert remaining > 0, (
                f"timed out; got {events}\nworker log:\n{live_stack.worker_log.read_text()[-3000:]}"
            )
            event = json.loads(socket.recv(timeout=remaining))
            events.append(event)
            # A socket that joins after a side ended hears it in the side's `sync` (a warm tiny model
            # answers in tens of milliseconds, often before the socket is open).
            finished = event["type"] == "sync" and event["status"] in ("done", "failed")
            if (event["type"] in ("done", "error") or finished) and event["turn"] == turn:
                ended.add(event["side"])
    return events


def _text_from_deltas(events: list[dict[str, Any]], side: str, turn: int = 0) -> str:
    text = ""
    for event in events:
        if event["type"] == "delta" and event["side"] == side and event["turn"] == turn:
            assert event["offset"] == len(text), "deltas arrive in order without gaps"
            text += event["text"]
    return text


def _model_identifiers() -> list[str]:
    """Everything that names a registered model: slug, display name, id, organisation, and the name
    its adapter asks its server for."""
    values: list[str] = []
    for model in Model.objects.all():
        values += [model.slug, model.display_name, str(model.pk)]
        values += [model.organization] if model.organization else []
        upstream = (model.adapter_config or {}).get("model")
        values += [upstream] if isinstance(upstream, str) and len(upstream) > 3 else []
    return values


def _assert_anonymous(blob: str, what: str = "") -> None:
    for identifier in _model_identifiers():
        if identifier.isdigit():
            # An id is a number, and pages hold numbers (an icon's width="18"): look for it as a model's.
            named = re.search(rf'"[a-z_]*model[a-z_]*"\s*:\s*"?{identifier}\b', blob)
            assert named is None, f"model id {identifier} leaked in {what}: {blob[:500]}"
            continue
        assert f'"{identifier}"' not in blob and f">{identifier}<" not in blob, (
            f"{identifier!r} leaked in {what}: {blob[:500]}"
        )
    for identifier in _model_identifiers():
        if len(identifier) > 3 and not identifier.isdigit():
            assert identifier not in blob, f"{identifier!r} leaked in {what}"


def test_full_battle_streams_both_sides_then_vote_reveals(
    api_client: httpx.Client, live_stack: LiveStack, arena_models
):
    created = api_client.post(
        "/api/v1/battles",
        data={"prompt": "What colour is this square?"},
        files={"image": ("square.png", image_bytes(size=(80, 80), color="blue"), "image/png")},
    )
    assert created.status_code == 201, created.text
    battle = created.json()
    assert battle["stream"] == f"/ws/battles/{battle['id']}/"

    events = _events_until_done(live_stack, battle["stream"], client=api_client)
    assert {event["type"] for event in events} >= {"delta", "done"}
    seqs = [event["seq"] for event in events if event["type"] == "delta" and event["side"] == "a"]
    assert seqs == list(range(1, len(seqs) + 1))

    state = api_client.get(f"/api/v1/battles/{battle['id']}").json()
    assert state["state"] == "ready" and state["can_vote"] is True
    assert state["models"] is None
    for side in ("a", "b"):
        answer = state["turns"][0]["responses"][side]
        assert answer["status"] == "done"
        assert answer["text"] and answer["text"] == _text_from_deltas(events, side)
    assert state["turns"][0]["image_url"].startswith("/api/v1/attachments/")
    assert api_client.get(state["turns"][0]["image_url"]).headers["content-type"] == "image/png"

    response = Response.objects.get(turn__battle_id=battle["id"], side="a")
    assert response.first_chunk_at is not None and response.finished_at is not None
    assert response.finished_at >= response.first_chunk_at
    assert response.completion_tokens and response.prompt_tokens

    vote = api_client.post(f"/api/v1/battles/{battle['id']}/vote", json={"winner": "model_b"})
    assert vote.status_code == 200, vote.text
    revealed = vote.json()
    slugs = {model.slug for model in Model.objects.all()}
    assert revealed["model_a"]["slug"] in slugs and revealed["model_b"]["slug"] in slugs
    assert revealed["model_a"]["slug"] != revealed["model_b"]["slug"]
    assert revealed["elo"]["model_b"]["after"] > revealed["elo"]["model_b"]["before"]

    board = api_client.get("/leaderboard/").text
    assert Model.objects.get(slug=revealed["model_b"]["slug"]).display_name in board


def test_nothing_identifies_the_models_before_the_vote(
    api_client: httpx.Client, live_stack: LiveStack, arena_models
):
    """The anonymity crawler: every page, JSON answer (errors included) and socket message a voter can
    get before voting, through a battle with an image, a late-joining socket, a follow-up, refused
    requests, a stranger's attempts, a failing side and its retry, and an abandoned battle. None
    names a model; the reveal after the vote does, which shows the crawler can tell."""
    heard: dict[str, str] = {}
    sockets: dict[str, list[dict[str, Any]]] = {}

    def keep(what: str, response: httpx.Response) -> httpx.Response:
        body = response.text if "image/" not in response.headers.get("content-type", "") else ""
        heard[what] = f"{response.status_code} {json.dumps(dict(response.headers))} {body}"
        return response

    def listen(what: str, stream: str, turn: int = 0) -> list[dict[str, Any]]:
        sockets[what] = _events_until_done(live_stack, stream, client=api_client, turn=turn)
        return sockets[what]

    keep("the home page", api_client.get("/"))
    keep("the session", api_client.get("/api/v1/session"))
    created = keep(
        "a new battle",
        api_client.post(
            "/api/v1/battles",
            data={"prompt": "Describe the image."},
            files={"image": ("square.png", image_bytes(size=(80, 80), color="blue"), "image/png")},
        ),
    )
    assert created.status_code == 201, created.text
    battle = created.json()
    path = f"/api/v1/battles/{battle['id']}"
    keep("the battle's page", api_client.get(f"/battles/{battle['id']}/"))
    listen("the stream", battle["stream"])
    state = keep("the battle", api_client.get(path)).json()
    keep("its image", api_client.get(state["turns"][0]["image_url"]))
    listen("a socket joining after the answers", battle["stream"])
    follow_up = keep("a follow-up", api_client.post(f"{path}/turns", data={"prompt": "And in one word?"}))
    assert follow_up.status_code == 201, follow_up.text
    listen("the follow-up's stream", battle["stream"], turn=1)
    assert len(keep("the battle after the follow-up", api_client.get(path)).json()["turns"]) == 2

    refused = {
        "an unknown winner": api_client.post(f"{path}/vote", json={"winner": "model_c"}),
        "a follow-up too long": api_client.post(f"{path}/turns", data={"prompt": "x" * 5000}),
        "an unreadable image": api_client.post(
            f"{path}/turns", data={"prompt": "And this?"}, files={"image": ("a.png", b"not one", "image/png")}
        ),
        "an unknown battle": api_client.get(f"/api/v1/battles/{uuid.uuid4()}"),
    }
    for what, response in refused.items():
        assert 400 <= keep(what, response).status_code < 500, (what, response.text)
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as stranger:
        assert keep("a stranger's read", stranger.get(path)).status_code == 404
        assert keep("a stranger's page", stranger.get(f"/battles/{battle['id']}/")).status_code == 404
        with pytest.raises(InvalidStatus):
            connect(live_stack.ws_url + battle["stream"], origin=Origin(live_stack.base_url), open_timeout=10)

    # A side that fails, the vote it refuses, and the retry with a new pair.
    Model.objects.exclude(pk=arena_models[0].pk).update(status=Model.Status.PAUSED)
    Model.objects.create(
        slug=BROKEN_SLUG,
        display_name="Broken Endpoint Model",
        organization="Nowhere Labs",
        input_modalities=["text", "image"],
        adapter_kind="openai",
        adapter_config={"base_url": "http://127.0.0.1:9/v1", "model": "ghost-upstream", "max_retries": 0},
    )
    failing = keep(
        "a battle with a failing side", api_client.post("/api/v1/battles", data={"prompt": "Anyone?"})
    )
    failing_path = f"/api/v1/battles/{failing.json()['id']}"
    errors = [e for e in listen("the failing stream", failing.json()["stream"]) if e["type"] == "error"]
    assert len(errors) == 1 and errors[0]["message"]
    assert keep("the failed battle", api_client.get(failing_path)).json()["state"] == "failed"
    assert (
        keep("a vote on it", api_client.post(f"{failing_path}/vote", json={"winner": "tie"})).status_code
        == 409
    )
    Model.objects.update(status=Model.Status.ACTIVE)
    Model.objects.filter(slug=BROKEN_SLUG).update(status=Model.Status.PAUSED)
    retried = keep("its retry", api_client.post(f"{failing_path}/retry"))
    assert retried.status_code == 201, retried.text
    listen("the retry's stream", retried.json()["stream"])
    keep("the retried battle", api_client.get(f"/api/v1/battles/{retried.json()['id']}"))
    keep("the original after the retry", api_client.get(failing_path))
    abandoned = keep(
        "an abandoned battle", api_client.post(f"/api/v1/battles/{retried.json()['id']}/abandon")
    )
    assert abandoned.status_code == 200, abandoned.text

    assert len(heard) == 21 and len(sockets) == 5
    for what, text in heard.items():
        _assert_anonymous(text, what)
    for what, events in sockets.items():
        assert events, what
        _assert_anonymous(json.dumps(events), what)
    revealed = api_client.post(f"{path}/vote", json={"winner": "tie"})
    assert revealed.status_code == 200, revealed.text
    with pytest.raises(AssertionError, match="leaked"):
        _assert_anonymous(revealed.text, "the reveal")


def test_follow_up_goes_to_the_same_pair_until_the_turn_limit(
    api_client: httpx.Client, live_stack: LiveStack, arena_models, settings
):
    battle = api_client.post("/api/v1/battles", data={"prompt": "Hello?"}).json()
    _events_until_done(live_stack, battle["stream"], client=api_client)
    from arena.models import Battle

    pair = Battle.objects.values_list("model_a", "model_b").get(pk=battle["id"])
    for turn in (1, 2):
        assert (
            api_client.post(
                f"/api/v1/battles/{battle['id']}/turns", data={"prompt": f"more {turn}"}
            ).status_code
            == 201
        )
        _events_until_done(live_stack, battle["stream"], client=api_client, turn=turn)
    assert Battle.objects.values_list("model_a", "model_b").get(pk=battle["id"]) == pair
    over = api_client.post(f"/api/v1/battles/{battle['id']}/turns", data={"prompt": "one too many"})
    assert over.status_code == 409
    assert "limit of 3 turns" in over.json()["detail"]


def test_a_failing_side_is_reported_and_the_other_finishes(
    api_client: httpx.Client, live_stack: LiveStack, arena_models
):
    Model.objects.exclude(pk=arena_models[0].pk).update(status=Model.Status.PAUSED)
    Model.objects.create(
        slug=BROKEN_SLUG,
        display_name="Broken Endpoint Model",
        organization="Nowhere Labs",
        input_modalities=["text", "image"],
        adapter_kind="openai",
        adapter_config={"base_url": "http://127.0.0.1:9/v1", "model": "ghost", "max_retries": 0},
    )
    battle = api_client.post("/api/v1/battles", data={"prompt": "Anyone there?"}).json()
    events = _events_until_done(live_stack, battle["stream"], client=api_client)
    errors = [event for event in events if event["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["message"]
    _assert_anonymous(json.dumps(events))

    state = api_client.get(f"/api/v1/battles/{battle['id']}").json()
    assert state["state"] == "failed" and state["can_vote"] is False
    sides = state["turns"][0]["responses"]
    assert {sides["a"]["status"], sides["b"]["status"]} == {"done", "failed"}

    assert api_client.post(f"/api/v1/battles/{battle['id']}/vote", json={"winner": "tie"}).status_code == 409
    Model.objects.update(status=Model.Status.ACTIVE)
    Model.objects.filter(slug=BROKEN_SLUG).update(status=Model.Status.PAUSED)
    retried = api_client.post(f"/api/v1/battles/{battle['id']}/retry")
    assert retried.status_code == 201
    events = _events_until_done(live_stack, retried.json()["stream"], client=api_client)
    assert not [event for event in events if event["type"] == "error"]


def test_bad_uploads_get_a_readable_4xx_and_start_nothing(
    api_client: httpx.Client, live_stack: LiveStack, arena_models
):
    from arena.models import Battle

    cases = [
        ({"prompt": "hi"}, {"image": ("a.png", b"not an image at all", "image/png")}, 415, "not an image"),
        ({"prompt": ""}, None, 400, "type a question"),
        ({"prompt": "x" * 5000}, None, 400, "limit is 4,000"),
    ]
    for data, files, status, message in cases:
        response = api_client.post("/api/v1/battles", data=data, files=files)
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
    assert not Battle.objects.exists()
    no_csrf = httpx.post(f"{live_stack.base_url}/api/v1/battles", data={"prompt": "hi"})
    assert no_csrf.status_code == 403


def test_socket_for_unknown_battle_is_closed(live_stack: LiveStack):
    from websockets.exceptions import InvalidStatus

    with (
        pytest.raises((InvalidStatus, Exception)),
        connect(
            live_stack.ws_url + "/ws/battles/00000000-0000-0000-0000-000000000000/",
            origin=Origin(live_stack.base_url),
        ) as socket,
    ):
        socket.recv(timeout=5)


def test_a_socket_that_joins_late_still_gets_the_whole_answer(
    live_stack: LiveStack, api_client: httpx.Client
):
    """Joined after generation started: the `sync` message has the text so far, the deltas the rest."""
    from arena.services import model_register
    from tests.conftest import SCRIPTED_SLUGS

    words = " ".join(f"word{i}" for i in range(40))
    for slug in SCRIPTED_SLUGS:
        model_register(
            slug=slug,
            display_name=slug,
            adapter_kind="scripted",
            adapter_config={"text": words, "tokens_per_s": 5},
        )
    created = api_client.post("/api/v1/battles", data={"prompt": "Say something slowly."}).json()
    deadline = time.monotonic() + 60
    # Stored text only appears after a first persist, so by then deltas have been sent to nobody.
    while not all(Response.objects.filter(turn__battle_id=created["id"]).values_list("text", flat=True)):
        assert time.monotonic() < deadline, live_stack.worker_log.read_text()[-3000:]
        time.sleep(0.05)
    events = _events_until_done(live_stack, created["stream"], client=api_client)
    for side in ("a", "b"):
        sync = next(e for e in events if e["type"] == "sync" and e["side"] == side)
        assert sync["text"] and sync["offset"] == 0 and sync["status"] == "streaming"
        text = sync["text"]
        for event in events:
            if event["type"] == "delta" and event["side"] == side:
                assert event["offset"] <= len(text), "no gap after the sync"
                text += event["text"][len(text) - event["offset"] :]
        stored = Response.objects.get(turn__battle_id=created["id"], side=side)
        assert stored.status == "done" and text == stored.text
        assert text.split() == words.split()[: len(text.split())]
