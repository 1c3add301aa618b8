"""Fixtures for the adapter and tiny-model tests (the tiny models themselves: tests/conftest.py)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

# Before transformers is imported anywhere: these tests must never reach the model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def _one_cpu_thread() -> Iterator[None]:
    """Tiny models run fastest on one intra-op thread; with two, a busy 2-core machine slows them 20x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
