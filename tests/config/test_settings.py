"""The settings only read the environment: strict values, errors that name the variable, safe defaults."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "config" / "settings.py"
# Variables a developer's shell may hold that would change what these tests read.
OWN_VARIABLES = ("DATABASE_URL", "REDIS_URL", "REDIS_DB_OFFSET", "DJANGO_DEBUG", "LOG_LEVEL")


def settings_read(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, Any]:
    """The settings module's values for this environment, read afresh (Django's own copy untouched)."""
    for name in OWN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_SECRET_KEY", "settings-under-test")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DJANGO_DEBUG", "maybe", "one of 1/0, true/false, yes/no, on/off"),
        ("DJANGO_DEBUG", "2", "one of 1/0, true/false, yes/no, on/off"),
        ("LEADERBOARD_ANONY_ONLY", "enabled", "one of 1/0, true/false, yes/no, on/off"),
        ("ARENA_MAX_TURNS", "three", "a whole number"),
        ("ARENA_MAX_TURNS", "2.5", "a whole number"),
        ("REDIS_DB_OFFSET", "8x", "a whole number"),
        ("ARENA_TEMPERATURE", "warm", "a number"),
        ("ARENA_STREAM_INTERVAL_S", "0.05s", "a number"),
        ("LEADERBOARD_PENALTY", "nan", "a number"),
        ("DATABASE_URL", "mysql://user:pw@db:3306/arena", "a PostgreSQL URL"),
        ("DATABASE_URL", "postgresql://user@db:port/arena", "a PostgreSQL URL"),
        ("DATABASE_URL", "postgresql://user@db:5432/", "a PostgreSQL URL"),
        ("DATABASE_URL", "not a url", "a PostgreSQL URL"),
        ("REDIS_URL", "http://cache:6379", "a Redis URL"),
        ("REDIS_URL", "redis://cache:6379/zero", "a Redis URL"),
        ("REDIS_URL", "redis://cache:port", "a Redis URL"),
        ("REDIS_URL", "unix:///run/redis.sock?db=one", "a Redis URL"),
        ("LOG_LEVEL", "loud", "one of DEBUG, INFO"),
    ],
)
def test_a_malformed_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        settings_read(monkeypatch, **{name: value})
    message = str(raised.value)
    assert message.startswith(f"{name} must be")
    assert expected in message


def test_a_malformed_database_url_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    # It may hold a password.
    with pytest.raises(ImproperlyConfigured) as raised:
        settings_read(monkeypatch, DATABASE_URL="mysql://user:hunter2@db/arena")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("OFF", False),
        ("", False),
    ],
)
def test_clear_booleans_are_read_and_empty_is_unset(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    assert settings_read(monkeypatch, DJANGO_DEBUG=value)["DEBUG"] is expected


def test_debug_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_read(monkeypatch)["DEBUG"] is False


def test_numbers_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_read(monkeypatch, ARENA_MAX_TURNS="5", ARENA_TEMPERATURE="0.25", LOG_LEVEL="warning")
    assert values["ARENA_MAX_TURNS"] == 5
    assert values["ARENA_TEMPERATURE"] == 0.25
    assert values["LOGGING"]["root"]["level"] == "WARNING"


def test_a_tcp_database_url_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    database = settings_read(monkeypatch, DATABASE_URL="postgresql://arena:p%40ss@db.example:6543/arena")[
        "DATABASES"
    ]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == ("arena", "arena", "p@ss")
    assert (database["HOST"], database["PORT"]) == ("db.example", "6543")
    assert database["CONN_MAX_AGE"] == 0


def test_connections_are_pooled_with_a_wait_limit_and_a_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = settings_read(monkeypatch, DATABASE_POOL_MAX_SIZE="6", DATABASE_POOL_TIMEOUT_S="2.5")[
        "DATABASES"
    ]["default"]
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 2.5}
    assert database["OPTIONS"]["connect_timeout"] == 5
    unpooled = settings_read(monkeypatch, DATABASE_POOL_MAX_SIZE="0")["DATABASES"]["default"]
    assert "pool" not in unpooled["OPTIONS"] and unpooled["CONN_HEALTH_CHECKS"] is True


def test_a_unix_socket_database_url_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://postgres@/arena?host=/srv/pg%20sock&connect_timeout=5"
    database = settings_read(monkeypatch, DATABASE_URL=url)["DATABASES"]["default"]
    assert (database["NAME"], database["USER"], database["HOST"], database["PORT"]) == (
        "arena",
        "postgres",
        "/srv/pg sock",
        "",
    )
    assert database["OPTIONS"]["connect_timeout"] == 5


def test_redis_urls_give_each_user_its_database(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_read(monkeypatch, REDIS_URL="redis://:pw@cache:6379/2", REDIS_DB_OFFSET="8")
    assert values["CELERY_BROKER_URL"] == "redis://:pw@cache:6379/10"
    assert values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"] == "redis://:pw@cache:6379/11"
    assert values["CACHES"]["default"]["LOCATION"] == "redis://:pw@cache:6379/12"


def test_a_unix_socket_redis_url_is_written_for_kombu_and_redis_py(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_read(monkeypatch, REDIS_URL="unix:///run/redis/redis.sock", REDIS_DB_OFFSET="3")
    assert values["CELERY_BROKER_URL"] == "redis+socket:///run/redis/redis.sock?virtual_host=3"
    assert values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"] == (
        "unix:///run/redis/redis.sock?db=4"
    )
    assert values["CACHES"]["default"]["LOCATION"] == "unix:///run/redis/redis.sock?db=5"


def test_the_cors_settings_open_only_the_public_read_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    pattern = re.compile(settings_read(monkeypatch)["CORS_URLS_REGEX"])
    for path in (
        "/api/v1/leaderboard",
        "/api/v1/leaderboard/snapshots",
        "/api/v1/models/x",
        "/api/v1/models",
        "/api/v1/battles/export",
        "/api/v1/general-level",
    ):
        assert pattern.match(path), path
    for path in ("/api/v1/battles", "/api/v1/session", "/api/v1/general-level/import", "/leaderboard/"):
        assert not pattern.match(path), path


def _subprocess_env(data_dir: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*OWN_VARIABLES, "DJANGO_SECRET_KEY")}
    env.update(ARENA_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="config.settings", **variables)
    return env


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_a_secret_key_and_debug_off_the_error_says_what_to_set(tmp_path: Path) -> None:
    result = _python("import django; django.setup()", _subprocess_env(tmp_path / "data"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY" in result.stderr


def test_manage_py_creates_a_private_secret_key_once_and_the_settings_read_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _subprocess_env(data_dir)
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
    key_file = data_dir / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50
    read = _python(
        "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)", env
    )
    assert read.stdout.strip() == key
    assert sorted(path.name for path in data_dir.iterdir()) == ["secret_key"]
