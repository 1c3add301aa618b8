"""What every load generator shares: clients that look like distinct people, the seeding script, statistics,
and a meter of what each process of the stack spent while a benchmark ran."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.load.http1 import Http1
from bench.stack import DEFAULT_DATA_DIR, ROOT, Stack, StackInfo, nofile_raise

T = TypeVar("T")
DEFAULT_STACK_FILE = DEFAULT_DATA_DIR / "stack.json"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) arena-bench/1"

_addresses = itertools.count(1)


def address_new() -> str:
    """A client address never handed out before in this process (10.0.0.1, 10.0.0.2, …).

    Sent as X-Forwarded-For; the stack trusts this machine as a proxy (ARENA_TRUSTED_PROXIES=127.0.0.1),
    so core.client_ip takes it for the client's address, and per-address rules (core.ratelimits, the
    stored address hashes) see one person each.
    """
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def client_new(
    target: StackInfo, *, address: str, max_connections: int = 4, timeout: float = 30.0
) -> httpx.AsyncClient:
    """An HTTP client for one simulated person: its own cookie jar, connections and address."""
    return httpx.AsyncClient(
        base_url=target.base_url,
        headers={"User-Agent": USER_AGENT, "X-Forwarded-For": address},
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        timeout=timeout,
        trust_env=False,
    )


async def session_start(client: httpx.AsyncClient) -> str:
    """What the battle page's script does first: GET /api/v1/session, then send its token with every write."""
    response = await client.get("/api/v1/session")
    response.raise_for_status()
    token = str(response.json()["csrf_token"])
    client.headers["X-CSRFToken"] = token
    client.headers["Origin"] = str(client.base_url).rstrip("/")
    return token


def person_new(target: StackInfo, *, address: str, timeout: float = 30.0) -> Http1:
    """One simulated person on bench/load/http1.py's client (for the high-rate generators)."""
    return Http1(
        target.base_url, headers={"User-Agent": USER_AGENT, "X-Forwarded-For": address}, timeout=timeout
    )


async def person_session(person: Http1) -> str:
    """GET /api/v1/session, then the token (and the Origin a browser sends) on every write."""
    reply = await person.get("/api/v1/session")
    if reply.status != 200:
        raise RuntimeError(f"GET /api/v1/session answered {reply.status}")
    token = str(reply.json()["csrf_token"])
    person.headers["X-CSRFToken"] = token
    person.headers["Origin"] = person.base_url
    return token


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def seed(target: StackInfo, *args: str, timeout: float = 900) -> dict[str, Any]:
    """Run bench/seed.py with the stack's environment; its JSON answer."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed.py"), *args],
        cwd=ROOT,
        env=target.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench/seed.py {args[0]} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def models_activate(target: StackInfo, group: str) -> dict[str, Any]:
    """Make the stack's `group` of scripted models ("instant", "streaming") active, the others paused."""
    active = target.slugs(group)
    answer = seed(target, "activate", "--slugs", ",".join(active))
    if sorted(answer["active"]) != sorted(active):
        raise RuntimeError(f"after activating {active}, the active models are {answer['active']}")
    return answer


def scratch_file(target: StackInfo, name: str) -> Path:
    folder = Path(target.data_dir) / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def latency_summary(values: Sequence[float], prefix: str = "") -> dict[str, Any]:
    """p50 / p99 / max of latencies given in seconds, in milliseconds."""
    return {
        f"{prefix}p50_ms": ms(percentile(values, 50)),
        f"{prefix}p99_ms": ms(percentile(values, 99)),
        f"{prefix}max_ms": ms(max(values) if values else None),
    }


def asyncio_run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is there (it is, with uvicorn[standard]): the clients cost less CPU."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


