"""A battle's own address, /battles/<id>/, in Chromium: reload, Back and Forward bring it back as it
stands; before the vote it is its creator's alone, and after the vote anyone with the link sees the
conversation and the reveal.

The only active models are the live stack worker's scripted ones (the database is emptied after each
test), so every battle is drawn between them and streams at the pace a test sets.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from arena.models import Response
from arena.services import model_register
from tests.browser.axe import axe_violations
from tests.conftest import SCRIPTED_SLUGS, LiveStack

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = " ".join(f"word{i}" for i in range(24))
BATTLE_URL = re.compile(r"/battles/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/$")
# Long enough to wrap in one pane's header, and nothing in the other's.
ORGANIZATIONS = {
    SCRIPTED_SLUGS[0]: "The Long-Named Collective for Open Multimodal Research and Evaluation",
    SCRIPTED_SLUGS[1]: "",
}


def _scripted(*, tokens_per_s: float | None) -> dict[str, str]:
    """The two scripted models, answering WORDS; their display names by slug."""
    config: dict[str, object] = {"text": WORDS}
    if tokens_per_s:
        config["tokens_per_s"] = tokens_per_s
    names = {}
    for slug in SCRIPTED_SLUGS:
        name = f"Scripted {slug[-1].upper()}"
        model_register(
            slug=slug,
            display_name=name,
            organization=ORGANIZATIONS[slug],
            license="apache-2.0",
            adapter_kind="scripted",
            adapter_config=config,
        )
        names[slug] = name
    return names


def _start(page, live_stack: LiveStack, prompt: str) -> str:
    """Starts a battle from the empty page; the battle's id, read from the address it moved to."""
    from playwright.sync_api import expect

    page.goto(live_stack.base_url + "/")
    page.fill("#prompt", prompt)
    page.click("#send")
    expect(page).to_have_url(BATTLE_URL)
    match = BATTLE_URL.search(page.url)
    assert match
    return match.group(1)


def _revealed(page) -> list[str]:
    return [page.locator(f"#pane-{side} .model-name").inner_text().strip() for side in ("a", "b")]


def _header_heights(page) -> list[float]:
    return [page.locator(f"#pane-{side} .pane-head").bounding_box()["height"] for side in ("a", "b")]


def _assert_revealed(page, names: dict[str, str], prompt: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)
    for side in ("a", "b"):
        pane = page.locator(f"#pane-{side}")
        expect(pane.locator(".turn-prompt")).to_have_text(prompt)
        expect(pane.locator(".answer")).to_have_text(WORDS)
        link = pane.locator(".model-name a")
        expect(link).to_have_text(re.compile("^(" + "|".join(names.values()) + ")$"))
        slug = next(s for s, n in names.items() if n == link.inner_text())
        expect(link).to_have_attribute("href", f"/models/{slug}/")
    assert sorted(_revealed(page)) == sorted(names.values())
    heights = _header_heights(page)
    assert heights[0] == heights[1], heights
    for button in page.locator(".btn--vote").all():
        expect(button).to_be_disabled()


def test_a_reload_mid_battle_brings_back_the_prompt_and_the_answers_still_streaming(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    # 24 words at 2 a second: about 12 s an answer, far longer than a reload.
    _scripted(tokens_per_s=2)
    battle_id = _start(page, live_stack, "Count for me, slowly.")
    expect(page.locator("#pane-a .answer")).to_contain_text("word1", timeout=30_000)

    page.reload()
    expect(page).to_have_url(live_stack.base_url + f"/battles/{battle_id}/")
    for side in ("a", "b"):
        pane = page.locator(f"#pane-{side}")
        expect(pane.locator(".turn-prompt")).to_have_text("Count for me, slowly.")
        # What was streamed before the reload is back at once (the socket's sync), and more follows.
        expect(pane.locator(".answer")).to_contain_text("word1")
        expect(pane).to_have_attribute("data-status", "streaming")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "generating")
    expect(page.locator("#abandon")).to_be_visible()

    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    for side in ("a", "b"):
        expect(page.locator(f"#pane-{side} .answer")).to_have_text(WORDS)
        stored = Response.objects.get(turn__battle_id=battle_id, side=side)
        assert stored.status == "done" and stored.text == WORDS
    # Still the creator's battle after the reload: the vote is there to cast.
    expect(page.locator("#vote-a")).to_be_enabled()
    page.click("#vote-b")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)
    expect(page.locator("#new-round")).to_be_visible()


