"""axe-core (vendored, tests/browser/vendor) finds no violations on the public pages, in Chromium."""

from __future__ import annotations

import pytest

from leaderboard.boards.arena.services import snapshot_compute
from tests.browser.axe import axe_violations
from tests.factories import model_make, vote_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rated_board(settings) -> None:
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    strong, middle, weak = (
        model_make(slug=s, display_name=f"{s.title()} VL") for s in ("strong", "middle", "weak")
    )
    for _ in range(6):
        vote_make(strong, middle)
        vote_make(middle, weak)
        vote_make(strong, weak, "model_b")
    snapshot_compute()


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/", "#prompt"),
        ("/leaderboard/", "#arena-board[data-live=open]"),
        ("/leaderboard/charts/", "[data-figure='win_rate'] .chart-picture:visible"),
        ("/leaderboard/general-level/", "#gl-board"),
        ("/leaderboard/benchmarks/", "#benchmarks"),
        ("/api/v1/docs", ".opblock"),
    ],
)
@pytest.mark.parametrize("width", [1280, 390])
def test_a_public_page_has_no_axe_violations(browser_page, live_stack, rated_board, path, ready, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_stack.base_url + path)
    page.wait_for_selector(ready, timeout=20_000)
    assert axe_violations(page) == []
