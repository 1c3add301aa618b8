"""`make run` keeps the site up: real processes killed by signals, restarted with backoff, stopped fast."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from config.supervisor import Supervisor
from tests.battles import scripted_models_register
from tests.conftest import _database_url
from tests.processes import ROOT, free_port


def _python(code: str) -> Callable[[], subprocess.Popen[Any]]:
    return partial(subprocess.Popen, [sys.executable, "-c", code])


def _wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def supervised() -> Iterator[Callable[..., tuple[Supervisor, io.StringIO]]]:
    running: list[tuple[Supervisor, threading.Thread]] = []

    def start(**programs: Callable[[], subprocess.Popen[Any]]) -> tuple[Supervisor, io.StringIO]:
        out = io.StringIO()
        supervisor = Supervisor(programs=programs, out=out)
        supervisor.start()
        thread = threading.Thread(target=supervisor.run, daemon=True)
        thread.start()
        running.append((supervisor, thread))
        return supervisor, out

    yield start
    for supervisor, thread in running:
        supervisor.request_stop()
        thread.join(timeout=5)
        supervisor.stop(grace_s=1)


def test_a_program_that_dies_is_restarted_and_the_others_run_on(supervised):
    supervisor, out = supervised(
        web=_python("import time; time.sleep(60)"), beat=_python("import time; time.sleep(60)")
    )
    _wait_for(lambda: supervisor.pid("web") and supervisor.pid("beat"), timeout=5, what="both programs")
    web, beat = supervisor.pid("web"), supervisor.pid("beat")

    assert web is not None
    os.kill(web, signal.SIGKILL)

    _wait_for(lambda: supervisor.pid("web") not in (None, web), timeout=5, what="web restarted")
    assert supervisor.pid("beat") == beat
    assert "web exited with code -9; restarting it in 0.5 s." in out.getvalue()


def test_a_program_failing_at_once_backs_off_longer_each_time(supervised):
    _, out = supervised(worker=_python("raise SystemExit(3)"))
    _wait_for(lambda: out.getvalue().count("worker exited") >= 3, timeout=10, what="three exits")
    delays = [line.rsplit(" in ", 1)[1] for line in out.getvalue().splitlines() if "worker exited" in line]
    assert delays[:3] == ["0.5 s.", "1 s.", "2 s."]
    assert "code 3" in out.getvalue()


def test_stopping_kills_a_program_that_ignores_sigterm_after_the_grace():
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
        "time.sleep(60)"
    )
    supervisor = Supervisor(
        programs={
            "stubborn": partial(subprocess.Popen, [sys.executable, "-c", stubborn], stdout=subprocess.PIPE)
        },
        out=io.StringIO(),
    )
    supervisor.start()
    process = supervisor._running["stubborn"].process
    assert process is not None and process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    started = time.monotonic()
    supervisor.stop(grace_s=1)
    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 3


def test_a_killed_embedded_postgresql_is_started_again(tmp_path: Path):
    """In its own data directory: the suite's own database may be the embedded one."""
    script = """
import os, signal, sys
import psycopg
from config import services
urls = services.services_ensure()
with psycopg.connect(urls.database_url) as conn:
    conn.execute("SELECT 1")
postmaster = int((services._postgres_data_dir() / "postmaster.pid").read_text().split()[0])
os.kill(postmaster, signal.SIGKILL)
import time; time.sleep(1)
print("revived:", services.services_revive(), flush=True)
with psycopg.connect(urls.database_url) as conn:
    print("answers:", conn.execute("SELECT 1").fetchone()[0], flush=True)
print("again:", services.services_revive(), flush=True)
"""
    env = {**os.environ, "ARENA_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "revived: ['postgres']" in done.stdout
    assert "answers: 1" in done.stdout
    assert "again: []" in done.stdout, "a running server is left alone"


# --- make run itself -----------------------------------------------------------------------------------


def _children(run: psutil.Process) -> dict[str, psutil.Process]:
    named = {}
    for child in run.children(recursive=False):
        line = " ".join(child.cmdline())
        for name, marker in (("web", "uvicorn"), ("worker", "arena_worker"), ("beat", " beat")):
            if marker in line:
                named[name] = child
    return named


def test_make_run_survives_a_killed_worker_and_redis_and_stops_within_five_seconds(
    transactional_db: None, tmp_path: Path
):
    scripted_models_register("supervised-model")
    port = free_port()
    env = {
        **os.environ,
        "ARENA_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": _database_url(),
        "ARENA_DEMO_MODELS": "0",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)  # the embedded one, under the data directory above
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "config.run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    process = psutil.Process(run.pid)
    try:
        _wait_for(lambda: b"is running at" in log.read_bytes(), timeout=120, what="make run to start")
        _wait_for(lambda: len(_children(process)) == 3, timeout=30, what="web, worker and beat")
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _get(base + "/leaderboard/") == 200, timeout=60, what="the site to answer")
        # It opened only once the worker served the active model: ready at once.
        assert _get(base + "/readyz") == 200
        assert log.read_bytes().index(b"Models are still loading") < log.read_bytes().index(b"is running at")

        worker = _children(process)["worker"]
        killed_at = time.monotonic()
        worker.kill()
        _wait_for(
            lambda: b"worker exited with code -9" in log.read_bytes(), timeout=10, what="the exit logged"
        )
        _wait_for(
            lambda: _children(process).get("worker") not in (None, worker), timeout=10, what="a new worker"
        )
        worker_back_s = time.monotonic() - killed_at
        assert _get(base + "/leaderboard/") == 200

        state_file = tmp_path / "data" / "redis" / "server.json"
        before = json.loads(state_file.read_text())
        # It persists as configured: an append-only file and snapshots, under the data directory.
        server = redis.Redis(port=before["port"])
        assert server.config_get("save") == {"save": "60 1"}
        assert server.config_get("appendonly") == {"appendonly": "yes"}
        assert server.config_get("dir")["dir"] == str((tmp_path / "data" / "redis").resolve())
        killed_at = time.monotonic()
        psutil.Process(before["pid"]).kill()
        _wait_for(
            lambda: b"redis had stopped; started it again" in log.read_bytes(), timeout=10, what="redis"
        )
        redis_back_s = time.monotonic() - killed_at
        after = json.loads(state_file.read_text())
        assert after["pid"] != before["pid"], "a new process"
        assert after["port"] == before["port"], "on the same port, which every process already has"
        _wait_for(lambda: _get(base + "/api/v1/models") == 200, timeout=10, what="the site after Redis")

        everything = [process, *process.children(recursive=True)]
        started = time.monotonic()
        run.send_signal(signal.SIGINT)
        run.wait(timeout=10)
        stopped_in = time.monotonic() - started
        assert stopped_in < 5, f"took {stopped_in:.1f} s"
        print(
            f"make run: worker back {worker_back_s:.1f} s after its kill, Redis {redis_back_s:.1f} s; "
            f"Ctrl-C stopped everything in {stopped_in:.1f} s"
        )
        _wait_for(
            lambda: not any(p.is_running() and p.status() != "zombie" for p in everything),
            timeout=2,
            what="every child gone",
        )
    finally:
        if run.poll() is None:
            for child in process.children(recursive=True):
                child.kill()
            run.kill()
        print(log.read_text()[-3000:])


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0
