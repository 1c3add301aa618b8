"""An endpoint's API key is stored only encrypted, and never shown again: not in the database in clear,
not in any API answer, log, page or export."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import Client

from arena.models import Model
from portal.submissions import services
from portal.submissions.models import Submission
from tests.factories import model_make, vote_make
from tests.portal.submissions.helpers import client_for, endpoint_body, user_make
from workers.secrets import secret_decrypt

pytestmark = pytest.mark.django_db

KEY = "sk-live-0123456789abcdef-never-shown"


def _rows_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(string_agg(row_to_json(s)::text, ' '), '') FROM portal_submission s"
            " UNION ALL SELECT coalesce(string_agg(row_to_json(e)::text, ' '), '')"
            " FROM portal_submissionevent e"
            " UNION ALL SELECT coalesce(string_agg(row_to_json(m)::text, ' '), '') FROM arena_model m"
        )
        return " ".join(row[0] for row in cursor.fetchall())


def test_the_key_is_stored_encrypted_and_only_the_workers_read_it(caplog):
    caplog.set_level(logging.DEBUG)
    user, staff = user_make(), user_make(staff=True)
    client = client_for(user)
    created = client.post("/api/v1/submissions", endpoint_body(api_key=KEY), content_type="application/json")
    assert created.status_code == 202
    submission = Submission.objects.get(pk=created.json()["id"])
    assert submission.api_key_encrypted and KEY not in submission.api_key_encrypted
    assert secret_decrypt(ciphertext=submission.api_key_encrypted) == KEY
    services.submission_checked(submission_id=submission.pk, problem=None, report={})
    services.submission_approve(user=staff, submission_id=submission.pk)
    services.submission_evaluation_start(submission_id=submission.pk)
    services.submission_evaluated(submission_id=submission.pk, problem=None, log_tail="ok")
    services.submission_enable(user=staff, submission_id=submission.pk)
    model = Model.objects.get(slug=submission.slug)
    assert model.adapter_config["api_key_encrypted"] == submission.api_key_encrypted
    vote_make(model, model_make(slug="other-vl"))  # so that the export has a battle of this model
    assert KEY not in _rows_text(), "the key is nowhere in the database in clear"
    answers = [
        created.content,
        client.get(f"/api/v1/submissions/{submission.pk}").content,
        client.get("/api/v1/submissions").content,
        client_for(staff).get("/api/v1/submissions").content,
        Client().get("/api/v1/submissions/queue").content,
        Client().get("/api/v1/models").content,
        Client().get(f"/api/v1/models/{submission.slug}").content,
        client.get(f"/submissions/{submission.pk}/").content,
        client_for(staff).get(f"/submissions/{submission.pk}/").content,
        Client().get(f"/models/{submission.slug}/").content,
        b"".join(client_for(staff).get("/api/v1/battles/export").streaming_content),
    ]
    assert submission.slug.encode() in answers[-1], "the export holds the model's battle"
    for answer in answers:
        assert KEY.encode() not in answer
        assert submission.api_key_encrypted.encode() not in answer
    assert created.json()["has_api_key"] is True
    assert KEY not in caplog.text and submission.api_key_encrypted not in caplog.text


def test_an_update_without_a_key_keeps_the_stored_one_and_a_new_key_replaces_it():
    user = user_make()
    submission = services.submission_create(user=user, data=endpoint_body(api_key=KEY))
    services.submission_checked(submission_id=submission.pk, problem="no", report={})
    kept = services.submission_update(user=user, submission_id=submission.pk, data={"model": "renamed"})
    assert secret_decrypt(ciphertext=kept.api_key_encrypted) == KEY
    services.submission_checked(submission_id=submission.pk, problem="no", report={})
    replaced = services.submission_update(user=user, submission_id=submission.pk, data={"api_key": "sk-new"})
    assert secret_decrypt(ciphertext=replaced.api_key_encrypted) == "sk-new"
