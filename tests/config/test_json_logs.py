"""LOG_FORMAT=json: a real uvicorn writes every log line, its own and Django's, as one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import uvicorn_command
from tests.processes import ROOT, free_port, port_wait


def test_json_log_format_writes_one_object_per_line_with_level_logger_and_message(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "web.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            uvicorn_command(port=port),
            cwd=ROOT,
            # Python's warnings are printed by the warnings module, some before Django starts: not logs.
            env={**os.environ, "LOG_FORMAT": "json", "PYTHONWARNINGS": "ignore"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port_wait(port, process=web, log=log)
        assert httpx.get(f"http://127.0.0.1:{port}/no-such-page/", timeout=30).status_code == 404
    finally:
        web.terminate()
        web.wait(timeout=15)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # any line that is not JSON fails here
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert {
        "level": "WARNING",
        "logger": "django.request",
        "message": "Not Found: /no-such-page/",
    }.items() <= next(record for record in records if record["logger"] == "django.request").items()
    assert any(
        record["logger"] == "uvicorn.error" and "Started server" in record["message"] for record in records
    )
    assert any(record["logger"] == "uvicorn.access" for record in records)


def test_an_unknown_log_format_is_an_error_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.LOGGING"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of PLAIN, JSON" in result.stderr
