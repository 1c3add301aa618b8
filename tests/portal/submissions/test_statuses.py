"""The statuses and who may move a submission between them: checks → staff → evaluation → the arena;
every change kept with who made it and why; a submission visible only to its submitter and staff."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.models import Model
from portal.submissions import services
from portal.submissions.models import Submission, SubmissionEvent
from tests.portal.submissions.helpers import client_for, endpoint_body, user_make

pytestmark = pytest.mark.django_db

Status = Submission.Status


def _submitted(user) -> Submission:
    return services.submission_create(user=user, data=endpoint_body())


def _checked(submission: Submission, problem: str | None = None) -> Submission:
    return services.submission_checked(submission_id=submission.pk, problem=problem, report={"seconds": 0.1})


def test_a_new_submission_is_checking_and_passing_the_checks_makes_it_wait_for_staff():
    submission = _submitted(user_make())
    assert submission.status == Status.CHECKING
    assert _checked(submission).status == Status.PENDING
    assert list(submission.events.values_list("previous", "status")) == [
        ("", "checking"),
        ("checking", "pending"),
    ]


def test_failing_the_checks_refuses_it_with_the_reason_its_submitter_reads():
    user = user_make()
    submission = _checked(_submitted(user), problem="The endpoint did not answer within 20 s.")
    assert submission.status == Status.REFUSED
    answer = client_for(user).get(f"/api/v1/submissions/{submission.pk}").json()
    assert answer["status"] == "refused" and answer["reason"] == "The endpoint did not answer within 20 s."


def test_a_submitter_cannot_approve_reject_or_enable_their_own_submission():
    user = user_make()
    submission = _checked(_submitted(user))
    client = client_for(user)
    for action in ("approve", "enable"):
        response = client.post(f"/api/v1/submissions/{submission.pk}/{action}")
        assert response.status_code == 403, action
        assert f"Only staff can {action} a submission" in response.json()["detail"]
    response = client.post(
        f"/api/v1/submissions/{submission.pk}/reject", {"reason": "no"}, content_type="application/json"
    )
    assert response.status_code == 403
    submission.refresh_from_db()
    assert submission.status == Status.PENDING


def test_staff_approve_and_the_event_names_them_apart_from_the_submitter():
    staff = user_make(staff=True)
    submission = _checked(_submitted(user_make()))
    response = client_for(staff).post(f"/api/v1/submissions/{submission.pk}/approve")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    event = SubmissionEvent.objects.get(submission=submission, status=Status.APPROVED)
    assert event.actor == staff and event.previous == Status.PENDING
    assert response.json()["events"][-1]["by_staff"] is True


def test_a_rejection_needs_a_reason_and_keeps_it():
    staff = client_for(user_make(staff=True))
    submission = _checked(_submitted(user_make()))
    url = f"/api/v1/submissions/{submission.pk}/reject"
    empty = staff.post(url, {"reason": "  "}, content_type="application/json")
    assert empty.status_code == 400 and "Please say why" in empty.json()["detail"]
    done = staff.post(
        url, {"reason": "The card does not say what data it was trained on."}, content_type="application/json"
    )
    assert done.json()["status"] == "rejected"
    assert done.json()["reason"] == "The card does not say what data it was trained on."


def test_a_move_the_statuses_do_not_allow_is_a_conflict_that_says_where_it_stands():
    staff = client_for(user_make(staff=True))
    submission = _submitted(user_make())  # still checking
    response = staff.post(f"/api/v1/submissions/{submission.pk}/approve")
    assert response.status_code == 409
    assert (
        response.json()["detail"]
        == "This submission is checking; it cannot become approved, waiting for evaluation from there."
    )


def test_someone_elses_submission_does_not_exist_for_you_but_staff_see_all():
    owner, other, staff = user_make(), user_make(), user_make(staff=True)
    submission = _submitted(owner)
    assert client_for(other).get(f"/api/v1/submissions/{submission.pk}").status_code == 404
    assert client_for(other).post(f"/api/v1/submissions/{submission.pk}/withdraw").status_code == 404
    assert client_for(other).get("/api/v1/submissions").json() == []
    assert [row["id"] for row in client_for(staff).get("/api/v1/submissions").json()] == [str(submission.pk)]
    assert client_for(other).get(f"/submissions/{submission.pk}/").status_code == 404


def test_evaluation_registers_the_model_paused_and_finishing_it_lets_staff_enable_it_with_a_boost(settings):
    staff = user_make(staff=True)
    submission = _checked(_submitted(user_make()))
    services.submission_approve(user=staff, submission_id=submission.pk)
    started = services.submission_evaluation_start(submission_id=submission.pk)
    assert started is not None and started.status == Status.EVALUATING
    model = Model.objects.get(slug=submission.slug)
    assert model.status == Model.Status.PAUSED, "out of the blind pool while it is evaluated"
    assert model.adapter_config["public_only"] is True
    finished = services.submission_evaluated(
        submission_id=submission.pk, problem=None, log_tail="answer: hello"
    )
    assert finished.status == Status.FINISHED and finished.log_tail == "answer: hello"
    services.submission_enable(user=staff, submission_id=submission.pk)
    model.refresh_from_db()
    assert model.status == Model.Status.ACTIVE
    assert model.sampling_boost == settings.ARENA_NEW_MODEL_BOOST


def test_a_failed_evaluation_keeps_the_reason_and_the_log_tail():
    submission = _checked(_submitted(user_make()))
    services.submission_approve(user=user_make(staff=True), submission_id=submission.pk)
    services.submission_evaluation_start(submission_id=submission.pk)
    failed = services.submission_evaluated(
        submission_id=submission.pk, problem="The model took too long to answer.", log_tail="x" * 10_000
    )
    assert failed.status == Status.FAILED and failed.reason == "The model took too long to answer."
    assert len(failed.log_tail) == services.LOG_TAIL_CHARS


def test_an_update_checks_it_again_and_takes_its_model_out_of_the_pool_meanwhile():
    user, staff = user_make(), user_make(staff=True)
    submission = _checked(_submitted(user))
    services.submission_approve(user=staff, submission_id=submission.pk)
    services.submission_evaluation_start(submission_id=submission.pk)
    services.submission_evaluated(submission_id=submission.pk, problem=None, log_tail="ok")
    services.submission_enable(user=staff, submission_id=submission.pk)
    response = client_for(user).patch(
        f"/api/v1/submissions/{submission.pk}", {"model": "test-model-v2"}, content_type="application/json"
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "checking" and response.json()["endpoint_model"] == "test-model-v2"
    assert Model.objects.get(slug=submission.slug).status == Model.Status.PAUSED


def test_withdrawing_retires_the_model_and_keeps_its_history():
    user, staff = user_make(), user_make(staff=True)
    submission = _checked(_submitted(user))
    services.submission_approve(user=staff, submission_id=submission.pk)
    services.submission_evaluation_start(submission_id=submission.pk)
    response = client_for(user).post(f"/api/v1/submissions/{submission.pk}/withdraw")
    assert response.json()["status"] == "withdrawn"
    assert Model.objects.get(slug=submission.slug).status == Model.Status.RETIRED
    assert [event["status"] for event in response.json()["events"]] == [
        "checking",
        "pending",
        "approved",
        "evaluating",
        "withdrawn",
    ]


def test_the_public_queue_lists_waiting_submissions_in_order_with_their_place_and_hides_refused_ones():
    first, second = _checked(_submitted(user_make())), _checked(_submitted(user_make()))
    refused = _checked(_submitted(user_make()), problem="no")
    queue = Client().get("/api/v1/submissions/queue").json()
    pending = [(row["slug"], row["position"]) for row in queue if row["status"] == "pending"]
    assert pending == [(first.slug, 1), (second.slug, 2)]
    assert refused.slug not in {row["slug"] for row in queue}
    page = Client().get("/submissions/queue/")
    assert page.status_code == 200 and first.display_name in page.content.decode()


def test_with_auto_enable_a_finished_submission_enters_the_pool_at_once(settings):
    settings.PORTAL_AUTO_ENABLE = True
    submission = _checked(_submitted(user_make()))
    services.submission_approve(user=user_make(staff=True), submission_id=submission.pk)
    services.submission_evaluation_start(submission_id=submission.pk)
    finished = services.submission_evaluated(submission_id=submission.pk, problem=None, log_tail="ok")
    finished.refresh_from_db()
    assert finished.enabled_at is not None
    assert Model.objects.get(slug=submission.slug).status == Model.Status.ACTIVE
