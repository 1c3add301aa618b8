"""Static files hashed, precompressed and kept for a year in production; text answers gzipped; a
statement that runs past DATABASE_STATEMENT_TIMEOUT_S cancelled."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings
from PIL import Image

from arena.media import image_asset_create
from arena.models import TurnAttachment, Vote
from tests.config.test_settings import ROOT, settings_read
from tests.factories import battle_make, model_make

PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_production_settings_hash_and_compress_static_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_STATIC_HASHED", raising=False)
    values = settings_read(monkeypatch)
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == PRODUCTION_STORAGE
    assert values["WHITENOISE_USE_FINDERS"] is False
    development = settings_read(monkeypatch, DJANGO_DEBUG="1")
    assert development["STORAGES"]["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")
    assert development["WHITENOISE_USE_FINDERS"] is True


def test_collected_static_files_are_served_hashed_brotli_and_immutable(tmp_path: Path) -> None:
    source, root = tmp_path / "source", tmp_path / "root"
    (source / "app").mkdir(parents=True)
    (source / "app" / "page.js").write_text("console.log('a script long enough to compress');\n" * 40)
    with override_settings(
        STATICFILES_DIRS=[source],
        STATIC_ROOT=root,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": PRODUCTION_STORAGE},
        },
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_KEEP_ONLY_HASHED_FILES=True,
    ):
        call_command("collectstatic", "--noinput", verbosity=0)
        url = static("app/page.js")
        assert url != "/static/app/page.js" and url.startswith("/static/app/page."), url
        names = {path.name for path in (root / "app").iterdir()}
        hashed = url.rsplit("/", 1)[1]
        assert {hashed, f"{hashed}.br", f"{hashed}.gz"} <= names and "page.js" not in names
        response = Client().get(url, headers={"Accept-Encoding": "br, gzip"})
        assert response.status_code == 200 and response["Content-Encoding"] == "br"
        assert "max-age=315360000" in response["Cache-Control"] and "immutable" in response["Cache-Control"]


@pytest.mark.django_db
def test_text_answers_are_gzipped_and_images_are_not() -> None:
    for number in range(5):
        model_make(slug=f"model-{number}-with-a-longer-slug", display_name=f"A model named {number}")
    client = Client()
    response = client.get("/api/v1/models", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert b"A model named 4" in gzip.decompress(response.content)
    page = client.get("/leaderboard/", headers={"Accept-Encoding": "gzip"})
    assert page["Content-Encoding"] == "gzip"
    noise = io.BytesIO()
    Image.effect_noise((128, 128), 64).convert("RGB").save(noise, format="PNG")
    battle = battle_make(creator_id="someone")
    link = TurnAttachment.objects.create(
        turn=battle.turns.get(), asset=image_asset_create(data=noise.getvalue())
    )
    Vote.objects.create(battle=battle, winner="tie", voter_id="someone")  # shared once voted
    image = client.get(f"/api/v1/attachments/{link.public_id}", headers={"Accept-Encoding": "gzip"})
    assert image.status_code == 200 and len(image.content) > 1000
    assert not image.has_header("Content-Encoding"), "a PNG is compressed already"


def test_a_statement_past_the_timeout_is_cancelled() -> None:
    code = (
        "import time, django; django.setup()\n"
        "from django.db import OperationalError, connection\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    connection.cursor().execute('SELECT pg_sleep(5)')\n"
        "except OperationalError as error:\n"
        "    print('cancelled after', round(time.monotonic() - started, 1), type(error.__cause__).__name__)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_STATEMENT_TIMEOUT_S": "0.5"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[:2] == ["cancelled", "after"] and float(words[2]) < 3 and words[3] == "QueryCanceled"
