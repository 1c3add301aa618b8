"""The submission pages: the form (its refusals shown on it, nothing lost), the submission's page with
the actions its viewer may take, and the buttons' refusals as sentences."""

from __future__ import annotations

import pytest

from portal.submissions import services
from portal.submissions.models import Submission
from tests.portal.submissions.helpers import CARD, client_for, endpoint_body, user_make

pytestmark = pytest.mark.django_db


FORM = {
    "display_name": "Form VL 7B",
    "organization": "Form Lab",
    "license": "mit",
    "description": CARD,
    "links": "Paper https://arxiv.org/abs/2401.00001\nhttps://example.org/card",
    "reads_images": "on",
    "kind": "endpoint",
    "base_url": "https://models.example.org/v1",
    "model": "form-vl-7b",
    "api_key": "sk-form",
}


def test_the_form_submits_and_leads_to_the_submissions_page():
    client = client_for(user_make())
    assert client.get("/submit/").status_code == 200
    response = client.post("/submit/", FORM)
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/submissions/{submission.pk}/"
    assert submission.links == [
        {"label": "Paper", "url": "https://arxiv.org/abs/2401.00001"},
        {"label": "https://example.org/card", "url": "https://example.org/card"},
    ]
    assert submission.input_modalities == ["image", "text"] and submission.slug == "ep-form-vl-7b"
    page = client.get(response["Location"]).content.decode()
    assert "Checking" in page and "sk-form" not in page


def test_a_refused_form_says_why_and_keeps_what_was_typed():
    response = client_for(user_make()).post("/submit/", {**FORM, "description": "Short."})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The model card is 6 characters long" in page
    assert 'value="Form VL 7B"' in page, "the typed fields are still there"
    assert not Submission.objects.exists()


def test_staff_see_approve_and_reject_and_the_submitter_sees_withdraw_only():
    user, staff = user_make(), user_make(staff=True)
    submission = services.submission_create(user=user, data=endpoint_body())
    services.submission_checked(submission_id=submission.pk, problem=None, report={})
    own = client_for(user).get(f"/submissions/{submission.pk}/").content.decode()
    assert "Withdraw" in own and "Approve" not in own
    theirs = client_for(staff).get(f"/submissions/{submission.pk}/").content.decode()
    assert "Approve" in theirs and "Reason for rejecting" in theirs


def test_a_button_the_viewer_may_not_press_answers_a_sentence_and_changes_nothing():
    user = user_make()
    submission = services.submission_create(user=user, data=endpoint_body())
    services.submission_checked(submission_id=submission.pk, problem=None, report={})
    response = client_for(user).post(f"/submissions/{submission.pk}/approve/")
    assert response.status_code == 403
    assert "Only staff can approve a submission." in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING
    assert client_for(user).post(f"/submissions/{submission.pk}/launch/").status_code == 404


def test_staff_reject_from_the_page_with_a_reason():
    staff = user_make(staff=True)
    submission = services.submission_create(user=user_make(), data=endpoint_body())
    services.submission_checked(submission_id=submission.pk, problem=None, report={})
    response = client_for(staff).post(
        f"/submissions/{submission.pk}/reject/", {"reason": "No training data named."}
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert (submission.status, submission.reason) == ("rejected", "No training data named.")
