"""Live: a staff import through REST on the live stack reaches an open board socket."""

from __future__ import annotations

import json

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.sync.client import connect
from websockets.typing import Origin

from leaderboard.boards.general_level.selectors import general_level_version
from tests.conftest import LiveStack

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

DOCUMENT = {
    "tasks": [
        {"name": "VQA", "modality": "image", "group": "comprehension", "metric": "ACC", "sota": 50},
        {"name": "T2I", "modality": "image", "group": "generation", "metric": "ACC", "sota": 30},
    ],
    "models": {"Alpha": {"scores": [60, 35]}},
}


def _staff_session_cookie() -> str:
    """A staff user's session, made here and read by the live server from the same database."""
    user = get_user_model().objects.create_user(username="curator", password="unused", is_staff=True)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_staff_import_over_rest_reaches_the_board_socket(live_stack: LiveStack):
    cookies = {"sessionid": _staff_session_cookie()}
    with httpx.Client(base_url=live_stack.base_url, cookies=cookies, timeout=30) as client:
        token = client.get("/api/v1/session").json()["csrf_token"]
        with connect(
            live_stack.ws_url + "/ws/boards/general-level/",
            origin=Origin(live_stack.base_url),
            open_timeout=10,
        ) as socket:
            response = client.post(
                "/api/v1/general-level/import",
                files={"file": ("seed.json", json.dumps(DOCUMENT).encode(), "application/json")},
                headers={"X-CSRFToken": token, "Origin": live_stack.base_url},
            )
            assert response.status_code == 200, response.text
            event = json.loads(socket.recv(timeout=15))
        board = client.get("/api/v1/general-level").json()

    assert event == {"type": "updated", "board": "general-level", "version": general_level_version()}
    assert board["version"] == event["version"]
    assert [(model["model"], model["level"]) for model in board["models"]] == [("Alpha", 4)]


def test_anonymous_import_over_rest_is_refused(live_stack: LiveStack):
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as client:
        token = client.get("/api/v1/session").json()["csrf_token"]
        response = client.post(
            "/api/v1/general-level/import",
            files={"file": ("seed.json", json.dumps(DOCUMENT).encode(), "application/json")},
            headers={"X-CSRFToken": token, "Origin": live_stack.base_url},
        )
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Only staff can import")
