"""The General-Level board in Chromium: it renders, changes live on a new import, and explains a model."""

from __future__ import annotations

import os

import pytest

from leaderboard.boards.general_level.services import general_level_import
from tests.factories import workbook_bytes

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

HEADER: list[object] = ["Task", "Metrics", "SoTA Performance", "Alpha", "Beta"]


def _sheets(beta_vqa: float) -> dict[str, list[list[object]]]:
    return {
        "Image-Comprehension": [HEADER, ["VQA", "ACC", 50, 60, beta_vqa]],
        "Image-Generation": [HEADER, ["T2I", "ACC", 30, 35, None]],
        "NLP": [HEADER, ["QA", "ACC", 60, 70, None]],
    }


def test_board_updates_live_and_explains_a_model(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    general_level_import(data=workbook_bytes(_sheets(beta_vqa=40)), filename="first.xlsx")

    page.goto(live_stack.base_url + "/leaderboard/general-level/")
    board = page.locator("#gl-board")
    level3 = page.locator("#board-level-3")
    expect(level3.locator('tr[data-model="alpha"] td[data-level="L3"]')).to_have_text("11.88")
    expect(level3.locator('tr[data-model="beta"]')).to_have_count(0)
    beta_badge = page.locator('#board-overall tr[data-model="beta"] .gl-badge')
    expect(beta_badge).to_have_text("Level 2")
    expect(board).to_have_attribute("data-live", "open", timeout=15_000)

    # A marker on the window survives only if the page is not reloaded.
    page.evaluate("window.__sameDocument = true")
    general_level_import(data=workbook_bytes(_sheets(beta_vqa=55)), filename="second.xlsx")

    # Beta now beats the VQA SoTA: image Level-3 (55 + 0)/2 = 27.50, overall over four modalities 6.88.
    expect(level3.locator('tr[data-model="beta"] td[data-level="L3"]')).to_have_text("6.88", timeout=15_000)
    expect(beta_badge).to_have_text("Level 3")
    assert page.evaluate("window.__sameDocument") is True

    page.click('#board-overall tr[data-model="beta"] a')
    expect(page).to_have_url(live_stack.base_url + "/leaderboard/general-level/beta/")
    expect(page.locator("h1")).to_contain_text("Beta")
    expect(page.locator("#placed-title")).to_have_text("Placed at Level 3")
    image = page.locator("#modality-image")
    expect(image.locator('tr[data-step="S_C"]')).to_contain_text("(1/1)·(55.00) = 55.00")
    expect(image.locator('tr[data-step="L3"]')).to_contain_text("(55.00 + 0.00)/2 = 27.50")
    expect(page.locator('#overall tr[data-step="L3"]')).to_contain_text(
        "(27.50 + 0.00 + 0.00 + 0.00)/4 = 6.88"
    )
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/general-level-model.png", full_page=True)
