"""A live board's refetches in Chromium: an unchanged board is revalidated (304) through the browser's
cache, so no request shows as failed, and a changed one is swapped in."""

from __future__ import annotations

import pytest

from leaderboard.boards.general_level.services import general_level_import
from tests.browser.test_socket_reconnect import WRAP_WEBSOCKET, _workbook

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_refetching_an_unchanged_board_logs_no_failed_request(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
    log_start = live_stack.web_log.stat().st_size
    general_level_import(data=_workbook(beta_vqa=55), filename="first.xlsx")
    page.add_init_script(WRAP_WEBSOCKET)
    page.goto(live_stack.base_url + "/leaderboard/general-level/")
    board = page.locator("#gl-board")
    beta_l3 = page.locator('#board-level-3 tr[data-model="beta"] td[data-level="L3"]')
    expect(board).to_have_attribute("data-live", "open", timeout=15_000)
    expect(board).not_to_have_attribute("aria-busy", "true")

    for _ in range(2):  # each reconnect refetches a board that has not changed
        opened = page.evaluate("window.__opened")
        page.evaluate("window.__sockets[window.__sockets.length - 1].close()")
        page.wait_for_function(f"() => window.__opened > {opened}", timeout=15_000)
        expect(board).not_to_have_attribute("aria-busy", "true")
    expect(beta_l3).to_have_text("6.88")

    general_level_import(data=_workbook(beta_vqa=58), filename="second.xlsx")
    expect(beta_l3).to_have_text("7.25", timeout=15_000)
    assert failed == []
    with live_stack.web_log.open("rb") as log:
        log.seek(log_start)
        answered = [line for line in log.read().decode().splitlines() if "general-level/fragment/" in line]
    assert any(" 304 " in line for line in answered), answered  # the unchanged board cost a 304
