"""The checks a submission goes through in the worker, on real files and real servers: a tiny local
checkpoint passes; a missing one, one that needs remote code, and an endpoint at a private address (or
one that answers errors) are refused with the reason."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.submissions import services
from portal.submissions.checks import submission_check
from portal.submissions.models import Submission
from tests.portal.submissions.helpers import checkpoint_body, endpoint_body, user_make

pytestmark = pytest.mark.django_db

LLAVA = "tiny-llava-64"


def _checked(data: dict) -> Submission:
    submission = services.submission_create(user=user_make(), data=data)
    checked = submission_check(submission_id=str(submission.pk))
    assert checked is not None
    checked.refresh_from_db()
    return checked


def test_a_tiny_local_checkpoint_passes_and_waits_for_staff_with_what_was_found(tiny_models_dir):
    submission = _checked(checkpoint_body(source=str(tiny_models_dir.dir / LLAVA)))
    assert submission.status == Submission.Status.PENDING, submission.reason
    assert submission.report["architecture"] == "LlavaForConditionalGeneration"
    assert submission.report["parameters"] > 0 and "image" in submission.report["modalities"]
    assert "loads without remote code" in submission.report["reason"]


def test_a_checkpoint_that_is_not_there_is_refused(tmp_path):
    submission = _checked(checkpoint_body(source=str(tmp_path / "nothing-here")))
    assert submission.status == Submission.Status.REFUSED
    assert "does not exist" in submission.reason


def test_a_checkpoint_above_the_parameter_limit_is_refused_with_both_numbers(tiny_models_dir, settings):
    settings.PORTAL_MAX_PARAMS = 1000
    submission = _checked(checkpoint_body(source=str(tiny_models_dir.dir / LLAVA)))
    assert submission.status == Submission.Status.REFUSED
    assert "above this site's limit of 1,000" in submission.reason


def test_a_checkpoint_that_needs_remote_code_is_refused(tiny_models_dir, tmp_path):
    folder = tmp_path / "remote"
    shutil.copytree(tiny_models_dir.dir / LLAVA, folder)
    config = json.loads((folder / "config.json").read_text())
    # An architecture transformers does not know, whose code ships with the checkpoint.
    config["model_type"] = "mine"
    config["auto_map"] = {"AutoConfig": "configuration_mine.MineConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    submission = _checked(checkpoint_body(source=str(folder)))
    assert submission.status == Submission.Status.REFUSED
    assert "needs its own Python code to load (trust_remote_code)" in submission.reason


def test_an_endpoint_at_a_private_address_is_refused_unless_the_site_allows_it(settings):
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = False
    submission = _checked(endpoint_body(base_url="http://127.0.0.1:9/v1"))
    assert submission.status == Submission.Status.REFUSED
    assert "127.0.0.1" in submission.reason and "submitted endpoints must be public" in submission.reason


@pytest.fixture
def failing_server() -> Iterator[str]:
    """A real HTTP server on loopback that answers every chat completion with a 401 and an error body."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"error": {"message": "Invalid API key."}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_an_endpoint_that_answers_an_error_is_refused_with_its_message(failing_server, settings):
    settings.PORTAL_ALLOW_PRIVATE_ENDPOINTS = True
    submission = _checked(endpoint_body(base_url=failing_server, api_key="sk-wrong"))
    assert submission.status == Submission.Status.REFUSED
    assert "Invalid API key." in submission.reason
    assert "sk-wrong" not in submission.reason
