"""The OpenAI-compatible HTTP adapter, against a real `transformers serve` and a scripted local server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import Served
from tests.processes import free_port as _free_port
from workers.adapters import (
    AdapterError,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
    TextPart,
    adapter_get,
)
from workers.adapters.openai_http import OpenAIHttpAdapter
from workers.adapters.sse import sse_data_iterate

SHORT = GenerationParams(max_new_tokens=16, temperature=0.7, top_p=0.9, seed=5)


def _adapter(key: str, **config: Any) -> ModelAdapter:
    return adapter_get(key=f"test-http:{key}", kind="openai", config=config)


def _ask(text: str, *images: bytes) -> Message:
    return Message(
        role="user",
        content=(*(ImagePart(data=image, mime_type="image/png") for image in images), TextPart(text)),
    )


def _run(
    adapter: ModelAdapter, conversation: list[Message], params: GenerationParams = SHORT
) -> tuple[list[str], GenerationStats]:
    stats = GenerationStats()
    return list(adapter.stream(conversation, params, stats=stats)), stats


# --- a real OpenAI-compatible server: transformers serve ------------------------------------------------


@pytest.mark.parametrize("slug", ["tiny-llava-64", "tiny-qwen2-vl-64"])
def test_an_image_question_streams_from_transformers_serve_with_usage(
    served: Served, tiny_models_dir: Any, slug: str, png: bytes
) -> None:
    adapter = _adapter(
        f"serve:{slug}", base_url=served.base_url, model=tiny_models_dir.spec(slug).adapter_config["path"]
    )

    chunks, stats = _run(adapter, [_ask("What is in the picture?", png)])
    _, text_only = _run(adapter, [_ask("What is in the picture?")])

    assert len(chunks) > 1 and all(chunks)
    assert stats.completion_tokens is not None and 1 <= stats.completion_tokens <= 16
    assert stats.prompt_tokens is not None and text_only.prompt_tokens is not None
    assert stats.prompt_tokens > text_only.prompt_tokens  # the image reached the model
    assert stats.started_at is not None and stats.first_chunk_at is not None and stats.finished_at is not None


def test_a_multi_turn_history_goes_through_transformers_serve(
    served: Served, tiny_models_dir: Any, png: bytes
) -> None:
    adapter = _adapter(
        "serve:history", base_url=served.base_url, model=str(tiny_models_dir.dir / "tiny-llava-128")
    )
    conversation = [
        _ask("What is this?", png),
        Message(role="assistant", content=(TextPart("A red square."),)),
        _ask("Are you sure?"),
    ]

    chunks, stats = _run(adapter, conversation)
    _, last_only = _run(adapter, conversation[-1:])

    assert "".join(chunks).strip()
    assert stats.prompt_tokens is not None and last_only.prompt_tokens is not None
    assert stats.prompt_tokens > last_only.prompt_tokens


def test_the_seed_reaches_the_server(served: Served, tiny_models_dir: Any) -> None:
    adapter = _adapter(
        "serve:seed", base_url=served.base_url, model=str(tiny_models_dir.dir / "tiny-llava-64")
    )

    first, _ = _run(adapter, [_ask("Story?")], GenerationParams(max_new_tokens=16, temperature=1.0, seed=11))
    second, _ = _run(adapter, [_ask("Story?")], GenerationParams(max_new_tokens=16, temperature=1.0, seed=11))

    assert "".join(first) == "".join(second)


def test_a_4xx_from_transformers_serve_becomes_a_readable_error(served: Served, tiny_models_dir: Any) -> None:
    adapter = _adapter(
        "serve:422",
        base_url=served.base_url,
        model=str(tiny_models_dir.dir / "tiny-llava-64"),
        extra_body={"not_a_field": 1},
    )

    with pytest.raises(
        AdapterError, match=r"answered 422 Unprocessable (Entity|Content): Unexpected fields .*not_a_field"
    ):
        _run(adapter, [_ask("Hi")])


def test_cancelling_closes_the_stream_from_transformers_serve(served: Served, tiny_models_dir: Any) -> None:
    adapter = _adapter(
        "serve:cancel", base_url=served.base_url, model=str(tiny_models_dir.dir / "tiny-qwen2-vl-192")
    )
    cancel = threading.Event()
    received = []

    for chunk in adapter.stream(
        [_ask("Talk.")], GenerationParams(max_new_tokens=500), stats=GenerationStats(), cancel=cancel
    ):
        received.append(chunk)
        cancel.set()

    assert len(received) == 1


# --- a scripted local server, for what a real one cannot be made to do on demand --------------------------


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Responder = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Scripted:
    base_url: str
    requests: list[Recorded] = field(default_factory=list)
    respond: Responder = lambda handler: None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scripted: Scripted

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.scripted.requests.append(
            Recorded(path=self.path, headers=dict(self.headers), body=json.loads(body))
        )
        self.close_connection = True
        self.scripted.respond(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(port: int = 0) -> tuple[ThreadingHTTPServer, Scripted]:
    class Handler(_Handler):
        pass  # a class per server, so each records into its own Scripted

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    scripted = Scripted(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    Handler.scripted = scripted
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, scripted


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server, scripted = _serve()
    yield scripted
    server.shutdown()
    server.server_close()


def _sse(*events: str, status: int = 200) -> Responder:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for event in events:
            handler.wfile.write(event.encode())
            handler.wfile.flush()

    return respond


def _json(payload: object, *, status: int) -> Responder:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return respond


def _delta(content: str) -> str:
    return f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': content}}]})}\n\n"


USAGE = 'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}\n\n'


def test_the_api_key_is_read_from_the_named_variable_at_each_call(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.respond = _sse(_delta("ok"), "data: [DONE]\n\n")
    adapter = _adapter("key", base_url=scripted.base_url, model="m", api_key_env="ARENA_TEST_PROVIDER_KEY")

    monkeypatch.setenv("ARENA_TEST_PROVIDER_KEY", "first-secret")
    _run(adapter, [_ask("Hi")])
    monkeypatch.setenv("ARENA_TEST_PROVIDER_KEY", "rotated-secret")
    _run(adapter, [_ask("Hi")])

    assert [request.headers["Authorization"] for request in scripted.requests] == [
        "Bearer first-secret",
        "Bearer rotated-secret",
    ]
    assert isinstance(adapter, OpenAIHttpAdapter)
    assert "first-secret" not in repr(adapter.settings)  # the settings only name the variable


def test_a_missing_api_key_variable_fails_before_any_request(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARENA_TEST_UNSET_KEY", raising=False)
    adapter = _adapter("nokey", base_url=scripted.base_url, model="m", api_key_env="ARENA_TEST_UNSET_KEY")

    with pytest.raises(AdapterError, match="'ARENA_TEST_UNSET_KEY' is not set"):
        _run(adapter, [_ask("Hi")])
    assert scripted.requests == []


def test_no_authorization_header_is_sent_without_a_key_variable(scripted: Scripted) -> None:
    scripted.respond = _sse(_delta("ok"))

    _run(_adapter("anon", base_url=scripted.base_url, model="m"), [_ask("Hi")])

    assert "Authorization" not in scripted.requests[0].headers


def test_the_request_carries_parts_parameters_and_extra_body(scripted: Scripted, png: bytes) -> None:
    scripted.respond = _sse(_delta("ok"), "data: [DONE]\n\n")
    adapter = _adapter("body", base_url=scripted.base_url + "/", model="vlm-7b", extra_body={"top_k": 20})
    conversation = [
        Message(role="system", content=(TextPart("Be brief."),)),
        _ask("What is it?", png),
        Message(role="assistant", content=(TextPart("A square."),)),
        _ask("Sure?"),
    ]

    _run(adapter, conversation, GenerationParams(max_new_tokens=33, temperature=0.5, top_p=0.8, seed=9))

    request = scripted.requests[0]
    assert request.path == "/v1/chat/completions"
    body = request.body
    expected = {
        "model": "vlm-7b",
        "stream": True,
        "max_tokens": 33,
        "temperature": 0.5,
        "top_p": 0.8,
        "seed": 9,
    }
    assert {key: body[key] for key in expected} == expected
    assert body["top_k"] == 20  # from extra_body
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    image, text = body["messages"][1]["content"]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith(
        "data:image/png;base64,iVBOR"
    )
    assert text == {"type": "text", "text": "What is it?"}
    assert body["messages"][2] == {"role": "assistant", "content": "A square."}


def test_stream_options_can_be_left_out_for_servers_that_refuse_them(scripted: Scripted) -> None:
    scripted.respond = _sse(_delta("ok"))

    _run(_adapter("nousage", base_url=scripted.base_url, model="m", include_usage=False), [_ask("Hi")])

    assert "stream_options" not in scripted.requests[0].body


def test_deltas_are_yielded_and_usage_counted_until_done(scripted: Scripted) -> None:
    scripted.respond = _sse(
        ": keep-alive comment\n\n",
        'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n\n',
        _delta("Hello"),
        _delta(" world"),
        USAGE,
        "data: [DONE]\n\n",
        _delta(" after done"),
    )

    chunks, stats = _run(_adapter("deltas", base_url=scripted.base_url, model="m"), [_ask("Hi")])

    assert chunks == ["Hello", " world"]
    assert (stats.prompt_tokens, stats.completion_tokens) == (7, 2)


def test_an_error_event_midway_raises_after_the_chunks_before_it(scripted: Scripted) -> None:
    scripted.respond = _sse(_delta("partial"), 'data: {"error": "CUDA out of memory"}\n\n')
    received: list[str] = []

    with pytest.raises(AdapterError, match="reported an error: CUDA out of memory"):
        for chunk in _adapter("midway", base_url=scripted.base_url, model="m").stream(
            [_ask("Hi")], SHORT, stats=GenerationStats()
        ):
            received.append(chunk)

    assert received == ["partial"]


@pytest.mark.parametrize(
    ("respond", "message"),
    [
        (
            _json({"error": {"message": "The model `x` does not exist."}}, status=404),
            "answered 404 Not Found: The model `x` does not exist.",
        ),
        (_json({"detail": [{"msg": "field required"}]}, status=422), "answered 422 .*: field required"),
        (_json({"message": "slow down"}, status=429), "answered 429 Too Many Requests: slow down"),
    ],
)
def test_http_errors_carry_the_status_and_the_bodys_reason(
    scripted: Scripted, respond: Responder, message: str
) -> None:
    scripted.respond = respond

    with pytest.raises(AdapterError, match=message):
        _run(_adapter(f"status:{message[:12]}", base_url=scripted.base_url, model="m"), [_ask("Hi")])


def test_a_plain_text_error_body_is_shortened_into_the_message(scripted: Scripted) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        body = ("upstream   overloaded\n" * 100).encode()
        handler.send_response(503)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    scripted.respond = respond

    with pytest.raises(
        AdapterError, match="answered 503 Service Unavailable: upstream overloaded upstream"
    ) as caught:
        _run(_adapter("plain", base_url=scripted.base_url, model="m"), [_ask("Hi")])
    assert len(str(caught.value)) < 400


def test_a_server_that_answers_in_one_json_document_is_understood(scripted: Scripted) -> None:
    scripted.respond = _json(
        {
            "choices": [{"message": {"content": "whole answer"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        },
        status=200,
    )

    chunks, stats = _run(_adapter("whole", base_url=scripted.base_url, model="m"), [_ask("Hi")])

    assert chunks == ["whole answer"]
    assert stats.completion_tokens == 2


def test_a_silent_server_fails_after_the_read_timeout(scripted: Scripted) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        handler.wfile.flush()
        time.sleep(1.5)

    scripted.respond = respond
    adapter = _adapter("silent", base_url=scripted.base_url, model="m", read_timeout=0.3)

    started = time.monotonic()
    with pytest.raises(AdapterError, match=r"sent nothing for 0\.3 seconds"):
        _run(adapter, [_ask("Hi")])
    assert time.monotonic() - started < 1.4


def test_a_connection_broken_after_bytes_arrived_is_not_retried(scripted: Scripted) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Content-Length", "100000")  # promises more than it sends
        handler.end_headers()
        handler.wfile.write(_delta("half").encode())
        handler.wfile.flush()

    scripted.respond = respond
    received: list[str] = []

    with pytest.raises(AdapterError, match="connection to the model server failed"):
        for chunk in _adapter("broken", base_url=scripted.base_url, model="m").stream(
            [_ask("Hi")], SHORT, stats=GenerationStats()
        ):
            received.append(chunk)

    assert received == ["half"]
    assert len(scripted.requests) == 1


def test_a_refused_connection_is_retried_then_reported() -> None:
    adapter = _adapter("refused", base_url=f"http://127.0.0.1:{_free_port()}/v1", model="m", max_retries=2)

    started = time.monotonic()
    with pytest.raises(
        AdapterError,
        match=r"Could not connect to the model server at http://127\.0\.0\.1:\d+/v1 after 3 attempts",
    ):
        _run(adapter, [_ask("Hi")])
    assert time.monotonic() - started >= 0.7  # waited 0.25 s then 0.5 s between the three attempts


def test_a_server_that_comes_up_during_the_retries_is_reached() -> None:
    port = _free_port()
    adapter = _adapter("late", base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=4)
    late: list[tuple[ThreadingHTTPServer, Scripted]] = []

    def start_late() -> None:
        time.sleep(0.1)
        late.append(_serve(port))
        late[0][1].respond = _sse(_delta("finally"))

    starter = threading.Thread(target=start_late)
    starter.start()
    try:
        chunks, _ = _run(adapter, [_ask("Hi")])
    finally:
        starter.join()
        if late:
            late[0][0].shutdown()
            late[0][0].server_close()

    assert chunks == ["finally"]


def test_a_cancel_during_retries_stops_them_quietly() -> None:
    adapter = _adapter(
        "cancel-retry", base_url=f"http://127.0.0.1:{_free_port()}/v1", model="m", max_retries=10
    )
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()

    started = time.monotonic()
    chunks = list(adapter.stream([_ask("Hi")], SHORT, stats=GenerationStats(), cancel=cancel))

    assert chunks == []
    assert time.monotonic() - started < 2


def test_sse_data_joins_multi_line_events_and_skips_other_fields() -> None:
    lines = [
        ": hello",
        "event: message",
        "id: 1",
        "data: first",
        "data:second",
        "",
        "data: [DONE]",
        "",
        "data: tail",
    ]

    assert list(sse_data_iterate(lines=lines)) == ["first\nsecond", "[DONE]", "tail"]
