"""The playground as `make run` serves it: its own process on a unix socket, and a web process that
passes /playground/ to it, beside the live stack (whose worker hosts the scripted models)."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from arena.models import Model
from arena.services import model_register
from config.run import playground_command
from tests.conftest import LiveStack, _database_url
from tests.processes import ROOT, environment, process_stop, processes_running

# Within the tests' ARENA_MAX_NEW_TOKENS (24): the whole of it is answered, a word at a time.
ANSWER = " ".join(f"word{i}" for i in range(16))


@dataclass(frozen=True)
class PlaygroundStack:
    base_url: str
    playground_log: Path


def _socket_wait(path: Path, *, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the playground exited early:\n{log.read_text()[-4000:]}")
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(path))
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the playground did not listen:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def playground_stack(
    live_stack: LiveStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlaygroundStack]:
    env = environment(
        DATABASE_URL=_database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
        ARENA_MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    logs = tmp_path_factory.mktemp("playground-logs")
    # A short path of its own: a unix socket's path may not be longer than about 100 bytes.
    uds = Path(tempfile.mkdtemp(prefix="pg-")) / "playground.sock"
    log = logs / "playground.log"
    with log.open("ab") as out:
        playground = subprocess.Popen(
            playground_command(uds=uds), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _socket_wait(uds, process=playground, log=log)
        with processes_running(env=env, logs=logs) as processes:
            base_url = processes.web("web-playground", env={"PLAYGROUND_UPSTREAM": f"unix:{uds}"})
            yield PlaygroundStack(base_url=base_url, playground_log=log)
    finally:
        process_stop(playground)


def scripted_pair_register(*, tokens_per_s: float = 10) -> list[Model]:
    """The two scripted models the live stack's worker hosts, answering ANSWER a word at a time."""
    return [
        model_register(
            slug=slug,
            display_name=f"Scripted {slug[-1].upper()}",
            organization="Tests",
            adapter_kind="scripted",
            adapter_config={"text": ANSWER, "tokens_per_s": tokens_per_s},
        )
        for slug in ("scripted-a", "scripted-b")
    ]
