"""Schemathesis against the API's own OpenAPI schema (/api/v1/openapi.json), through the site's WSGI app
with every middleware: no 5xx, every status code documented, responses as the schema says, requests
the schema calls valid accepted and invalid ones refused.

Deterministic (a fixed derandomized run, no example database) and small: 25 examples an operation.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from arena.media import ACCEPTED_IMAGE_FORMATS
from tests.arena.av_media import audio_bytes, video_bytes
from tests.factories import image_bytes, model_make

# A CSRF secret sent as both the cookie and the header, as a browser session does: writes get past
# the CSRF check to the endpoints' own checks.
CSRF_SECRET = "c" * 32

CONFIG = SchemathesisConfig.from_dict(
    {
        # The WSGI client does not decompress; the gzip middleware would otherwise compress JSON.
        "headers": {"Accept-Encoding": "identity", "X-CSRFToken": CSRF_SECRET},
        "generation": {
            "max-examples": 25,
            "deterministic": True,
            "database": "none",
            # No text may hold a NUL (core.hostile_input answers 400); tests/core/test_hostile_input.py
            # proves that answer, so generated text leaves NUL out rather than hit it everywhere.
            "allow-x00": False,
        },
        "operations": [
            {
                # For a form with a part that has a media-type strategy (the images registered below),
                # Schemathesis's coverage phase sends one "positive" body of its own, filling every other
                # required part with "" whatever its schema says (in
                # schemathesis/specs/openapi/coverage/_operation.py, _generate_multipart_body_from_custom_
                # strategies, since schemathesis/schemathesis#3465): the prompt, `minLength: 1` and
                # `pattern: \S` in the schema, goes empty, and the service's 400 ("Please type a question")
                # would count as a valid request refused. Only in that phase is this check off; the
                # fuzzing phase, whose bodies keep to the schema, runs it on these two.
                "include-path": ["/api/v1/battles", "/api/v1/battles/{battle_id}/turns"],
                "include-method": "POST",
                "phases": {"coverage": {"checks": {"positive_data_acceptance": {"enabled": False}}}},
            },
        ],
    }
)

# A client that sends an image, a video or a sound in a format the schema names sends a real one (not
# random bytes, which the service refuses as it should).
for _format, _media_type in ACCEPTED_IMAGE_FORMATS.items():
    schemathesis.openapi.media_type(_media_type, st.just(image_bytes(fmt=_format)))
for _format, _media_type in (("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/quicktime")):
    schemathesis.openapi.media_type(_media_type, st.just(video_bytes(_format, seconds=1.0)))
for _format, _media_type in (
    ("wav", "audio/wav"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("ogg", "audio/ogg"),
    ("flac", "audio/flac"),
    ("webm", "audio/webm"),
):
    schemathesis.openapi.media_type(_media_type, st.just(audio_bytes(_format, seconds=0.5)))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=CONFIG)


@pytest.fixture(autouse=True)
def connection_kept() -> Iterator[None]:
    """Keep the test's connection (and its transaction) across requests, as Django's test client does:
    the WSGI handler would close it after each one."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def two_models(db: None) -> None:
    """Two active models, so that a valid prompt starts a battle (its answers never start: nothing is
    committed) instead of a 503 for want of a pair."""
    model_make(input_modalities=["text", "image", "video", "audio"])
    model_make(input_modalities=["text", "image", "video", "audio"])


@pytest.mark.usefixtures("two_models")
@schema.parametrize()
def test_the_api_keeps_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(cookies={"csrftoken": CSRF_SECRET})
