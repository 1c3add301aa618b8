"""`make run`: secret key, services, migrations, demo models, then the web server, a worker and beat.

Everything stops cleanly on Ctrl-C; the embedded PostgreSQL and Redis stop with this process.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from config.services import DATA_DIR, secret_key_ensure, services_ensure


def _manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def uvicorn_command(*, host: str, port: int, proxies: str | None = None) -> list[str]:
    """The web server's command line; `proxies`: the addresses whose X-Forwarded-For is believed."""
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
    command += ["--lifespan", "on", "--ws", "websockets"]
    if proxies is not None:
        command += ["--proxy-headers", "--forwarded-allow-ips", proxies]
    return command


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
    commands = {
        "web": uvicorn_command(host=host, port=int(port)),
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
    children = {name: subprocess.Popen(command) for name, command in commands.items()}
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    debug_state = "debug is ON (DJANGO_DEBUG=1)" if debug else "debug is off (DJANGO_DEBUG=1 turns it on)"
    print(
        f"\n  Arena Hub is running at http://{host}:{port}/  ({debug_state}; Ctrl-C stops everything)\n",
        flush=True,
    )
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with code {child.returncode}; stopping.", file=sys.stderr)
                exit_code, stopping = 1, True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("Arena Hub stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
