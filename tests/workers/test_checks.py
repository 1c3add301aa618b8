"""The checks a submitted model passes: an endpoint's test request, a checkpoint's files, all offline."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served
from tests.processes import free_port
from tests.workers.test_public_endpoints import LocalServer, local_server_running, plain_answer, sse_answer
from workers.adapters.settings import OpenAISettings
from workers.checks import REMOTE_CODE_REFUSAL, checkpoint_inspect, endpoint_probe


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with local_server_running() as server:
        yield server


BIG_LIMIT = 10**9


def _endpoint(base_url: str, model: str = "m", **options: Any) -> OpenAISettings:
    return OpenAISettings(base_url=base_url, model=model, public_only=True, **options)


# --- endpoint_probe --------------------------------------------------------------------------------------


def test_a_transformers_serve_endpoint_passes_the_probe(
    served: Served, tiny_models_dir: Any, settings: Any
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True

    result = endpoint_probe(
        settings=_endpoint(served.base_url, str(tiny_models_dir.dir / "tiny-llava-64")), timeout_s=30
    )

    assert result.ok, result.reason
    assert result.failure is None and result.answer
    assert result.reason.startswith("The endpoint answered the test request in ")


def test_the_probe_goes_through_the_public_address_guard(local_server: LocalServer, settings: Any) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False

    result = endpoint_probe(settings=_endpoint(local_server.base_url), timeout_s=5)

    assert (result.ok, result.failure) == (False, "refused_address")
    assert "a loopback address; submitted endpoints must be public" in result.reason
    assert local_server.received == []


def test_the_probe_sends_one_short_request(local_server: LocalServer, settings: Any) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True

    result = endpoint_probe(settings=_endpoint(local_server.base_url, "tiny"), timeout_s=5)

    assert result.ok and result.answer == "hello"
    [request] = local_server.received
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "tiny" and request.body["max_tokens"] <= 8


def test_an_http_error_fails_the_probe_with_the_servers_words(
    local_server: LocalServer, settings: Any
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True
    local_server.respond = plain_answer(b'{"error": {"message": "Invalid API key provided."}}', status=401)

    result = endpoint_probe(settings=_endpoint(local_server.base_url), timeout_s=5)

    assert (result.ok, result.failure, result.status_code) == (False, "http_status", 401)
    assert (
        result.reason
        == "The test request failed: The model server answered 401 Unauthorized: Invalid API key provided."
    )


def test_a_server_slower_than_the_timeout_fails_the_probe_in_time(
    local_server: LocalServer, settings: Any
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True

    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        sse_answer("late")(handler)

    local_server.respond = slow

    result = endpoint_probe(settings=_endpoint(local_server.base_url), timeout_s=0.5)

    assert (result.ok, result.failure) == (False, "timeout")
    assert result.reason == "The endpoint did not answer the test request within 0.5 seconds."
    assert result.elapsed_s < 2.5


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Welcome to nginx!</body></html>", "text/html"),
        (b'{"status": "ok"}', "application/json"),
    ],
)
def test_a_server_that_is_not_openai_compatible_fails_the_probe(
    local_server: LocalServer, settings: Any, body: bytes, content_type: str
) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True
    local_server.respond = plain_answer(body, content_type=content_type)

    result = endpoint_probe(settings=_endpoint(local_server.base_url), timeout_s=5)

    assert (result.ok, result.failure) == (False, "not_compatible")
    assert "OpenAI-compatible" in result.reason


def test_nothing_listening_fails_the_probe_as_a_connection_failure(settings: Any) -> None:
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True

    result = endpoint_probe(settings=_endpoint(f"http://127.0.0.1:{free_port()}/v1"), timeout_s=5)

    assert (result.ok, result.failure) == (False, "connect")
    assert result.reason.startswith("Could not connect to the model server at")


# --- checkpoint_inspect ----------------------------------------------------------------------------------


@pytest.fixture
def llava_copy(tiny_models_dir: Any, tmp_path: Path) -> Path:
    target = tmp_path / "checkpoint"
    shutil.copytree(tiny_models_dir.dir / "tiny-llava-64", target)
    return target


def _config_edit(folder: Path, **changes: Any) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    path.write_text(json.dumps(config))


def test_a_tiny_llava_checkpoint_passes_with_its_exact_parameter_count(tiny_models_dir: Any) -> None:
    import torch
    from transformers import AutoModelForImageTextToText

    folder = tiny_models_dir.dir / "tiny-llava-64"

    report = checkpoint_inspect(source=str(folder), revision=None, max_params=BIG_LIMIT)

    assert report.ok, report.reason
    assert report.architecture == "LlavaForConditionalGeneration" and report.model_type == "llava"
    assert report.modalities == ("image", "text")
    assert report.dtype == "float32" and report.commit is None
    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32)
    assert report.parameters == sum(parameter.numel() for parameter in model.parameters())
    assert (
        report.reason
        == f"LlavaForConditionalGeneration with {report.parameters:,} parameters loads without remote code."
    )


def test_a_checkpoint_whose_processor_is_its_own_code_is_refused(tiny_models_dir: Any) -> None:
    # The tiny Qwen2-VL-style models ship their processor as Python code next to the weights.
    report = checkpoint_inspect(
        source=str(tiny_models_dir.dir / "tiny-qwen2-vl-64"), revision=None, max_params=BIG_LIMIT
    )

    assert (report.ok, report.reason) == (False, REMOTE_CODE_REFUSAL)


def test_a_config_that_maps_to_remote_code_is_refused(llava_copy: Path) -> None:
    _config_edit(
        llava_copy,
        model_type="arena_custom_vlm",
        auto_map={"AutoConfig": "configuration_custom.CustomConfig"},
    )
    (llava_copy / "configuration_custom.py").write_text("raise SystemExit('remote code ran')\n")

    report = checkpoint_inspect(source=str(llava_copy), revision=None, max_params=BIG_LIMIT)

    assert (report.ok, report.reason) == (False, REMOTE_CODE_REFUSAL)


def test_a_checkpoint_with_pickled_weights_only_is_refused(llava_copy: Path) -> None:
    import torch
    from safetensors.torch import load_file

    weights = llava_copy / "model.safetensors"
    torch.save(load_file(weights), llava_copy / "pytorch_model.bin")
    weights.unlink()

    report = checkpoint_inspect(source=str(llava_copy), revision=None, max_params=BIG_LIMIT)

    assert not report.ok
    assert report.reason == (
        "The weights are only in .bin files, which run code when loaded; "
        "submitted checkpoints must have .safetensors weights."
    )


def test_a_checkpoint_over_the_limit_is_refused_with_both_numbers(tiny_models_dir: Any) -> None:
    folder = tiny_models_dir.dir / "tiny-llava-64"
    size = checkpoint_inspect(source=str(folder), revision=None, max_params=BIG_LIMIT).stored_parameters
    assert size is not None

    report = checkpoint_inspect(source=str(folder), revision=None, max_params=size - 1)

    assert not report.ok
    assert report.reason == f"The weights hold {size:,} parameters, above this site's limit of {size - 1:,}."


def test_the_count_follows_the_config_even_where_the_weights_hold_less(llava_copy: Path) -> None:
    """A config that builds more layers than its files hold still costs the worker every layer."""
    stored = checkpoint_inspect(source=str(llava_copy), revision=None, max_params=BIG_LIMIT).stored_parameters
    assert stored is not None
    _config_edit(llava_copy, text_config={"num_hidden_layers": 40})

    report = checkpoint_inspect(source=str(llava_copy), revision=None, max_params=stored + 1)

    assert not report.ok and report.parameters is not None and report.parameters > stored + 1
    assert report.reason == (
        f"The model has {report.parameters:,} parameters, above this site's limit of {stored + 1:,}."
    )


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tiny_models_dir: Any, tmp_path: Path) -> Path:
    """A hub cache as huggingface_hub lays it out, holding org/tiny-llava at COMMIT as main and v1."""
    cache = tmp_path / "hub"
    repo = cache / "models--org--tiny-llava"
    shutil.copytree(tiny_models_dir.dir / "tiny-llava-64", repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "refs" / "v1").write_text(COMMIT)
    return cache


@pytest.mark.parametrize("revision", [None, "main", "v1", COMMIT])
def test_a_hub_id_is_pinned_to_the_cached_commit(hub_cache: Path, revision: str | None) -> None:
    report = checkpoint_inspect(
        source="org/tiny-llava", revision=revision, max_params=BIG_LIMIT, cache_dir=hub_cache
    )

    assert report.ok, report.reason
    assert report.commit == COMMIT
    assert report.path == str(hub_cache / "models--org--tiny-llava" / "snapshots" / COMMIT)


def test_a_revision_that_is_not_cached_is_refused(hub_cache: Path) -> None:
    report = checkpoint_inspect(
        source="org/tiny-llava", revision="v2", max_params=BIG_LIMIT, cache_dir=hub_cache
    )

    assert not report.ok and report.commit is None
    assert report.reason.startswith("The revision 'v2' of org/tiny-llava is not in this site's model cache")


def test_a_revision_cannot_leave_the_cache(hub_cache: Path) -> None:
    report = checkpoint_inspect(
        source="org/tiny-llava", revision="../../../etc", max_params=BIG_LIMIT, cache_dir=hub_cache
    )

    assert not report.ok
    assert report.reason == "'../../../etc' is not a valid revision (a branch, tag or commit hash)."


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    report = checkpoint_inspect(source=str(tmp_path / "nothing"), revision=None, max_params=BIG_LIMIT)

    assert not report.ok and "does not exist" in report.reason
