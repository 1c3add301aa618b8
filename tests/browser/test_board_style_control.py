"""The arena board in Chromium: the style-control switch reranks it, provisional models stand apart."""

from __future__ import annotations

import pytest

from leaderboard.boards.arena.services import snapshot_compute
from tests.factories import length_biased_votes_make, model_make, vote_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _ranks(page) -> dict[str, str]:
    rows = page.locator("#arena-board tbody tr[data-model]")
    return {
        row.get_attribute("data-model"): row.locator(".rank-value").inner_text().strip() for row in rows.all()
    }


def test_the_style_control_switch_reranks_the_board_and_provisional_models_show_apart(
    browser_page, live_stack, settings
):
    from playwright.sync_api import expect

    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    verbose = model_make(slug="verbose", display_name="Verbose VL")
    middle = model_make(slug="middle", display_name="Middle VL")
    terse = model_make(slug="terse", display_name="Terse VL")
    newbie = model_make(slug="newbie", display_name="Newbie VL")
    # Equal models where the longer answer wins; the server's LEADERBOARD_MIN_VOTES is its default, 100.
    length_biased_votes_make({verbose: 0.85, middle: 0.5, terse: 0.15}, 450, seed=3)
    for _ in range(3):
        vote_make(newbie, middle)
    snapshot_compute()

    page = browser_page
    page.goto(live_stack.base_url + "/leaderboard/")
    expect(page.locator("[data-board-method]")).to_contain_text("Style control is on")
    expect(page.locator('[data-style-switch="on"][aria-current]')).to_have_count(1)
    # Style control on (the default): length explained away, the three share rank 1.
    styled = _ranks(page)
    assert [styled[slug] for slug in ("verbose", "middle", "terse")] == ["1", "1", "1"]
    provisional = page.locator('#arena-board tr[data-model="newbie"]')
    expect(provisional).to_have_attribute("data-provisional", "")
    expect(provisional.locator(".rank-value")).to_have_text("—")
    expect(page.locator("[data-provisional-break]")).to_contain_text("Provisional (fewer than 100 votes)")
    models = page.locator("#arena-board tbody tr[data-model]")
    assert models.last.get_attribute("data-model") == "newbie", "listed after the ranked models"

    page.click('[data-style-switch="off"]')
    expect(page.locator("[data-board-method]")).to_contain_text("Style control is off")
    plain = _ranks(page)
    assert plain["verbose"] == "1" and int(plain["terse"]) > 1, plain
    assert page.locator("#arena-board tbody tr[data-model]").first.get_attribute("data-model") == "verbose"
    expect(page.locator('#arena-board tr[data-model="newbie"] .rank-value')).to_have_text("—")
    # The live fragment keeps the choice: its URL carries style=off.
    assert "style=off" in (page.locator("#arena-board").get_attribute("data-fragment-url") or "")
