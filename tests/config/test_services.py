"""No import starts a server: the entry points do, and only for commands that need one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, **variables: str) -> dict[str, str]:
    unset = ("DATABASE_URL", "REDIS_URL", "REDIS_DB_OFFSET", "DJANGO_DEBUG")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env.update(
        ARENA_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="services-under-test",
        **variables,
    )
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _processes_using(data_dir: Path) -> list[str]:
    """Processes whose command line or working directory is in `data_dir` (redis-server retitles
    itself, but works in its `--dir`)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "cwd"]):
        where = " ".join([*(process.info["cmdline"] or []), process.info["cwd"] or ""])
        if str(data_dir) in where:
            found.append(f"{process.info['pid']}: {where}")
    return found


def test_importing_the_settings_and_setting_django_up_starts_no_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code = (
        "import django, psutil; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['HOST']); print(settings.CELERY_BROKER_URL); "
        "print(len(psutil.Process().children(recursive=True)))"
    )
    result = _run([sys.executable, "-c", code], _env(data_dir))
    assert result.returncode == 0, result.stderr
    host, broker, children = result.stdout.split()
    # The embedded servers' addresses, known without starting them.
    assert host == str(data_dir / "postgres")
    assert broker == f"redis+socket://{data_dir}/redis/not-running.sock?virtual_host=0"
    assert children == "0"
    assert not data_dir.exists()
    assert _processes_using(data_dir) == []


def test_a_command_that_only_reads_files_starts_no_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _run([sys.executable, "manage.py", "compute_ratings", "--help"], _env(data_dir))
    assert result.returncode == 0, result.stderr
    assert "--battles" in result.stdout
    assert not (data_dir / "postgres").exists() and not (data_dir / "redis").exists()
    assert _processes_using(data_dir) == []


def test_without_the_servers_a_database_user_fails_at_once_with_the_address(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code = "import django; django.setup()\nfrom django.db import connection\nconnection.ensure_connection()\n"
    started = time.monotonic()
    result = _run([sys.executable, "-c", code], _env(data_dir), timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode != 0
    assert "OperationalError" in result.stderr
    assert str(data_dir / "postgres") in result.stderr
    assert not data_dir.exists()


def test_migrate_on_a_fresh_data_dir_starts_the_embedded_servers_and_stops_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], _env(data_dir), timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert (data_dir / "redis" / "redis.log").exists()
    # Both stop with the process that started them.
    deadline = time.monotonic() + 15
    while _processes_using(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_using(data_dir) == []


def test_the_embedded_redis_serves_celery_the_cache_and_channels_and_stops_with_its_starter(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    # Only Redis is embedded here; the database URL is never used.
    env = _env(data_dir, DATABASE_URL="postgresql://unused@127.0.0.1:9/unused")
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from config.services import services_ensure; "
            "print(services_ensure().redis_url, flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None
        redis_url = starter.stdout.readline().strip()
        assert redis_url.startswith("redis://127.0.0.1:")
        assert _processes_using(data_dir)  # the check below can see a running embedded Redis
        # A process of its own, without REDIS_URL: the settings find the running server's address.
        code = """
import asyncio
import django; django.setup()
from django.conf import settings
from django.core.cache import cache
from channels.layers import get_channel_layer
from kombu import Connection
import redis

cache.set("probe", "cached")
assert cache.get("probe") == "cached"

async def channel_round_trip():
    layer = get_channel_layer()
    name = await layer.new_channel()
    await layer.send(name, {"type": "probe", "n": 1})
    assert (await layer.receive(name))["n"] == 1
    await layer.flush()

asyncio.run(channel_round_trip())

with Connection(settings.CELERY_BROKER_URL) as connection:
    queue = connection.SimpleQueue("config-tests-probe")
    queue.put({"n": 2})
    message = queue.get(timeout=5)
    assert message.payload == {"n": 2}
    message.ack()
    queue.close()

print(settings.REDIS_URL)
print(sorted(redis.Redis.from_url(settings.REDIS_URL).info("keyspace")))
"""
        result = _run([sys.executable, "-c", code], {**env, "REDIS_DB_OFFSET": "5"})
        assert result.returncode == 0, result.stderr
        seen_url, keyspace = result.stdout.strip().split("\n")
        assert seen_url == redis_url
        # Celery on db n (its bindings stay), the cache on n+2; the channel layer flushed its n+1.
        assert keyspace == "['db5', 'db7']"
    finally:
        starter.communicate(input="", timeout=30)
    assert starter.returncode == 0
    assert not (data_dir / "redis" / "server.json").exists()
    assert not (data_dir / "postgres").exists()
    assert _processes_using(data_dir) == []
