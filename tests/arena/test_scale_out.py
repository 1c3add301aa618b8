"""More than one of each process on one machine: two web servers sharing the channel layer, workers
hosting different model queues, and a model registered while the workers run."""

from __future__ import annotations

import pytest

from arena.models import Response
from tests.battles import Events, scripted_models_register, session_client, side_text, sides_ended
from tests.processes import Processes

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_a_battle_created_through_one_web_process_streams_to_a_client_of_another(processes: Processes):
    scripted_models_register("left-model", "right-model", tokens_per_s=40)
    web_a, web_b = processes.web("web-a"), processes.web("web-b")
    processes.worker("left", models="left-model")
    processes.worker("right", models="right-model")

    client = session_client(web_a)
    battle = client.post("/api/v1/battles", data={"prompt": "Hello there."}).json()
    # The same session on the other web process: the session store is shared.
    events = Events(web_b, battle["stream"], client=client)
    seen = events.until(sides_ended(), timeout=60)
    events.close()

    assert [e["type"] for e in seen if e["type"] in ("done", "error")] == ["done", "done"]
    stored = {r.side: r for r in Response.objects.filter(turn__battle_id=battle["id"])}
    for side in "ab":
        assert side_text(seen, side) == stored[side].text, side
    left = processes.log("left").read_text()
    right = processes.log("right").read_text()
    assert left.count("arena.response_generate") >= 1 and right.count("arena.response_generate") >= 1, (
        "each side ran on the worker hosting its model"
    )


def test_a_model_registered_while_the_workers_run_is_picked_up_without_a_restart(processes: Processes):
    scripted_models_register("early-model", tokens_per_s=40)
    base = processes.web()
    worker = processes.worker("globbing", models="early-*,late-*")
    scripted_models_register("late-model", tokens_per_s=40)  # tells the workers as it commits

    client = session_client(base)
    battle = client.post("/api/v1/battles", data={"prompt": "Who is new?"}).json()
    events = Events(base, battle["stream"], client=client)
    seen = events.until(sides_ended(), timeout=60)
    events.close()

    assert [e["type"] for e in seen if e["type"] in ("done", "error")] == ["done", "done"]
    assert "now hosting model.late-model" in processes.log("globbing").read_text()
    assert worker.poll() is None
