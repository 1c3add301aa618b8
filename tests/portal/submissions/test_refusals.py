"""Each refusal at submit time, with its sentence: duplicates, the weekly limit, blocked or taken names,
a thin card or no licence; and nothing is stored for a refused submission."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.submissions.models import Submission
from tests.factories import model_make
from tests.portal.submissions.helpers import client_for, endpoint_body, user_make

pytestmark = pytest.mark.django_db


def _submit(client: Client, body: dict) -> tuple[int, dict]:
    response = client.post("/api/v1/submissions", body, content_type="application/json")
    return response.status_code, response.json()


def test_an_endpoint_and_model_name_already_submitted_is_refused():
    client = client_for(user_make())
    body = endpoint_body()
    assert _submit(client, body)[0] == 202
    status, answer = _submit(client, {**body, "display_name": "Another Name"})
    assert status == 409
    assert (
        f"the model {body['model']} at https://models.example.org/v1 has already been submitted"
        in answer["detail"]
    )


def test_the_same_checkpoint_and_revision_is_refused_but_another_revision_is_not(tmp_path):
    client = client_for(user_make())
    body = {"kind": "checkpoint", "source": str(tmp_path), "revision": "v1", "dtype": "auto"}
    first = endpoint_body() | body
    assert _submit(client, first)[0] == 202
    status, answer = _submit(client, endpoint_body() | body)
    assert status == 409 and "at revision v1 has already been submitted" in answer["detail"]
    assert _submit(client, endpoint_body() | body | {"revision": "v2"})[0] == 202


def test_five_submissions_a_week_are_accepted_and_the_sixth_is_refused_with_retry_after():
    client = client_for(user_make())
    for _ in range(5):
        assert _submit(client, endpoint_body())[0] == 202
    response = client.post("/api/v1/submissions", endpoint_body(), content_type="application/json")
    assert response.status_code == 429
    assert "You have made 5 submissions in the last 7 days, the most allowed" in response.json()["detail"]
    assert 0 < int(response["Retry-After"]) <= 7 * 86400
    assert Submission.objects.count() == 5


def test_another_submitter_is_not_held_back_by_someone_elses_limit():
    busy = client_for(user_make())
    for _ in range(5):
        _submit(busy, endpoint_body())
    assert _submit(client_for(user_make()), endpoint_body())[0] == 202


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"description": "Too short."}, "The model card is 10 characters long; please write at least 200"),
        ({"license": ""}, "Please name the model's licence"),
        ({"display_name": "Official GPT"}, "uses 'official', which submissions may not use"),
        ({"display_name": "A\x00B"}, "holds a NUL character"),
        ({"kind": "magic"}, 'Say how the model runs: kind "checkpoint"'),
        ({"base_url": "ftp://host/v1"}, "must start with http:// or https://"),
        ({"base_url": "https://user:secret@host/v1"}, "Put the API key in its own field"),
        ({"input_modalities": ["smell"]}, "Unknown input modality 'smell'"),
        ({"links": [{"label": "x", "url": "javascript:alert(1)"}]}, "must start with https:// or http://"),
    ],
)
def test_a_submission_missing_what_it_needs_is_refused_with_what_to_change(changes, sentence):
    status, answer = _submit(client_for(user_make()), endpoint_body(**changes))
    assert status == 400, answer
    assert sentence in answer["detail"]
    assert not Submission.objects.exists()


def test_a_name_an_arena_model_already_has_is_refused():
    model_make(slug="known-vl", display_name="Known VL")
    status, answer = _submit(client_for(user_make()), endpoint_body(display_name="known vl"))
    assert status == 409 and "A model named 'known vl' is already in the arena" in answer["detail"]


def test_an_anonymous_visitor_cannot_submit_and_is_told_how_to():
    response = Client().post("/api/v1/submissions", endpoint_body(), content_type="application/json")
    assert response.status_code == 401
    assert "You are not signed in" in response.json()["detail"]
    page = Client().get("/submit/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
