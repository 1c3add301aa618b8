"""Fixtures shared by the adapter and tiny-model tests: real tiny models, built once per test session."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

# Before transformers is imported anywhere: these tests must never reach the model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from workers.tiny_models import TinyModelSpec, tiny_models_build  # noqa: E402


class TinyModels(NamedTuple):
    dir: Path
    specs: list[TinyModelSpec]

    def spec(self, slug: str) -> TinyModelSpec:
        return next(spec for spec in self.specs if spec.slug == slug)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    target = tmp_path_factory.mktemp("tiny-models")
    return TinyModels(dir=target, specs=tiny_models_build(target_dir=target))


@pytest.fixture(autouse=True)
def _one_cpu_thread() -> Iterator[None]:
    """Tiny models run fastest on one intra-op thread; with more, a busy 2-core machine makes them 20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
