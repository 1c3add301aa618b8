"""Fixtures of the arena's process tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _database_url
from tests.processes import Processes, environment, processes_running


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    env = environment(DATABASE_URL=_database_url(), ARENA_MAX_NEW_TOKENS="400")
    with processes_running(env=env, logs=tmp_path / "logs") as running:
        yield running