def test_back_and_forward_after_the_reveal_bring_the_battle_and_the_empty_page_back(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    names = _scripted(tokens_per_s=None)
    prompt = "Which is better?"
    battle_id = _start(page, live_stack, prompt)
    battle_url = live_stack.base_url + f"/battles/{battle_id}/"
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    page.click("#vote-a")
    _assert_revealed(page, names, prompt)
    expect(page.locator("#vote-a")).to_have_attribute("aria-pressed", "true")

    page.click("#new-round")
    expect(page).to_have_url(live_stack.base_url + "/")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "idle")

    page.go_back()
    expect(page).to_have_url(battle_url)
    _assert_revealed(page, names, prompt)
    expect(page.locator("#vote-a")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#new-round")).to_be_visible()

    page.go_forward()
    expect(page).to_have_url(live_stack.base_url + "/")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "idle")
    expect(page.locator("#prompt")).to_be_enabled()
    expect(page.locator("#prompt")).to_have_value("")
    expect(page.locator("#drop-zone")).to_be_visible()
    for side in ("a", "b"):
        expect(page.locator(f"#pane-{side} .model-name")).to_have_text("")

    # Leaving the page for another and coming Back loads the battle's address afresh.
    page.go_back()
    expect(page).to_have_url(battle_url)
    page.get_by_role("link", name="Leaderboard").click()
    expect(page).to_have_url(live_stack.base_url + "/leaderboard/")
    page.go_back()
    expect(page).to_have_url(battle_url)
    _assert_revealed(page, names, prompt)


def test_a_shared_link_after_the_vote_shows_another_browser_the_conversation_and_the_reveal(
    browser_page, live_stack
):
    from playwright.sync_api import expect

    page = browser_page
    names = _scripted(tokens_per_s=None)
    prompt = "Share this one."
    battle_id = _start(page, live_stack, prompt)
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    page.click("#vote-tie")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)

    other = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        stranger = other.new_page()
        stranger.goto(live_stack.base_url + f"/battles/{battle_id}/")
        _assert_revealed(stranger, names, prompt)
        assert sorted(_revealed(stranger)) == sorted(_revealed(page))
        expect(stranger.locator("#vote-label")).to_have_text(
            "The person who started this battle voted: a tie."
        )
        expect(stranger.locator("#vote-tie")).to_have_attribute("aria-pressed", "true")
        expect(stranger.locator("#abandon")).to_be_hidden()
        expect(stranger.locator("#prompt")).to_be_disabled()
        for scheme in ("light", "dark"):
            for width in (1280, 390):
                stranger.emulate_media(color_scheme=scheme)
                stranger.set_viewport_size({"width": width, "height": 900})
                assert axe_violations(stranger) == [], (scheme, width)
        # The stranger can start a battle of their own from here.
        stranger.click("#new-round")
        expect(stranger).to_have_url(live_stack.base_url + "/")
        expect(stranger.locator("#prompt")).to_be_enabled()
    finally:
        other.close()


def test_before_the_vote_another_browser_finds_no_such_battle(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    _scripted(tokens_per_s=4)
    prompt = "Not yours to judge."
    battle_id = _start(page, live_stack, prompt)

    other = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        stranger = other.new_page()
        # Before the vote the battle is its creator's session's alone: anyone else hears what an
        # unknown battle answers, so an id tells nothing about whether it exists.
        response = stranger.goto(live_stack.base_url + f"/battles/{battle_id}/")
        assert response is not None and response.status == 404
        expect(stranger.locator("body")).to_contain_text("Page not found")
        expect(stranger.get_by_text(prompt)).to_have_count(0)

        answers = stranger.evaluate(
            """async (id) => {
              const session = await (await fetch("/api/v1/session")).json();
              const read = await fetch(`/api/v1/battles/${id}`);
              const vote = await fetch(`/api/v1/battles/${id}/vote`, {
                method: "POST",
                headers: { "Content-Type": "application/json", "X-CSRFToken": session.csrf_token },
                body: JSON.stringify({ winner: "model_a" }),
              });
              return [[read.status, (await read.json()).detail], [vote.status, (await vote.json()).detail]];
            }""",
            battle_id,
        )
        assert answers == [[404, "There is no such battle."], [404, "There is no such battle."]]
    finally:
        other.close()

    # The creator's battle goes on: the vote is theirs to cast.
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    for side in ("a", "b"):
        expect(page.locator(f"#pane-{side} .answer")).to_have_text(WORDS)
    page.click("#vote-a")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)


def test_an_unknown_battle_id_answers_the_sites_not_found_page(live_stack):
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as client:
        missing = client.get(f"/battles/{uuid.uuid4()}/")
        assert missing.status_code == 404
        assert "Page not found" in missing.text
        assert client.get("/battles/not-a-battle/").status_code == 404
