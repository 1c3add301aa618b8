"""The API docs in Chromium: Swagger UI renders the operations inside the site's page, on a phone too."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_swagger_renders_the_operations_under_the_site_header_at_phone_width(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_stack.base_url + "/api/v1/docs")
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock-summary-path", has_text="/api/v1/leaderboard").count() >= 1
    assert page.evaluate("document.documentElement.lang") == "en"
    # Nothing wider than the phone: the page scrolls down, not sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
