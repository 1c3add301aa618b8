"""The first-visit data notice, in Chromium: shown until accepted once, then never again; reachable from
the keyboard; covering no control; and moving nothing on the page, shown or not."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# Every layout shift from the page's first paint on (buffered: the ones before this ran too), with how far
# each moved element went up or down.
SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const moves = entry.sources.map((s) => Math.abs(s.previousRect.top - s.currentRect.top));
    window.__shifts.push({ value: entry.value, moves });
  }
}).observe({ type: "layout-shift", buffered: true });
"""


def _notice(page: Any) -> Any:
    return page.get_by_role("region", name="Your data")


def _shifted_by(page: Any, height: float) -> float:
    """The layout shift of what moved by `height` px: all that follows the notice, were it shown and then
    hidden. (Pages have small shifts of their own, a status line appearing, which are none of its doing.)"""
    # Two frames, so that every shift of the first paint has been reported.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    shifts = page.evaluate("window.__shifts")
    return sum(shift["value"] for shift in shifts if any(abs(move - height) <= 2 for move in shift["moves"]))


def test_the_notice_shows_until_accepted_once_and_never_again(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    page.add_init_script(SHIFTS)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_stack.base_url + "/")
    notice = _notice(page)
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("stored")
    expect(notice).to_contain_text("anonymised exports")
    expect(notice).to_contain_text("personal data")
    height = notice.bounding_box()["height"]
    assert height > 0 and _shifted_by(page, height) == 0
    notice.get_by_role("button", name="I understand").click()
    expect(notice).to_be_hidden()

    # Hidden before the first paint: it never showed and then went.
    for path in ("/leaderboard/", "/leaderboard/general-level/", "/"):
        page.goto(live_stack.base_url + path)
        page.wait_for_load_state("load")
        expect(_notice(page)).to_be_hidden()
        assert _shifted_by(page, height) == 0, path
    page.reload()
    expect(_notice(page)).to_be_hidden()


def test_the_notice_button_is_reached_and_pressed_from_the_keyboard(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(live_stack.base_url + "/leaderboard/")
    button = _notice(page).get_by_role("button", name="I understand")
    for _ in range(20):
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the notice's button")
    page.keyboard.press("Enter")
    expect(_notice(page)).to_be_hidden()
    # The keyboard carries on from the page's content, not from the top of the document.
    assert page.evaluate("document.activeElement.id") == "content"
    page.goto(live_stack.base_url + "/")
    expect(_notice(page)).to_be_hidden()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_notice_covers_none_of_the_composer(browser_page, live_stack, width):
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_stack.base_url + "/")
    expect(_notice(page)).to_be_visible()
    for selector in ("#send", "#prompt"):
        control = page.locator(selector)
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        on_top = page.evaluate(
            "([x, y, id]) => document.querySelector(id).contains(document.elementFromPoint(x, y))",
            [*centre, selector],
        )
        assert on_top, f"{selector} is covered at {width} px"
    page.fill("#prompt", "What is in this picture?")
    page.locator("#send").click(trial=True)  # clickable as it is, the notice still there
