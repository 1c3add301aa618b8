"""Shared fixtures: tiny real models, and a live stack (uvicorn + Celery worker) on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.run import uvicorn_command as run_uvicorn_command
from tests.processes import environment, free_port, processes_running
from workers.tiny_models import TinyModelSpec, tiny_models_build

BROKEN_SLUG = "broken-endpoint"
# Scripted models the live stack's worker hosts (registered by the tests that need them).
SCRIPTED_SLUGS = ("scripted-a", "scripted-b")


class TinyModels(NamedTuple):
    dir: Path
    specs: list[TinyModelSpec]

    def spec(self, slug: str) -> TinyModelSpec:
        return next(spec for spec in self.specs if spec.slug == slug)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """Tiny random-weight vision-language models, built once per test session (no downloads)."""
    target = tmp_path_factory.mktemp("tiny-models")
    return TinyModels(dir=target, specs=tiny_models_build(target_dir=target))


def uvicorn_command(*, port: int) -> list[str]:
    """The site served as `make run` serves it, on a loopback port."""
    return run_uvicorn_command(host="127.0.0.1", port=port)


def _database_url() -> str:
    db = connection.settings_dict
    host = db["HOST"] or ""
    netloc = f"{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}@"
    if host.startswith("/"):
        return f"postgresql://{netloc}/{db['NAME']}?host={quote(host)}"
    return f"postgresql://{netloc}{host}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass(frozen=True)
class LiveStack:
    base_url: str
    ws_url: str
    worker_log: Path
    web_log: Path


@pytest.fixture(scope="session")
def live_stack(
    django_db_setup: None,
    django_db_blocker: object,
    tiny_models_dir: TinyModels,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveStack]:
    """uvicorn serving the ASGI app and one Celery worker, both on the test database."""
    env = environment(
        DATABASE_URL=_database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
        ARENA_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        # Submitted endpoints in the portal's tests are loopback servers.
        PORTAL_ALLOW_PRIVATE_ENDPOINTS="1",
        # A submission's tiny-ehub evaluation: a few items from every category, in several chunks.
        PORTAL_EVALUATION_LIMIT="12",
        EVALUATION_CHUNK_ITEMS="4",
    )
    # hf-* and ep-*: the slugs of submitted checkpoints and endpoints (portal), hosted once registered.
    slugs = ",".join(
        [*(spec.slug for spec in tiny_models_dir.specs), BROKEN_SLUG, *SCRIPTED_SLUGS, "hf-*", "ep-*"]
    )
    with processes_running(env=env, logs=tmp_path_factory.mktemp("stack-logs")) as processes:
        base_url = processes.web()
        # Named after the web's port, so that a test finds this worker among the live ones.
        port = base_url.rsplit(":", 1)[1]
        processes.worker("worker", models=slugs, concurrency=4, hostname=f"test-{port}@%h")
        yield LiveStack(
            base_url=base_url,
            ws_url=base_url.replace("http://", "ws://"),
            worker_log=processes.log("worker"),
            web_log=processes.log("web"),
        )


@pytest.fixture
def arena_models(tiny_models_dir: TinyModels, db: None) -> list[object]:
    """The tiny models registered as active arena models (the database is emptied after each test)."""
    from arena.demo_models import demo_models_register

    return list(demo_models_register(specs=tiny_models_dir.specs))


@pytest.fixture
def api_client(live_stack: LiveStack) -> Iterator[httpx.Client]:
    """A non-browser client with a cookie jar and the CSRF token in place."""
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as client:
        token = client.get("/api/v1/session").json()["csrf_token"]
        client.headers["X-CSRFToken"] = token
        client.headers["Origin"] = live_stack.base_url
        yield client


@pytest.fixture(autouse=True, scope="session")
def test_client_sends_origin() -> Iterator[None]:
    """Django's test client posts as a browser does: with this site as its Origin (browsers send one
    on every POST, same-origin too), unless the test sets an Origin or a Referer itself;
    `HTTP_ORIGIN=None` sends none. Cookie-authenticated API writes need one (core.origin_check)."""
    from django.test.client import RequestFactory

    base_environ = RequestFactory._base_environ  # type: ignore[attr-defined]  # private, not in the stubs

    def with_origin(self: RequestFactory, **request: object) -> dict[str, object]:
        environ: dict[str, object] = base_environ(self, **request)
        unsafe = environ.get("REQUEST_METHOD") not in ("GET", "HEAD", "OPTIONS")
        if "HTTP_ORIGIN" in environ and environ["HTTP_ORIGIN"] is None:
            del environ["HTTP_ORIGIN"]
        elif unsafe and "HTTP_ORIGIN" not in environ and "HTTP_REFERER" not in environ:
            scheme, port = environ["wsgi.url_scheme"], str(environ["SERVER_PORT"])
            host = environ.get("HTTP_HOST") or environ["SERVER_NAME"]
            if "HTTP_HOST" not in environ and port != {"http": "80", "https": "443"}.get(str(scheme)):
                host = f"{host}:{port}"
            environ["HTTP_ORIGIN"] = f"{scheme}://{host}"
        return environ

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RequestFactory, "_base_environ", with_origin)
        yield


@pytest.fixture(autouse=True)
def cache_cleared() -> None:
    """Each test starts with an empty cache: the database rolls back after a test, the cache does
    not, and reads cached under a data version would otherwise outlive the rows they showed."""
    cache.clear()


# --- a real OpenAI-compatible server: transformers serve ------------------------------------------------


@dataclass(frozen=True)
class Served:
    base_url: str
    ready_after_s: float
    log: Path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`transformers serve` on a free loopback port; requests name a local model directory as their model."""
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        pytest.fail("`transformers serve` needs the `openai` package: install transformers[serving].")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [
        sys.executable, "-m", "transformers.cli.transformers", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--dtype", "float32",
        "--trust-remote-code",  # the tiny Qwen2-VL-style models ship their processor as code
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"transformers serve exited:\n{log.read_text()[-3000:]}")
            if time.monotonic() - started > 60:
                raise RuntimeError(f"transformers serve not ready after 60 s:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Served(
            base_url=f"http://127.0.0.1:{port}/v1", ready_after_s=time.monotonic() - started, log=log
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
