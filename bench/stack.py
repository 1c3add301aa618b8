"""A production-settings Arena Hub stack for the load benchmarks, on scratch data; started, stopped cleanly.

What runs (as docker-compose.yml runs it, on one machine):

- PostgreSQL: a scratch database, dropped and created afresh at every start, on the server of
  `BENCH_DATABASE_URL` (its database name; `arena_bench` when the URL names none), else on an embedded
  server under `.data/bench` (`BENCH_DATA_DIR`), never the developer's `.data`. Its name must contain
  "bench", so that a wrong URL cannot empty real data.
- Redis: `BENCH_REDIS_URL` with databases `BENCH_REDIS_DB_OFFSET` … +2 (default 13-15; they are
  emptied at start), else an embedded Redis under `.data/bench` (databases 0-2).
- `manage.py collectstatic` (into `.data/bench/staticfiles`) and `migrate`, then scripted models
  registered with `manage.py register_model`: four instant ones
  (`bench-instant-N`, the whole answer at once) active, and two paced at 200 tokens/s
  (`bench-stream-a`/`-b`) paused; the streaming benchmarks swap which set is active.
- uvicorn with `WEB_CONCURRENCY` (2) processes and `ARENA_TRUSTED_PROXIES=127.0.0.1`, so the
  `X-Forwarded-For` of each simulated client becomes its address (core.client_ip), and rate limits
  raised a thousandfold (still counted on every request): a simulated person acts far faster than one;
  an `arena_worker` with a threads pool of 64 (every side of 30 battles at once, and then some) and a
  database pool as large (each answer's thread holds a connection while it streams); Celery beat.
- Debug off (`DJANGO_DEBUG` unset), a random secret key, every other setting at its default: variables
  of the calling shell that configure the app (`DJANGO_*`, `DATABASE_*`, `REDIS_*`, `ARENA_*`,
  `LEADERBOARD_*`, `CELERY_*`, `WORKER_*`, `WEB_CONCURRENCY`) are not passed on; `--set KEY=VALUE`
  (bench/run.py) sets one on purpose.

    .venv/bin/python bench/stack.py serve                 # start it, print where; Ctrl-C stops it
    .venv/bin/python bench/stack.py database -- CMD ...   # CMD with DATABASE_URL=<scratch db> (no app)

`serve` writes `.data/bench/stack.json` (the addresses and the child environment) for the load modules'
own CLIs (`python -m bench.load.votes --stack-file .data/bench/stack.json`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / ".data" / "bench"
DEFAULT_DATABASE = "arena_bench"
DEFAULT_REDIS_DB_OFFSET = 13
STREAM_TOKENS_PER_S = 200.0
STREAM_WORDS = 200
# The app's configuration lives in these; the stack runs with their defaults unless set on purpose.
_APP_ENV_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "ARENA_", "LEADERBOARD_", "CELERY_", "WORKER_")
_APP_ENV_NAMES = ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "PORT", "HOST")


def stream_text(words: int = STREAM_WORDS) -> str:
    """The paced models' answer: `words` distinct words (one word is one token of the scripted adapter)."""
    vocabulary = ("the", "arena", "streams", "every", "answer", "word", "by", "word", "to", "both", "panes")
    return " ".join(f"{vocabulary[i % len(vocabulary)]}{i}" for i in range(words))


@dataclass(frozen=True)
class ScriptedModel:
    slug: str
    name: str
    group: str  # "instant" or "streaming": the set the benchmarks switch on and off
    config: dict[str, Any]

    @property
    def active_by_default(self) -> bool:
        return self.group == "instant"

    def register_args(self) -> list[str]:
        """`manage.py register_model`'s arguments for this model."""
        return [
            self.slug,
            "--name",
            self.name,
            "--kind",
            "scripted",
            "--organization",
            "Bench",
            "--config",
            json.dumps(self.config),
            "--status",
            "active" if self.active_by_default else "paused",
        ]


def models_default(*, instant: int = 4) -> list[ScriptedModel]:
    models = [
        ScriptedModel(slug=f"bench-instant-{i}", name=f"Bench Instant {i}", group="instant", config={})
        for i in range(1, instant + 1)
    ]
    paced = {"tokens_per_s": STREAM_TOKENS_PER_S, "text": stream_text()}
    models += [
        ScriptedModel(
            slug=f"bench-stream-{s}", name=f"Bench Stream {s.upper()}", group="streaming", config=paced
        )
        for s in ("a", "b")
    ]
    return models


