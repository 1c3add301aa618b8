"""A submission's page hears its status live over WebSocket: the status now on connecting, then each
change; someone else's submission refuses the socket as if it did not exist."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from portal.submissions import services
from tests.portal.submissions.helpers import endpoint_body, user_make

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _socket(live_stack, user, submission_id):
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return connect(
        f"{live_stack.ws_url}/ws/submissions/{submission_id}/",
        origin=live_stack.base_url,
        additional_headers=Headers({"Cookie": cookie}),
        open_timeout=10,
    )


def _statuses_until(socket, status: str) -> list[dict]:
    seen: list[dict] = []
    while not seen or seen[-1]["status"] != status:
        seen.append(json.loads(socket.recv(timeout=30)))
    return seen


def test_the_submitter_hears_the_status_now_and_then_each_change(live_stack):
    user = user_make()
    # A host that does not resolve: the stack's worker runs the real check and refuses it.
    submission = services.submission_create(
        user=user, data=endpoint_body(base_url="https://nowhere.invalid/v1")
    )
    with _socket(live_stack, user, submission.pk) as socket:
        first = _statuses_until(socket, "refused")
        assert first[0]["type"] == "status", "the status now, on connecting"
        assert "nowhere.invalid could not be resolved" in first[-1]["reason"]
        # An update checks it again: the page hears it go back to checking, then the new verdict.
        services.submission_update(user=user, submission_id=submission.pk, data={"model": "renamed"})
        again = _statuses_until(socket, "refused")
        assert [message["status"] for message in again] == ["checking", "refused"]
        assert again[-1]["label"] == "Refused by the checks"


def test_someone_elses_submission_refuses_the_socket(live_stack):
    submission = services.submission_create(user=user_make(), data=endpoint_body())
    with pytest.raises(InvalidStatus) as refused:
        _socket(live_stack, user_make(), submission.pk)
    assert refused.value.response.status_code == 403
