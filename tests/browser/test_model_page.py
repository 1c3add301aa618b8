"""A model's page in Chromium: reached from its board row, its ratings, rating-over-time chart and
opponents shown, nothing shifting as it loads, and no axe-core violations at desktop and phone widths,
light and dark."""

from __future__ import annotations

import re

import pytest

from leaderboard.boards.arena.services import snapshot_compute
from tests.browser.axe import axe_violations
from tests.factories import model_make, vote_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# The layout shifts Chromium recorded since the page started loading (Lighthouse's CLS, unweighted).
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(total), 300);
})"""


@pytest.fixture
def rated(settings) -> None:
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    strong = model_make(
        slug="strong",
        display_name="Strong VL",
        organization="Lab S",
        license="mit",
        description="The **strong** one.\n\n## Training\n\n- images\n- text\n\n`code` and [a card](https://example.org).",
        links=[{"label": "Model card", "url": "https://example.org/card"}],
    )
    middle, weak = (model_make(slug=s, display_name=f"{s.title()} VL") for s in ("middle", "weak"))
    for _ in range(6):
        vote_make(strong, middle, categories=["image"])
        vote_make(middle, weak)
        vote_make(strong, weak, "model_b")
    snapshot_compute()
    for _ in range(4):
        vote_make(strong, middle)
    snapshot_compute()


def test_a_model_page_is_reached_from_its_board_row_and_draws_its_rating_over_time(
    browser_page, live_stack, rated
):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(live_stack.base_url + "/leaderboard/")
    page.locator('#arena-board tr[data-model="strong"] a.model-name').click()
    page.wait_for_url(live_stack.base_url + "/models/strong/")
    expect(page.locator("h1")).to_have_text("Strong VL")
    expect(page.locator('[data-fact="organization"]')).to_have_text("Lab S")
    expect(page.locator(".model-description strong")).to_have_text("strong")
    expect(page.locator(".model-links a")).to_have_attribute("href", "https://example.org/card")

    ratings = page.locator(".model-ratings tbody tr")
    expect(ratings).to_have_count(2)  # overall and image
    expect(page.locator('tr[data-category="overall"] [data-cell="plain-rating"]')).to_have_text(
        re.compile(r"^\d+$")
    )

    chart = page.locator('[data-chart="history"] svg')
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["height"] >= 150 and box["width"] > 600
    # Two snapshots rate it: a stroked line between two points, each with its dot.
    line = page.locator(".model-chart__line")
    assert line.evaluate("(path) => path.getTotalLength()") > 100
    assert line.evaluate("(path) => getComputedStyle(path).stroke") not in ("none", "")
    expect(page.locator(".model-chart__marker")).to_have_count(2)
    expect(page.locator(".model-chart__ticks li").first).to_be_visible()
    assert page.evaluate(LAYOUT_SHIFT) < 0.01

    opponents = page.locator(".model-opponents tbody tr")
    expect(opponents).to_have_count(2)
    page.locator('tr[data-opponent="middle"] a').click()
    page.wait_for_url(live_stack.base_url + "/models/middle/")
    expect(page.locator("h1")).to_have_text("Middle VL")


def test_a_model_page_has_no_axe_violations_at_desktop_and_phone_widths_light_and_dark(
    browser_page, live_stack, rated
):
    page = browser_page
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_stack.base_url + "/models/strong/")
            page.wait_for_selector('[data-chart="history"] svg')
            # The numbers behind the chart too, which start folded away.
            page.locator(".model-history summary").click()
            page.wait_for_selector(".model-history table", state="visible")
            assert axe_violations(page) == [], (scheme, width)