class StartGate:
    """Lets every simulated client get ready (connections, session, token) before the clock starts."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.deadline = 0.0
        self._all = asyncio.Event()
        self._open = asyncio.Event()

    async def ready(self) -> float:
        """Called by a client once it is ready; returns the deadline when the run starts."""
        self.arrived += 1
        if self.arrived >= self.parties:
            self._all.set()
        await self._open.wait()
        return self.deadline

    async def all_ready(self, tasks: Sequence[asyncio.Task[Any]]) -> None:
        """Wait until every client is ready or gone; raises the failure of one that could not get ready."""
        while self.arrived + sum(1 for task in tasks if task.done()) < self.parties:
            waiting = asyncio.ensure_future(self._all.wait())
            try:
                await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED, timeout=1)
            finally:
                waiting.cancel()
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

    def start(self, duration: float) -> float:
        began = time.perf_counter()
        self.deadline = began + duration
        self._open.set()
        return began


def _cpu_seconds(pid: int) -> float:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.Error, OSError):
        return 0.0
    return float(times.user + times.system)


class Meter:
    """CPU seconds each part of the stack used over a benchmark (cores busy = CPU s / wall s), the
    benchmark process's own, and the load average before and after.

    PostgreSQL counts the backends connected to the scratch database; Redis the whole server (a shared
    one also serves others).
    """

    def __init__(self, target: StackInfo) -> None:
        self.target = target
        self._start: dict[str, Any] = {}
        self._lag: list[float] = []
        self._lag_task: asyncio.Task[None] | None = None

    async def _lag_watch(self) -> None:
        """How late a 10 ms sleep wakes up: the benchmark process's own event loop falling behind
        (then its latencies include its own queueing, and the figures are partly the client's)."""
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            self._lag.append(time.perf_counter() - asked - 0.01)

    def _groups(self) -> dict[str, dict[int, float]]:
        import psutil

        groups: dict[str, dict[int, float]] = {name: {} for name in self.target.pgids}
        by_pgid = {pgid: name for name, pgid in self.target.pgids.items()}
        for process in psutil.process_iter(["pid"]):
            with contextlib.suppress(OSError, psutil.Error):
                name = by_pgid.get(os.getpgid(process.pid))
                if name is not None:
                    groups[name][process.pid] = _cpu_seconds(process.pid)
        groups["postgres"] = {pid: _cpu_seconds(pid) for pid in self._postgres_pids()}
        redis_pid = self._redis_pid()
        groups["redis"] = {redis_pid: _cpu_seconds(redis_pid)} if redis_pid else {}
        return groups

    def _postgres_pids(self) -> list[int]:
        import psycopg

        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.target.database_url, connect_timeout=5) as conn,
        ):
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
            return [int(row[0]) for row in rows]
        return []

    def _redis_pid(self) -> int | None:
        import redis

        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(self.target.redis_url, socket_timeout=5)
            try:
                return int(client.info("server")["process_id"])
            finally:
                client.close()
        return None

    def start(self) -> None:
        self._start = {
            "wall": time.monotonic(),
            "load": os.getloadavg(),
            "self": resource.getrusage(resource.RUSAGE_SELF),
            "groups": self._groups(),
        }
        with contextlib.suppress(RuntimeError):  # outside a running loop: no lag to watch
            self._lag_task = asyncio.get_running_loop().create_task(self._lag_watch())

    def stop(self) -> dict[str, Any]:
        if self._lag_task is not None:
            self._lag_task.cancel()
        wall = time.monotonic() - self._start["wall"]
        end_self = resource.getrusage(resource.RUSAGE_SELF)
        start_self = self._start["self"]
        client = (end_self.ru_utime - start_self.ru_utime) + (end_self.ru_stime - start_self.ru_stime)
        cores = {"bench client": client / wall}
        for name, pids in self._groups().items():
            before = self._start["groups"].get(name, {})
            used = sum(seconds - before.get(pid, 0.0) for pid, seconds in pids.items())
            cores[name] = max(used, 0.0) / wall
        return {
            "wall_s": round(wall, 1),
            "load_avg_1m": [round(self._start["load"][0], 2), round(os.getloadavg()[0], 2)],
            "cores_busy": {name: round(value, 2) for name, value in cores.items()},
            **({"client_loop_lag_p99_ms": ms(percentile(self._lag, 99))} if self._lag else {}),
        }


def arguments_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-file",
        type=Path,
        default=None,
        help=f"a running stack's file (bench/stack.py serve writes {DEFAULT_STACK_FILE}); without it, "
        "a stack is started and stopped",
    )


def cli(
    *,
    description: str,
    run: Callable[..., dict[str, Any]],
    add_arguments: Callable[[argparse.ArgumentParser], None],
    argv: Sequence[str] | None = None,
) -> None:
    """The command line of one load module: its options, against a running stack or one of its own."""
    parser = argparse.ArgumentParser(description=description)
    arguments_common(parser)
    add_arguments(parser)
    args = vars(parser.parse_args(argv))
    stack_file = args.pop("stack_file")
    nofile_raise()
    if stack_file is not None:
        result = run(StackInfo.load(stack_file), **args)
    else:
        with Stack() as target:
            result = run(target, **args)
    print(json.dumps(result, indent=1))


def lines_write(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


async def people_run(
    target: StackInfo, *, gate: StartGate, tasks: Sequence[asyncio.Task[Any]], duration: float
) -> tuple[float, dict[str, Any]]:
    """Start the clock once every person is ready, run them for `duration`, and meter the stack
    meanwhile: the elapsed seconds and what each part of the stack used."""
    await gate.all_ready(tasks)
    meter = Meter(target)
    meter.start()
    began = gate.start(duration)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return elapsed, meter.stop()
