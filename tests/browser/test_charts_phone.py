"""The charts page on a phone, in Chromium: heatmap labels that never run together, every chart inside
the screen's width, model names linked to their pages, and the style-control switch."""

from __future__ import annotations

from typing import Any

import pytest

from arena.models import Model
from leaderboard.boards.arena.services import snapshot_compute
from tests.browser.axe import axe_violations
from tests.factories import model_make, vote_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

NAMES = (
    "Qwen2-VL 72B Instruct",
    "LLaVA OneVision 7B",
    "Idefics3 8B Llama3",
    "InternVL2.5 26B",
    "Pixtral 12B",
    "MiniCPM-V 2.6",
    "Phi-3.5 Vision",
    "Molmo 7B-D",
    "PaliGemma 2 10B",
    "Llama 3.2 11B Vision",
    "DeepSeek-VL2 Small",
    "Aria 25B MoE",
)
HEATMAPS = ("win_rate", "predicted_win_rate", "battle_counts")


def _arena(count: int) -> list[Model]:
    """`count` models, each better than the next, with uneven records so the cells differ."""
    models = [model_make(slug=f"vlm-{i:02d}", display_name=name) for i, name in enumerate(NAMES[:count])]
    for i, better in enumerate(models):
        for j in range(i + 1, len(models)):
            worse = models[j]
            wins = 3 + (i + j) % 4
            for k in range(wins + 2):
                vote_make(better, worse, "model_a" if k < wins else "model_b")
    snapshot_compute()
    return models


def _open(page: Any, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(url)
    # A chart is drawn as it nears the viewport: bring each one there.
    for box in page.locator("[data-figure]").all():
        box.scroll_into_view_if_needed()
        page.wait_for_selector(
            f"[data-figure='{box.get_attribute('data-figure')}'][data-drawn]", timeout=20_000
        )


# The rendered text boxes of one chart (tick labels, cell numbers, colour bar, notes), and which of
# them overlap: two boxes that share more than half a pixel each way.
TEXT_BOXES = """box => {
  const shown = t => t.textContent.trim() && getComputedStyle(t).display !== 'none'
    && t.getAttribute('opacity') !== '0';
  const boxes = Array.from(box.querySelectorAll('svg text')).filter(shown).map(t => {
    const r = t.getBoundingClientRect();
    const cell = !!t.closest('.textpoint, .hm');
    return { text: t.textContent, cell, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  }).filter(r => r.right > r.left && r.bottom > r.top);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (x > 0.5 && y > 0.5) overlaps.push(`${a.text} / ${b.text}`);
  }
  const svg = box.querySelector('svg.main-svg').getBoundingClientRect();
  return { boxes, overlaps, left: svg.left, right: svg.right };
}"""


@pytest.mark.parametrize("count", [4, 12])
def test_on_a_phone_heatmap_labels_never_overlap_and_every_chart_fits_the_screen(
    browser_page, live_stack, count
):
    _arena(count)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390)
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "nothing sticks out sideways"
    for key in ("ratings", "history", *HEATMAPS):
        found = page.locator(f"[data-figure='{key}']").evaluate(TEXT_BOXES)
        assert found["left"] >= 0 and found["right"] <= width + 0.5, (key, found["left"], found["right"])
        assert found["overlaps"] == [], (key, found["overlaps"])
        if key in HEATMAPS:
            ticks = [text for text in found["boxes"] if not text["cell"]]
            assert len(ticks) >= 2 * min(count, 4), "the axes carry the model names"
    win_rate = page.locator("[data-figure='win_rate']")
    cells = [text for text in win_rate.evaluate(TEXT_BOXES)["boxes"] if text["cell"]]
    if count == 4:
        # Few models: the cells are big enough for their numbers, and they are written in.
        assert len(cells) == 4 * 3 and all(cell["text"].endswith("%") for cell in cells), cells
    else:
        # Too many for a phone: the best-rated that fit, and the chart says so and where all of them are.
        shown = int(win_rate.get_attribute("data-shown"))
        assert 3 <= shown < count
        assert f"best-rated of {count} models" in win_rate.get_attribute("aria-label")
        assert f"The {shown} best-rated of {count} models." in win_rate.inner_text()
        table = page.locator("[data-figure='win_rate'] ~ details tbody tr")
        assert table.count() == count, "the table under the chart lists every model"


def test_the_charts_refit_when_the_phone_turns(browser_page, live_stack):
    _arena(12)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390)
    box = page.locator("[data-figure='win_rate']")
    upright = int(box.get_attribute("data-shown"))
    page.set_viewport_size({"width": 844, "height": 390})
    page.wait_for_function(
        "shown => Number(document.querySelector(\"[data-figure='win_rate']\").dataset.shown) > shown",
        arg=upright,
    )
    found = box.evaluate(TEXT_BOXES)
    assert found["overlaps"] == [] and found["right"] <= 844 + 0.5


def test_model_names_link_to_their_pages_from_the_tables_and_the_points(browser_page, live_stack):
    models = _arena(4)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390)
    for details in page.locator("details.chart-data").all():
        details.locator("summary").click()
        links = {link.get_attribute("href") for link in details.locator("tbody th a").all()}
        assert {f"/models/{model.slug}/" for model in models} >= links and links, links
    table_link = page.locator("details.chart-data tbody th a").first
    target = table_link.get_attribute("href")
    table_link.click()
    page.wait_for_url(f"**{target}")
    # A click on a point of the ratings chart opens that model's page: the best-rated is the first.
    _open(page, live_stack.base_url + "/leaderboard/charts/", 1280)
    point = page.locator("[data-figure='ratings'] .scatterlayer .point").first
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**/models/{models[0].slug}/")


def test_the_charts_say_which_style_control_they_use_and_switch_it(browser_page, live_stack):
    from playwright.sync_api import expect

    _arena(4)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390)
    expect(page.locator("[data-chart-method]")).to_contain_text("Style control is on")
    expect(page.locator('[data-style-switch="on"][aria-current]')).to_have_count(1)
    page.click('[data-style-switch="off"]')
    page.wait_for_url("**style=off**")
    expect(page.locator("[data-chart-method]")).to_contain_text("Style control is off")
    expect(page.locator('[data-style-switch="off"][aria-current]')).to_have_count(1)
    page.wait_for_selector("[data-figure='ratings'][data-drawn]", timeout=20_000)
    # The category tabs and the way back to the board keep the choice.
    for link in page.locator(".category-tabs a, .gl-back a").all():
        assert "style=off" in (link.get_attribute("href") or ""), link.get_attribute("href")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_charts_and_their_opened_tables_have_no_axe_violations(browser_page, live_stack, width, scheme):
    _arena(12)
    page = browser_page
    page.emulate_media(color_scheme=scheme)
    _open(page, live_stack.base_url + "/leaderboard/charts/", width)
    for summary in page.locator("details.chart-data summary").all():
        summary.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") + 1
    assert axe_violations(page) == []