@dataclass
class StackInfo:
    """What a load generator needs to know about a running stack (also written to stack.json)."""

    base_url: str
    ws_url: str
    env: dict[str, str]  # the environment of the app's processes, for seeding scripts
    database_url: str
    redis_url: str
    redis_db_offset: int
    data_dir: str
    embedded: dict[str, bool]
    pgids: dict[str, int] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)
    web_concurrency: int = 2
    worker_concurrency: int = 64

    def slugs(self, group: str) -> list[str]:
        return [model["slug"] for model in self.models if model["group"] == group]

    def model_config(self, slug: str) -> dict[str, Any]:
        return next(dict(model["config"]) for model in self.models if model["slug"] == slug)

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        return cls(**json.loads(path.read_text()))


def nofile_raise() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it): 1,000 sockets and more"""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def _log(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin_conninfo(url: str) -> str:
    import psycopg.conninfo

    return psycopg.conninfo.make_conninfo(url, dbname="postgres")


def scratch_database_prepare(url: str, *, fresh: bool) -> None:
    """Create the scratch database (dropped first when `fresh`); refuse any name without "bench"."""
    import psycopg

    name = _database_name(url)
    if "bench" not in name:
        raise SystemExit(
            f"refusing to use database {name!r} as the benchmark's scratch database: "
            "its name must contain 'bench'"
        )
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def redis_db_url(url: str, offset: int) -> str:
    """`url` moved `offset` databases up (as config.settings computes Celery's, Channels' and the cache's)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(int(query.get("db", 0)) + offset)
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{int(parts.path.lstrip('/') or 0) + offset}"))


def _redis_flush(url: str, offsets: Sequence[int]) -> None:
    import redis

    for offset in offsets:
        client = redis.Redis.from_url(redis_db_url(url, offset))
        try:
            client.flushdb()
        finally:
            client.close()


@dataclass(frozen=True)
class Services:
    database_url: str  # the scratch database
    redis_url: str
    redis_db_offset: int
    embedded: dict[str, bool]


def services_ensure(*, data_dir: Path, fresh: bool) -> Services:
    """The scratch database and the Redis databases, starting the embedded servers where none is given.

    The embedded ones live in this process's `.data/bench` (ARENA_DATA_DIR) and stop when it exits.
    """
    database_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    redis_url = os.environ.get("BENCH_REDIS_URL", "").strip()
    embedded = {"postgres": not database_url, "redis": not redis_url}
    if not (database_url and redis_url):
        # config.services reads ARENA_DATA_DIR once, at import: it must see the bench's directory.
        os.environ["ARENA_DATA_DIR"] = str(data_dir)
        import config.services as app_services

        if app_services.DATA_DIR.resolve() != data_dir.resolve():
            raise RuntimeError(f"config.services was imported with ARENA_DATA_DIR={app_services.DATA_DIR}")
        # Only ours: never a DATABASE_URL / REDIS_URL with which the calling shell reaches a developer's data.
        for name, given in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url)):
            os.environ.pop(name, None)
            if given:
                os.environ[name] = given
        urls = app_services.services_ensure()
        database_url, redis_url = urls.database_url, urls.redis_url
        if embedded["postgres"]:
            database_url = _with_database(database_url, DEFAULT_DATABASE)
    if not _database_name(database_url):
        database_url = _with_database(database_url, DEFAULT_DATABASE)
    offset_text = os.environ.get("BENCH_REDIS_DB_OFFSET", "").strip()
    offset = int(offset_text) if offset_text else (0 if embedded["redis"] else DEFAULT_REDIS_DB_OFFSET)
    scratch_database_prepare(database_url, fresh=fresh)
    if fresh:
        _redis_flush(redis_url, [offset, offset + 1, offset + 2])
    return Services(database_url=database_url, redis_url=redis_url, redis_db_offset=offset, embedded=embedded)


def bench_rate_limits() -> str:
    """Every rate limit a thousand times the default: a simulated person votes many times a second,
    which the limits exist to refuse; counting still costs what it costs (ARENA_RATE_LIMITS, JSON)."""
    from core.ratelimits import DEFAULT_RULES

    def raised(rate: str | None) -> str | None:
        if rate is None:
            return None
        count, _, period = rate.partition("/")
        return f"{int(count) * 1000}/{period}"

    return json.dumps(
        {scope: [raised(rule.client), raised(rule.ip)] for scope, rule in DEFAULT_RULES.items()}
    )


