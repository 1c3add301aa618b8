"""The playground in Chromium: a direct chat with a named scripted model, then two side by side and a
vote, stored as a named vote (anony=False)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arena.models import Battle, TurnAttachment, Vote
from tests.factories import image_bytes
from tests.portal.playground.stack import ANSWER, PlaygroundStack, playground_stack, scripted_pair_register

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

__all__ = ["playground_stack"]


def test_playground_direct_chat_then_side_by_side_vote(
    browser_page, playground_stack: PlaygroundStack, tmp_path: Path
):
    from playwright.sync_api import expect

    page = browser_page
    picture = tmp_path / "square.png"
    picture.write_bytes(image_bytes(size=(120, 90), color="orange"))
    model_a, model_b = scripted_pair_register(tokens_per_s=20)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(playground_stack.base_url + "/playground/")
    expect(page.locator(".pg-header a[href='/']").first).to_be_visible(timeout=60_000)
    expect(page.locator("#chat-model input")).to_have_value(model_a.display_name + " (Tests)", timeout=30_000)
    page.locator("#chat-image input[type=file]").set_input_files(str(picture))
    expect(page.locator("#chat-image img")).to_be_visible(timeout=30_000)
    page.locator("#chat-prompt textarea").fill("Hello, who are you?")
    page.locator("#chat-send").click()
    expect(page.locator("#chat-box")).to_contain_text(ANSWER.split()[-1], timeout=60_000)
    expect(page.locator("#chat-box")).to_contain_text("Hello, who are you?")
    expect(page.locator("#chat-box img")).to_be_visible()

    page.get_by_role("tab", name="Side by side").click()
    expect(page.locator("#pair-model-b input")).to_have_value(model_b.display_name + " (Tests)")
    page.locator("#pair-prompt textarea").fill("Compare yourselves.")
    page.locator("#pair-send").click()
    expect(page.locator("#vote-a")).to_be_enabled(timeout=60_000)
    for box in ("#pair-box-a", "#pair-box-b"):
        expect(page.locator(box)).to_contain_text(ANSWER.split()[-1])
    page.locator("#vote-a").click()
    expect(page.locator("#pair-status")).to_contain_text("stored as a named vote", timeout=30_000)
    expect(page.locator("#pair-box-a")).to_contain_text(f"A: {model_a.display_name}")

    vote = Vote.objects.select_related("battle").get()
    assert vote.winner == "model_a" and vote.anony is False
    assert vote.battle.mode == Battle.Mode.SIDE_BY_SIDE
    assert (vote.battle.model_a_id, vote.battle.model_b_id) == (model_a.pk, model_b.pk)
    chat = Battle.objects.get(mode=Battle.Mode.DIRECT)
    assert TurnAttachment.objects.get(turn__battle=chat).asset.kind == "image"
    assert not [text for text in problems if "Content Security Policy" in text], problems
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/playground-voted.png", full_page=True)
