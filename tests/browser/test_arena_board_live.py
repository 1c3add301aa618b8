"""The arena board in Chromium: a battle voted over REST moves it live, a snapshot rates it, no reload."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.models import OnlineRating
from tests.factories import model_make, vote_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _battle_voted(api_client: httpx.Client, *, prompt: str, winner: str = "model_a") -> dict[str, object]:
    """Start a battle, wait until both tiny models have answered, vote; retry with a new pair on a failure."""
    battle = api_client.post("/api/v1/battles", data={"prompt": prompt})
    assert battle.status_code == 201, battle.text
    battle_id = battle.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        state = api_client.get(f"/api/v1/battles/{battle_id}").json()["state"]
        if state == "ready":
            break
        if state == "failed":
            retried = api_client.post(f"/api/v1/battles/{battle_id}/retry")
            assert retried.status_code == 201, retried.text
            battle_id = retried.json()["id"]
        assert time.monotonic() < deadline, f"battle {battle_id} still {state}"
        time.sleep(0.3)
    vote = api_client.post(f"/api/v1/battles/{battle_id}/vote", json={"winner": winner})
    assert vote.status_code == 200, vote.text
    result: dict[str, object] = vote.json()
    return result


def test_a_vote_and_a_snapshot_reach_the_open_board_without_a_reload(
    browser_page, live_stack, api_client, arena_models, settings
):
    from playwright.sync_api import expect

    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    page = browser_page
    page.goto(live_stack.base_url + "/leaderboard/")
    board = page.locator("#arena-board")
    expect(board).to_contain_text("No ratings yet.")
    expect(board).to_have_attribute("data-live", "open", timeout=15_000)
    # A marker on the window survives only if the page is not reloaded.
    page.evaluate("window.__sameDocument = true")

    # 1. The vote moves the online Elo at once: both models appear, waiting for the next snapshot.
    first = _battle_voted(api_client, prompt="Describe this picture in one sentence.")
    winner, loser = first["model_a"]["slug"], first["model_b"]["slug"]
    winner_row = page.locator(f'tr[data-model="{winner}"]')
    expect(winner_row.locator('[data-cell="online"]')).to_have_text("1002.0", timeout=15_000)
    expect(page.locator(f'tr[data-model="{loser}"] [data-cell="online"]')).to_have_text("998.0")
    expect(winner_row.locator('[data-cell="rating"]')).to_have_text("—")
    expect(board).to_contain_text("Voted on since the last snapshot")

    # 2. A snapshot (the beat task's work, called directly) rates them: rank, rating, votes appear.
    snapshot = snapshot_compute()
    assert snapshot is not None and snapshot.vote_count == 1
    expect(winner_row.locator('[data-cell="votes"]')).to_have_text("1", timeout=15_000)
    # One vote is far below LEADERBOARD_MIN_VOTES: rated, but listed as provisional, without a rank.
    expect(winner_row.locator(".rank-value")).to_have_text("—")
    expect(winner_row).to_have_attribute("data-provisional", "")
    expect(page.locator(".board-meta")).to_contain_text("snapshot 1 over 1 vote")
    rating = float(winner_row.locator('[data-cell="rating"]').inner_text())
    assert rating > 1000

    # 3. The next vote moves an online Elo cell again, still in the same document.
    second = _battle_voted(api_client, prompt="What colour is the sky?", winner="model_b")
    moved = second["model_b"]["slug"]
    expected = OnlineRating.objects.get(model__slug=moved).rating
    expect(page.locator(f'tr[data-model="{moved}"] [data-cell="online"]')).to_have_text(
        f"{expected:.1f}", timeout=15_000
    )
    assert page.evaluate("window.__sameDocument") is True
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/arena-board.png", full_page=True)


def test_sort_search_and_hide_retired_survive_a_live_update_and_fit_a_phone(
    browser_page, live_stack, settings
):
    from playwright.sync_api import expect

    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    alpha = model_make(slug="alpha", display_name="Alpha VL", organization="Lab A")
    beta = model_make(slug="beta", display_name="Beta VL", organization="Lab B")
    old = model_make(slug="old", display_name="Old VL", organization="Lab O", status="retired")
    for a, b in [(alpha, beta)] * 6 + [(beta, old)] * 6 + [(alpha, old)] * 6:
        vote_make(a, b)
    snapshot_compute()

    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_stack.base_url + "/leaderboard/")
    rows = page.locator("#arena-board tbody tr[data-model]:visible")
    expect(rows).to_have_count(3)
    expect(page.locator("#arena-board")).to_have_attribute("data-live", "open", timeout=15_000)
    # Nothing sticks out sideways on a phone but the table's own scroll box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.click('button[data-sort="name"]')
    page.click('button[data-sort="name"]')  # descending
    assert [row.get_attribute("data-model") for row in rows.all()] == ["old", "beta", "alpha"]
    page.check("#board-hide-retired")
    expect(rows).to_have_count(2)
    page.fill("#board-search", "lab a")
    expect(rows).to_have_count(1)
    page.fill("#board-search", "")

    vote_make(beta, alpha)
    snapshot_compute()  # publishes: the fragment is swapped in
    expect(page.locator(".board-meta")).to_contain_text("snapshot 2", timeout=15_000)
    assert [row.get_attribute("data-model") for row in rows.all()] == ["beta", "alpha"]
    expect(page.locator('th[aria-sort="descending"] button[data-sort="name"]')).to_have_count(1)