def app_env(*, services: Services, data_dir: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The environment of every process of the stack: production settings on the scratch servers."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_APP_ENV_PREFIXES)
        and key not in _APP_ENV_NAMES
        and not key.startswith("BENCH_")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "REDIS_DB_OFFSET": str(services.redis_db_offset),
            "ARENA_DATA_DIR": str(data_dir),
            # The load generators connect from here, each simulated person with its own X-Forwarded-For.
            "ARENA_TRUSTED_PROXIES": "127.0.0.1",
            "ARENA_RATE_LIMITS": bench_rate_limits(),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    return env


class Stack:
    """The web server, a model worker and beat on scratch servers; a context manager."""

    def __init__(
        self,
        *,
        data_dir: Path = DEFAULT_DATA_DIR,
        port: int | None = None,
        web_concurrency: int = 2,
        worker_concurrency: int = 64,
        instant_models: int = 4,
        extra_env: Mapping[str, str] | None = None,
        sample_dir: Path | None = None,
        log: Callable[[str], None] = _log,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or _free_port()
        self.web_concurrency = web_concurrency
        self.worker_concurrency = worker_concurrency
        self.models = models_default(instant=instant_models)
        self.extra_env = dict(extra_env or {})
        if sample_dir is not None:
            # bench/load/sampling/sitecustomize.py: every process samples its threads' stacks into sample_dir.
            sample_dir.mkdir(parents=True, exist_ok=True)
            for old in sample_dir.glob("*.folded"):
                old.unlink()
            paths = [str(ROOT / "bench" / "load" / "sampling"), os.environ.get("PYTHONPATH", "")]
            self.extra_env.update(
                {
                    "PYTHONPATH": os.pathsep.join(filter(None, paths)),
                    "BENCH_SAMPLE_DIR": str(sample_dir.resolve()),
                }
            )
        self.log = log
        self.log_dir = self.data_dir / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.info: StackInfo | None = None

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def _running_refuse(self) -> None:
        """One stack per data directory: its logs, beat schedule and stack file are there."""
        with contextlib.suppress(OSError, ValueError, KeyError):
            pgids = json.loads(self.stack_file.read_text())["pgids"]
            for pgid in pgids.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(pgid), 0)
                    raise RuntimeError(
                        f"a bench stack already runs from {self.data_dir} (see {self.stack_file}); "
                        "stop it, or use it with --stack-file"
                    )

    def _run(self, env: Mapping[str, str], *args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=dict(env), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:3])} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}"
            )
        return result.stdout

    def start(self) -> StackInfo:
        started = time.monotonic()
        self._running_refuse()
        nofile_raise()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        services = services_ensure(data_dir=self.data_dir, fresh=True)
        self.log(
            f"scratch database {_database_name(services.database_url)} "
            f"({'embedded' if services.embedded['postgres'] else 'BENCH_DATABASE_URL'}), Redis databases "
            f"{services.redis_db_offset}-{services.redis_db_offset + 2} "
            f"({'embedded' if services.embedded['redis'] else 'BENCH_REDIS_URL'})"
        )
        env = app_env(services=services, data_dir=self.data_dir, extra=self.extra_env)
        # As production deploys: the static files collected (hashed and compressed where the settings say
        # so; before migrate, whose system checks resolve the URLs and so the static files' names).
        self._run(env, "manage.py", "collectstatic", "--noinput", "-v", "0")
        self._run(env, "manage.py", "migrate", "--noinput", "-v", "0")
        for model in self.models:
            self._run(env, "manage.py", "register_model", *model.register_args())
        self.log(
            f"static files collected, migrated, {len(self.models)} scripted models registered "
            f"({time.monotonic() - started:.1f} s)"
        )
        # Here, not at the top: config.run imports config.services, which reads ARENA_DATA_DIR once.
        from config.run import uvicorn_command

        schedule = self.data_dir / "celerybeat-schedule"
        for stale in self.data_dir.glob("celerybeat-schedule*"):
            stale.unlink()
        commands = {
            "web": uvicorn_command(host="127.0.0.1", port=self.port),
            "worker": [
                sys.executable,
                "manage.py",
                "arena_worker",
                "--models",
                "*",
                "--pool",
                "threads",
                "--concurrency",
                str(self.worker_concurrency),
                "--hostname",
                f"bench-{self.port}@%h",
            ],
            "beat": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "core.celery",
                "beat",
                "--schedule",
                str(schedule),
            ],
        }
        envs = {
            "web": {**env, "WEB_CONCURRENCY": str(self.web_concurrency)},
            # Sized as a deployment of this worker must be: the thread of an answer holds a pooled connection
            # for the answer's whole life (it saves the text as it streams), so a pool smaller than the thread
            # count makes the surplus answers wait DATABASE_POOL_TIMEOUT_S and then fail. PostgreSQL's
            # max_connections must allow it: 2 x 8 (web) + 64 (worker) + beat's few.
            "worker": {"DATABASE_POOL_MAX_SIZE": str(self.worker_concurrency), **env},
            "beat": env,
        }
        for name, command in commands.items():
            with (self.log_dir / f"{name}.log").open("wb") as out:
                self.processes[name] = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=envs[name],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopped as one, CPU counted as one
                )
        base_url = f"http://127.0.0.1:{self.port}"
        try:
            self._ready_wait(base_url=base_url)
        except BaseException:
            self.stop()
            raise
        self.info = StackInfo(
            base_url=base_url,
            ws_url=f"ws://127.0.0.1:{self.port}",
            env=env,
            database_url=services.database_url,
            redis_url=services.redis_url,
            redis_db_offset=services.redis_db_offset,
            data_dir=str(self.data_dir),
            embedded=services.embedded,
            pgids={name: process.pid for name, process in self.processes.items()},
            models=[asdict(model) for model in self.models],
            web_concurrency=self.web_concurrency,
            worker_concurrency=self.worker_concurrency,
        )
        self.stack_file.touch(mode=0o600)
        self.stack_file.write_text(json.dumps(asdict(self.info), indent=1))
        self.log(f"ready at {base_url} in {time.monotonic() - started:.1f} s (logs in {self.log_dir})")
        return self.info

    def _exited(self) -> str | None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]
                return f"{name} exited with code {process.returncode}:\n{log}"
        return None

    def _ready_wait(self, *, base_url: str, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        worker_log = self.log_dir / "worker.log"
        models_ok = worker_ok = False
        with httpx.Client(base_url=base_url, timeout=5, trust_env=False) as client:
            while not (models_ok and worker_ok):
                problem = self._exited()
                if problem:
                    raise RuntimeError(problem)
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the stack did not become ready in {timeout:.0f} s; see {self.log_dir}"
                    )
                if not models_ok:
                    with contextlib.suppress(httpx.HTTPError):
                        # Every web process answers once the listening socket is shared; ask a few times.
                        models_ok = all(
                            client.get("/api/v1/models").status_code == 200
                            for _ in range(self.web_concurrency * 2)
                        )
                worker_ok = worker_ok or b" ready." in worker_log.read_bytes()
                time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{name} did not stop in time; killing its process group")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            # Stragglers of the group (uvicorn's worker processes) go with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()
        with contextlib.suppress(FileNotFoundError):
            self.stack_file.unlink()

    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def stack_running(**kwargs: Any) -> Iterator[StackInfo]:
    with Stack(**kwargs) as info:
        yield info


