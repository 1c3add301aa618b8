"""A database that does not answer makes pages and the API answer 503 with a sentence, not hang or 500.

A real uvicorn serves the site against a TCP listener that accepts connections and never speaks, as a
stalled PostgreSQL does; the connect timeout (and, pooled, the pool's wait limit) must end each request.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.middleware import DATABASE_UNAVAILABLE_DETAIL
from tests.conftest import uvicorn_command
from tests.processes import ROOT, free_port, port_wait


@pytest.fixture
def silent_database() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("pool_size", ["0", "2"])
def test_a_stalled_database_gives_503_with_a_sentence(
    silent_database: int, pool_size: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://arena@127.0.0.1:{silent_database}/arena",
        "DATABASE_CONNECT_TIMEOUT_S": "1",
        "DATABASE_POOL_MAX_SIZE": pool_size,
        "DATABASE_POOL_TIMEOUT_S": "1",
    }
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            uvicorn_command(port=port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port_wait(port, process=web, log=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            page = client.get("/leaderboard/")
            assert page.status_code == 503
            assert "too busy to answer" in page.text and "Traceback" not in page.text
            api = client.get("/api/v1/leaderboard")
            assert api.status_code == 503
            assert api.json() == {"detail": DATABASE_UNAVAILABLE_DETAIL}
    finally:
        web.terminate()
        web.wait(timeout=15)
