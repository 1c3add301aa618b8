"""One side's generation run in-process against a local OpenAI-compatible server, events read off Redis."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from arena.answers import answer_generate
from arena.models import Response
from core.realtime import battle_group
from tests.factories import battle_make, model_make
from workers.runner import TIMEOUT_FAILURE

pytestmark = pytest.mark.django_db(transaction=True)


class _SlowStream(BaseHTTPRequestHandler):
    """Streams a word every `delay` seconds, like a slow hosted endpoint."""

    words = 40
    delay = 0.05

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for index in range(self.words):
                chunk = {"choices": [{"index": 0, "delta": {"content": f"w{index} "}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(self.delay)
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowStream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _run_and_listen(response: Response) -> list[dict]:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(battle_group(battle_id=response.turn.battle_id), channel)
    answer_generate(response_id=response.pk)

    async def receive() -> dict:
        return await asyncio.wait_for(layer.receive(channel), timeout=10)

    events: list[dict] = []
    while True:
        event = async_to_sync(receive)()
        events.append(event)
        if event["event"] in ("done", "error") and event["side"] == response.side:
            return events


def _endpoint_model(base_url: str):
    return model_make(adapter_config={"base_url": base_url, "model": "slow", "max_retries": 0})


def test_chunks_are_coalesced_numbered_and_persisted(slow_server, settings):
    settings.ARENA_STREAM_INTERVAL_S = 0.2
    battle = battle_make(model_a=_endpoint_model(slow_server), status=Response.Status.QUEUED)
    response = Response.objects.get(turn__battle=battle, side="a")
    events = _run_and_listen(response)
    deltas = [event for event in events if event["event"] == "delta"]
    # 40 words 50 ms apart, sent at most every 200 ms: far fewer messages than chunks.
    assert 5 <= len(deltas) < 20
    assert [event["seq"] for event in deltas] == list(range(1, len(deltas) + 1))
    text = "".join(event["text"] for event in deltas)
    assert text == "".join(f"w{index} " for index in range(40))
    response.refresh_from_db()
    assert response.status == "done" and response.text == text
    assert response.first_chunk_at and response.finished_at


def test_a_side_past_its_time_limit_fails_with_a_message(slow_server, settings):
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0.5
    battle = battle_make(model_a=_endpoint_model(slow_server), status=Response.Status.QUEUED)
    response = Response.objects.get(turn__battle=battle, side="a")
    events = _run_and_listen(response)
    assert events[-1] == {**events[-1], "event": "error", "message": TIMEOUT_FAILURE}
    response.refresh_from_db()
    assert response.status == "failed" and response.error == TIMEOUT_FAILURE
    assert response.text  # what arrived before the limit is kept


def test_error_messages_never_name_the_model(settings):
    model = model_make(
        slug="secret-vlm",
        display_name="Secret VLM",
        adapter_config={"base_url": "http://127.0.0.1:9/v1", "model": "secret-vlm", "max_retries": 0},
    )
    battle = battle_make(model_a=model, status=Response.Status.QUEUED)
    response = Response.objects.get(turn__battle=battle, side="a")
    events = _run_and_listen(response)
    message = events[-1]["message"]
    assert events[-1]["event"] == "error" and message
    for secret in ("secret-vlm", "Secret VLM", "127.0.0.1:9"):
        assert secret not in message
    response.refresh_from_db()
    assert response.status == "failed" and "secret" not in response.error.lower()


def test_a_finished_answer_is_not_generated_again(slow_server):
    battle = battle_make(model_a=_endpoint_model(slow_server), status=Response.Status.DONE)
    response = Response.objects.get(turn__battle=battle, side="a")
    answer_generate(response_id=response.pk)
    response.refresh_from_db()
    assert response.text == "answer a"
