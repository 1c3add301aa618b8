"""Two submissions from submit to a blind battle through real parts: a tiny local checkpoint and an
OpenAI-compatible endpoint (`transformers serve` on loopback). The checks and the evaluation run in
the live stack's Celery worker, which starts hosting the submitted models without a restart."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from portal.tokens import token_create
from tests.arena.test_battle_stream import _events_until_done
from tests.portal.submissions.helpers import CARD, user_make

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LLAVA = "tiny-llava-64"  # its processor needs no remote code (the tiny Qwen2-VL one does)


def _api(base_url: str, user: Any) -> httpx.Client:
    _, secret = token_create(user=user, name="e2e")
    return httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {secret}"})


def _until(client: httpx.Client, submission_id: str, status: str, *, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = client.get(f"/api/v1/submissions/{submission_id}").json()
        if found["status"] == status:
            return found
        assert found["status"] not in ("refused", "failed", "rejected"), found
        assert time.monotonic() < deadline, f"still {found['status']} after {timeout} s: {found}"
        time.sleep(0.5)


def test_a_checkpoint_and_an_endpoint_go_from_submit_to_a_blind_battle(live_stack, tiny_models_dir, served):
    author, staff = _api(live_stack.base_url, user_make()), _api(live_stack.base_url, user_make(staff=True))
    checkpoint = author.post(
        "/api/v1/submissions",
        json={
            "kind": "checkpoint",
            "display_name": "Submitted Checkpoint VL",
            "organization": "Test Lab",
            "license": "apache-2.0",
            "description": CARD,
            "input_modalities": ["text", "image"],
            "source": str(tiny_models_dir.dir / LLAVA),
            "dtype": "float32",
        },
    )
    assert checkpoint.status_code == 202, checkpoint.text
    endpoint = author.post(
        "/api/v1/submissions",
        json={
            "kind": "endpoint",
            "display_name": "Submitted Endpoint VL",
            "organization": "Test Lab",
            "license": "apache-2.0",
            "description": CARD,
            "input_modalities": ["text"],
            "base_url": served.base_url,
            "model": str(tiny_models_dir.dir / LLAVA),
            "api_key": "a-key-the-server-ignores",
        },
    )
    assert endpoint.status_code == 202, endpoint.text
    ids = [checkpoint.json()["id"], endpoint.json()["id"]]
    for submission_id in ids:
        checked = _until(author, submission_id, "pending")
        assert checked["events"][-1]["status"] == "pending"
        assert staff.post(f"/api/v1/submissions/{submission_id}/approve").status_code == 200
    for submission_id in ids:
        finished = _until(author, submission_id, "finished")
        assert "tiny-ehub" in finished["log_tail"] and "overall accuracy" in finished["log_tail"]
        enabled = staff.post(f"/api/v1/submissions/{submission_id}/enable")
        assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    # The two submitted models are the only active ones: a blind battle draws them, and both answer.
    voter = httpx.Client(base_url=live_stack.base_url, timeout=60)
    voter.headers["X-CSRFToken"] = voter.get("/api/v1/session").json()["csrf_token"]
    voter.headers["Origin"] = live_stack.base_url
    battle = voter.post("/api/v1/battles", data={"prompt": "Say something."}).json()
    events = _events_until_done(live_stack, battle["stream"], client=voter)
    assert not [event for event in events if event["type"] == "error"], events
    reveal = voter.post(f"/api/v1/battles/{battle['id']}/vote", json={"winner": "tie"}).json()
    names = {reveal["model_a"]["name"], reveal["model_b"]["name"]}
    assert names == {"Submitted Checkpoint VL", "Submitted Endpoint VL"}
