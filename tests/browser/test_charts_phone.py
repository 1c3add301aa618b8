"""The charts page on a phone, in Chromium: heatmap labels that never run together, every chart inside
the screen's width, whether drawn by the server (the pictures shown first) or by Plotly (once someone
reaches for a chart), model names linked to their pages, and the style-control switch."""

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


def _open(page: Any, url: str, width: int, *, plotly: bool = True) -> None:
    """The charts page at `width`; with `plotly`, each chart reached for (hovered) and drawn by Plotly."""
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(url)
    page.wait_for_selector("[data-figure='ratings'] .chart-picture", state="attached")
    if not plotly:
        return
    # Plotly loads once a chart is reached for, and then draws each chart as it nears the viewport.
    page.locator(".chart-card").first.hover()
    for box in page.locator("[data-figure]").all():
        box.scroll_into_view_if_needed()
        page.wait_for_selector(
            f"[data-figure='{box.get_attribute('data-figure')}'][data-drawn]", timeout=20_000
        )


# The rendered text boxes of one chart (tick labels, cell numbers, colour bar, notes), and which of
# them overlap: two boxes that share more than half a pixel each way. A server picture hidden at this
# width (display: none) has no boxes.
TEXT_BOXES = """box => {
  const shown = t => t.textContent.trim() && getComputedStyle(t).display !== 'none'
    && t.getAttribute('opacity') !== '0';
  const texts = Array.from(box.querySelectorAll('svg text, .chart-note'));
  const boxes = texts.filter(shown).map(t => {
    const r = t.getBoundingClientRect();
    const cell = !!t.closest('.textpoint, .hm') || t.classList.contains('cell');
    return { text: t.textContent, cell, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  }).filter(r => r.right > r.left && r.bottom > r.top);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (x > 0.5 && y > 0.5) overlaps.push(`${a.text} / ${b.text}`);
  }
  const drawing = Array.from(box.querySelectorAll('svg.main-svg, svg.chart-svg'))
    .map(svg => svg.getBoundingClientRect()).find(r => r.width > 0);
  const picture = Array.from(box.querySelectorAll('.chart-picture')).find(p => p.offsetWidth > 0);
  return { boxes, overlaps, left: drawing.left, right: drawing.right,
           shown: Number(picture ? picture.dataset.shown : box.dataset.shown),
           label: picture ? picture.getAttribute('aria-label') : box.getAttribute('aria-label') };
}"""


def test_the_page_shows_server_pictures_and_loads_plotly_only_once_a_chart_is_reached_for(
    browser_page, live_stack
):
    models = _arena(4)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 1280, plotly=False)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.Plotly") == "undefined"
    assert page.evaluate(
        "performance.getEntriesByType('resource').every(entry => !entry.name.includes('plotly'))"
    ), "plotly.js is not fetched for a visitor who only looks"
    ratings = page.locator("[data-figure='ratings'] .chart-picture--wide")
    # The best-rated first, each point telling its model and rating as a tooltip.
    tips = ratings.locator(".chart-point title").all_text_contents()
    assert [tip.split(":")[0] for tip in tips] == [model.display_name for model in models]
    page.locator("[data-figure='win_rate']").hover()
    page.wait_for_selector("[data-figure='win_rate'][data-drawn]", timeout=20_000)
    assert page.locator("[data-figure='win_rate'] .chart-picture").count() == 0, (
        "Plotly took the picture's place"
    )
    assert page.locator("[data-figure='win_rate']").get_attribute("role") == "img"


@pytest.mark.parametrize("plotly", [False, True], ids=["pictures", "plotly"])
@pytest.mark.parametrize("count", [4, 12])
def test_on_a_phone_heatmap_labels_never_overlap_and_every_chart_fits_the_screen(
    browser_page, live_stack, count, plotly
):
    _arena(count)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390, plotly=plotly)
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
    found = win_rate.evaluate(TEXT_BOXES)
    cells = [text for text in found["boxes"] if text["cell"]]
    if count == 4:
        # Few models: the cells are big enough for their numbers, and they are written in.
        assert len(cells) == 4 * 3 and all(cell["text"].endswith("%") for cell in cells), cells
    else:
        # Too many for a phone: the best-rated that fit, and the chart says so and where all of them are.
        shown = found["shown"]
        assert 3 <= shown < count
        assert f"best-rated of {count} models" in found["label"]
        assert f"The {shown} best-rated of {count} models." in win_rate.inner_text()
        table = page.locator("[data-figure='win_rate'] ~ details tbody tr")
        assert table.count() == count, "the table under the chart lists every model"


@pytest.mark.parametrize("plotly", [False, True], ids=["pictures", "plotly"])
def test_the_charts_refit_when_the_phone_turns(browser_page, live_stack, plotly):
    _arena(12)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390, plotly=plotly)
    box = page.locator("[data-figure='win_rate']")
    upright = box.evaluate(TEXT_BOXES)["shown"]
    page.set_viewport_size({"width": 844, "height": 390})
    page.wait_for_function(
        f"shown => ({TEXT_BOXES})(document.querySelector(\"[data-figure='win_rate']\")).shown > shown",
        arg=upright,
    )
    found = box.evaluate(TEXT_BOXES)
    assert found["overlaps"] == [] and found["right"] <= 844 + 0.5


def test_model_names_link_to_their_pages_from_the_tables_and_the_points(browser_page, live_stack):
    models = _arena(4)
    page = browser_page
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390, plotly=False)
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
    _open(page, live_stack.base_url + "/leaderboard/charts/", 390, plotly=False)
    expect(page.locator("[data-chart-method]")).to_contain_text("Style control is on")
    expect(page.locator('[data-style-switch="on"][aria-current]')).to_have_count(1)
    page.click('[data-style-switch="off"]')
    page.wait_for_url("**style=off**")
    expect(page.locator("[data-chart-method]")).to_contain_text("Style control is off")
    expect(page.locator('[data-style-switch="off"][aria-current]')).to_have_count(1)
    page.wait_for_selector("[data-figure='ratings'] .chart-picture", state="attached")
    # The category tabs and the way back to the board keep the choice.
    for link in page.locator(".category-tabs a, .gl-back a").all():
        assert "style=off" in (link.get_attribute("href") or ""), link.get_attribute("href")


@pytest.mark.parametrize("plotly", [False, True], ids=["pictures", "plotly"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_charts_and_their_opened_tables_have_no_axe_violations(
    browser_page, live_stack, width, scheme, plotly
):
    _arena(12)
    page = browser_page
    page.emulate_media(color_scheme=scheme)
    _open(page, live_stack.base_url + "/leaderboard/charts/", width, plotly=plotly)
    for summary in page.locator("details.chart-data summary").all():
        summary.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") + 1
    assert axe_violations(page) == []
