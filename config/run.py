"""`make run`: secret key, services, migrations, demo models, then the web server, a worker, beat and
the playground's own process (the web server passes /playground/ to it).

Each of them, and the embedded PostgreSQL and Redis, is restarted when it dies (config.supervisor).
Ctrl-C stops everything within a few seconds; the embedded servers stop with this process.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from config.services import DATA_DIR, secret_key_ensure, services_ensure, services_revive
from config.supervisor import Supervisor

# What the web server, the worker and beat get to finish after Ctrl-C; the embedded servers then stop
# too, all within about five seconds.
STOP_GRACE_S = 3.0
WORKER_WAIT_S = 300


def _manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def uvicorn_command(*, host: str, port: int) -> list[str]:
    """The web server's command line. It passes the socket's peer on as it is: which proxies'
    X-Forwarded-For to believe is ARENA_TRUSTED_PROXIES's to say (core.client_ip), for HTTP and
    WebSockets alike, not a second rule in the server (whose default believes 127.0.0.1)."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
    ]
    # A short graceful shutdown: open WebSockets would otherwise hold a restart or Ctrl-C for ever.
    command += ["--lifespan", "on", "--ws", "websockets", "--timeout-graceful-shutdown", "2"]
    command += ["--no-proxy-headers"]
    return command


def playground_command(*, uds: Path) -> list[str]:
    """The playground's process (one: Gradio keeps its queue per process), on a unix socket that only
    this machine's processes reach, so the address the web server forwards can be believed."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "portal.playground.asgi:application",
        "--uds",
        str(uds),
        "--lifespan",
        "on",
        "--proxy-headers",
        "--forwarded-allow-ips",
        "*",
        "--timeout-graceful-shutdown",
        "2",
    ]


def _static_collect(*, sources: list[Path], root: Path) -> None:
    """Hash and compress the static files, when they changed since the last run: compressing
    plotly.js with brotli takes half a minute, which a restart should not pay again."""
    listing = sorted(
        f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
        for source in sources
        for path in source.rglob("*")
        if path.is_file()
    )
    digest = hashlib.sha256("\n".join(listing).encode()).hexdigest()
    stamp = root / ".collected"
    if stamp.exists() and stamp.read_text() == digest and (root / "staticfiles.json").exists():
        return
    print("make run: hashing and compressing the static files (once; about a minute)...", flush=True)
    subprocess.run(_manage("collectstatic", "--noinput", "-v", "0"), check=True)
    stamp.write_text(digest)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    secret_key_ensure()
    # The settings first: a malformed variable stops here, before any server is started.
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        debug = settings.DEBUG
    except ImproperlyConfigured as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    services_ensure()
    subprocess.run(_manage("migrate", "--noinput", "-v", "0"), check=True)
    if settings.STATIC_HASHED:
        _static_collect(sources=[Path(d) for d in settings.STATICFILES_DIRS], root=Path(settings.STATIC_ROOT))
    if os.environ.get("ARENA_DEMO_MODELS", "1") == "1":
        subprocess.run(_manage("build_tiny_models"), check=True)
    # Every process's metrics in one directory, added up by /metrics (README "Health and metrics").
    metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics")))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):  # the last run's processes: their counts would add up again
        stale.unlink()
    playground_socket = DATA_DIR / "playground.sock"
    os.environ["PLAYGROUND_UPSTREAM"] = f"unix:{playground_socket}"  # the web server's, from here on
    commands = {
        "web": uvicorn_command(host=host, port=int(port)),
        "playground": playground_command(uds=playground_socket),
        "worker": _manage("arena_worker", "--loglevel", "WARNING"),
        "beat": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "core.celery",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(DATA_DIR / "celerybeat-schedule"),
        ],
    }
    web = partial(subprocess.Popen, commands.pop("web"))
    supervisor = Supervisor(
        programs={name: partial(subprocess.Popen, command) for name, command in commands.items()},
        watch=services_revive,
    )
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    supervisor.start()
    # The site opens once a worker serves the models: a first battle then streams at once, and does not
    # sit in line behind a worker still loading.
    waiting = subprocess.Popen(_manage("workers_wait", "--timeout", str(WORKER_WAIT_S)))
    while waiting.poll() is None and not supervisor.stopping:
        supervisor.tick(now=time.monotonic())
        time.sleep(0.2)
    if waiting.poll() is None:
        waiting.terminate()
    elif waiting.returncode != 0:
        print("make run: no worker is ready yet; the site opens anyway and battles wait in line.", flush=True)
    supervisor.program_add("web", web)
    debug_state = "debug is ON (DJANGO_DEBUG=1)" if debug else "debug is off (DJANGO_DEBUG=1 turns it on)"
    if not supervisor.stopping:
        print(
            f"\n  Arena Hub is running at http://{host}:{port}/  ({debug_state}; Ctrl-C stops everything)\n",
            flush=True,
        )
    supervisor.run()
    supervisor.stop(grace_s=STOP_GRACE_S)
    print("Arena Hub stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