def _serve(args: argparse.Namespace) -> int:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack = Stack(
        port=args.port,
        web_concurrency=args.web_concurrency,
        worker_concurrency=args.worker_concurrency,
        instant_models=args.instant_models,
        extra_env=dict(item.split("=", 1) for item in args.set),
        sample_dir=args.sample,
    )
    with stack as info:
        print(f"bench stack at {info.base_url}; stack file {stack.stack_file}; Ctrl-C stops it", flush=True)
        while not stopping:
            problem = stack._exited()
            if problem:
                print(problem, file=sys.stderr)
                return 1
            time.sleep(0.5)
    return 0


def _database(args: argparse.Namespace) -> int:
    """Run a command against the scratch database (servers started if embedded; nothing dropped)."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("usage: bench/stack.py database -- COMMAND ...")
    data_dir = DEFAULT_DATA_DIR.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    services = services_ensure(data_dir=data_dir, fresh=False)
    env = app_env(
        services=services, data_dir=data_dir, extra={"BENCH_SCRATCH_DATABASE_URL": services.database_url}
    )
    _log(f"running {command[0]} with DATABASE_URL=<scratch database {_database_name(services.database_url)}>")
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="action", required=True)
    serve = sub.add_parser("serve", help="start the stack and keep it running until Ctrl-C")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--web-concurrency", type=int, default=2)
    serve.add_argument("--worker-concurrency", type=int, default=64)
    serve.add_argument("--instant-models", type=int, default=4)
    serve.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="an app setting")
    serve.add_argument(
        "--sample", type=Path, default=None, metavar="DIR", help="sample every process's stacks"
    )
    database = sub.add_parser("database", help="run a command with DATABASE_URL set to the scratch database")
    database.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    return _serve(args) if args.action == "serve" else _database(args)


if __name__ == "__main__":
    raise SystemExit(main())
