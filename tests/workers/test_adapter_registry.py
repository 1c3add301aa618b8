"""The adapter factory: validation, one load per key and process, and thread safety."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import torch

from workers.adapters import (
    AdapterConfigError,
    AdapterError,
    adapter_config_validate,
    adapter_forget,
    adapter_get,
)
from workers.adapters.openai_http import OpenAIHttpAdapter
from workers.adapters.transformers_local import TransformersLocalAdapter

GOOD_OPENAI = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}


def test_the_same_key_and_config_give_the_same_adapter(tiny_models_dir: Any) -> None:
    config = tiny_models_dir.spec("tiny-llava-64").adapter_config

    first = adapter_get(key="test-registry:same", kind="transformers", config=config)
    second = adapter_get(key="test-registry:same", kind="transformers", config=dict(config))

    assert first is second
    assert isinstance(first, TransformersLocalAdapter)


def test_threads_asking_at_once_share_one_load(tiny_models_dir: Any) -> None:
    config = tiny_models_dir.spec("tiny-qwen2-vl-64").adapter_config
    barrier = threading.Barrier(4)
    got: list[object] = []

    def get() -> None:
        barrier.wait()
        got.append(adapter_get(key="test-registry:race", kind="transformers", config=config))

    threads = [threading.Thread(target=get) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(got) == 4 and all(adapter is got[0] for adapter in got)


def test_a_changed_config_under_the_same_key_gives_a_new_adapter() -> None:
    first = adapter_get(key="test-registry:changed", kind="openai", config=GOOD_OPENAI)
    second = adapter_get(key="test-registry:changed", kind="openai", config={**GOOD_OPENAI, "model": "other"})

    assert first is not second
    assert (
        adapter_get(key="test-registry:changed", kind="openai", config={**GOOD_OPENAI, "model": "other"})
        is second
    )


def test_forgetting_a_key_makes_the_next_get_build_again() -> None:
    first = adapter_get(key="test-registry:forget", kind="openai", config=GOOD_OPENAI)

    assert adapter_forget(key="test-registry:forget")
    assert adapter_get(key="test-registry:forget", kind="openai", config=GOOD_OPENAI) is not first


def test_the_workers_device_and_dtype_win_over_the_config(tiny_models_dir: Any) -> None:
    config = {**tiny_models_dir.spec("tiny-llava-64").adapter_config, "dtype": "bfloat16"}

    adapter = adapter_get(
        key="test-registry:override", kind="transformers", config=config, device="cpu", dtype="float32"
    )

    assert isinstance(adapter, TransformersLocalAdapter)
    assert adapter.model.dtype == torch.float32
    assert adapter.model.device.type == "cpu"


def test_without_any_setting_a_cpu_machine_loads_in_float32(tiny_models_dir: Any) -> None:
    adapter = adapter_get(
        key="test-registry:defaults",
        kind="transformers",
        config=tiny_models_dir.spec("tiny-llava-64").adapter_config,
    )

    assert isinstance(adapter, TransformersLocalAdapter)
    assert (adapter.device, adapter.model.dtype) == ("cpu", torch.float32)


def test_an_openai_config_builds_an_http_adapter_without_connecting() -> None:
    adapter = adapter_get(key="test-registry:http", kind="openai", config=GOOD_OPENAI)

    assert isinstance(adapter, OpenAIHttpAdapter)
    assert adapter.settings.base_url == "http://127.0.0.1:9/v1"


def test_an_unknown_kind_is_refused_clearly() -> None:
    with pytest.raises(
        AdapterConfigError, match="Unknown adapter kind 'vllm' \\(known: transformers, openai, scripted\\)"
    ) as caught:
        adapter_get(key="test-registry:kind", kind="vllm", config={})

    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AdapterError)


def test_a_bad_config_is_refused_with_every_problem() -> None:
    with pytest.raises(AdapterConfigError) as caught:
        adapter_get(
            key="test-registry:bad", kind="openai", config={"base_url": "ftp://x", "read_timeout": -1}
        )

    assert len(caught.value.problems) == 3
    assert "'model' is required." in caught.value.problems


def test_a_failed_load_is_not_kept(tmp_path: Any) -> None:
    config = {"path": str(tmp_path / "later")}
    with pytest.raises(AdapterError):
        adapter_get(key="test-registry:later", kind="transformers", config=config)

    with pytest.raises(AdapterError, match="does not exist"):  # tried again, not a remembered failure
        adapter_get(key="test-registry:later", kind="transformers", config=config)


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("transformers", {"path": "/models/x"}),
        (
            "transformers",
            {"path": "org/model", "dtype": "bfloat16", "device": "cuda:1", "trust_remote_code": True},
        ),
        ("openai", GOOD_OPENAI),
        (
            "openai",
            {
                **GOOD_OPENAI,
                "api_key_env": "PROVIDER_KEY",
                "connect_timeout": 2,
                "read_timeout": 30.5,
                "max_retries": 0,
                "extra_body": {"top_k": 20},
                "include_usage": False,
            },
        ),
    ],
)
def test_valid_configs_have_no_problems(kind: str, config: dict[str, Any]) -> None:
    assert adapter_config_validate(kind=kind, config=config) == []


@pytest.mark.parametrize(
    ("kind", "config", "problem"),
    [
        ("transformers", {}, "'path' is required."),
        ("transformers", {"path": ""}, "'path' must be a non-empty string."),
        (
            "transformers",
            {"path": "x", "dtype": "fp8"},
            "'dtype' must be one of auto, float32, float16, bfloat16",
        ),
        ("transformers", {"path": "x", "device": "gpu"}, "'device' must be 'cpu', 'mps', 'cuda' or 'cuda:N'"),
        (
            "transformers",
            {"path": "x", "trust_remote_code": "yes"},
            "'trust_remote_code' must be true or false.",
        ),
        ("transformers", {"path": "x", "paht": "y"}, "Unknown setting 'paht'"),
        ("openai", {"model": "m"}, "'base_url' is required."),
        ("openai", {**GOOD_OPENAI, "base_url": "localhost:8000"}, "'base_url' must be an http(s) URL"),
        (
            "openai",
            {**GOOD_OPENAI, "api_key_env": "sk-abc123"},
            "must be the name of an environment variable",
        ),
        ("openai", {**GOOD_OPENAI, "max_retries": 99}, "'max_retries' must be a whole number from 0 to 10."),
        (
            "openai",
            {**GOOD_OPENAI, "connect_timeout": 0},
            "'connect_timeout' must be a number greater than 0.",
        ),
        ("openai", {**GOOD_OPENAI, "extra_body": {"stream": False}}, "'extra_body' may not set 'stream'."),
        ("openai", {**GOOD_OPENAI, "extra_body": []}, "'extra_body' must be an object"),
        ("openai", "not a mapping", "The configuration must be an object."),
        ("gguf", {}, "Unknown adapter kind 'gguf'"),
    ],
)
def test_invalid_configs_are_explained(kind: str, config: Any, problem: str) -> None:
    problems = adapter_config_validate(kind=kind, config=config)

    assert any(problem in found for found in problems), problems
