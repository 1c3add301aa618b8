"""A person's whole battle in Chromium: upload, watch both answers stream, vote, see who they were."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arena.models import Model
from tests.factories import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_battle_upload_stream_vote_reveal(browser_page, live_stack, arena_models, tmp_path: Path):
    from playwright.sync_api import expect

    page = browser_page
    picture = tmp_path / "square.png"
    picture.write_bytes(image_bytes(size=(120, 90), color="orange"))
    names = set(Model.objects.values_list("display_name", flat=True))

    page.goto(live_stack.base_url + "/")
    page.set_input_files("#image-input", str(picture))
    page.fill("#prompt", "What colour is the square?")
    page.click("#send")

    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=120_000)
    for side in ("a", "b"):
        pane = page.locator(f"#pane-{side}")
        expect(pane).to_have_attribute("data-status", "done")
        assert pane.locator(".answer").inner_text().strip()
        assert pane.locator(".model-name").inner_text().strip() == ""
    for name in names:
        assert name not in page.content()
    expect(page.locator("#vote-a")).to_be_enabled()

    page.click("#vote-a")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)
    revealed = {page.locator(f"#pane-{side} .model-name").inner_text().strip() for side in ("a", "b")}
    assert len(revealed) == 2
    assert all(any(name in shown for name in names) for shown in revealed), revealed
    expect(page.locator("#new-round")).to_be_visible()
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/battle-voted.png", full_page=True)
