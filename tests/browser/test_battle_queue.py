"""Waiting for a worker, leaving a battle, and the page's small promises, in Chromium.

This module runs a web server and a worker of its own: the page is told a short ARENA_SLOW_NOTICE_S,
and one worker slot (concurrency 1) serves the only two models, scripted, so that an answer waits
behind another as long as a test needs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from arena.models import Battle, Response
from arena.services import model_register
from tests.battles import session_client
from tests.browser.axe import axe_violations
from tests.conftest import LiveStack, _database_url
from tests.processes import environment, processes_running

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

QUEUE_SLUGS = ("queue-a", "queue-b")
SLOW_NOTICE_S = 2
BATTLE_URL = re.compile(r"/battles/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/$")
# Set the moment the page shows "Reconnecting…" while it also says both answers are in (see
# test_reconnecting_is_hidden_once_both_answers_are_done), and whether the banner ever showed.
WATCH_CONNECTION = """
(() => {
  window.__bannerSeen = false;
  window.__bannerAfterDone = false;
  const check = () => {
    const banner = document.getElementById("connection");
    if (!banner) return;
    const shown = !banner.hidden;
    if (shown) window.__bannerSeen = true;
    const done = ["ready", "failed", "voted"].includes(document.body.dataset.battleState);
    if (shown && done) window.__bannerAfterDone = true;
  };
  const watched = ["hidden", "data-battle-state"];
  new MutationObserver(check).observe(document, { subtree: true, attributeFilter: watched });
})();
"""
# The page's sockets, as in test_socket_reconnect.py: __refuse fails new ones, __dropAfterDelta closes
# the current one right after its first answer delta.
WRAP_WEBSOCKET = """
(() => {
  const Native = window.WebSocket;
  Object.assign(window, { __refuse: false, __dropAfterDelta: false, __refused: 0 });
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      if (window.__refuse) {
        window.__refused++;
        throw new DOMException("refused by the test", "SyntaxError");
      }
      super(url, protocols);
      this.addEventListener("message", (event) => {
        if (!window.__dropAfterDelta || JSON.parse(event.data).type !== "delta") return;
        window.__dropAfterDelta = false;
        window.__refuse = true;
        this.close();
      });
    }
  };
})();
"""


@pytest.fixture(scope="module")
def queue_site(live_stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a web server with a short slow notice, and one worker slot for QUEUE_SLUGS."""
    from django.conf import settings

    env = environment(
        DATABASE_URL=_database_url(),
        ARENA_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        ARENA_SLOW_NOTICE_S=str(SLOW_NOTICE_S),
    )
    with processes_running(env=env, logs=tmp_path_factory.mktemp("queue-site")) as processes:
        base_url = processes.web("queue-web")
        processes.worker("queue-worker", models=",".join(QUEUE_SLUGS), concurrency=1)
        yield base_url


def _scripted(*, words: int, tokens_per_s: float | None, paragraphs: bool = False) -> str:
    """Both models answer `words` words at that pace (a paragraph each, if asked); the text."""
    text = ("\n\n" if paragraphs else " ").join(f"word{i}" for i in range(words))
    config: dict[str, object] = {"text": text}
    if tokens_per_s:
        config["tokens_per_s"] = tokens_per_s
    for slug in QUEUE_SLUGS:
        model_register(slug=slug, display_name=slug, adapter_kind="scripted", adapter_config=config)
    return text


def _battle_started(client: httpx.Client, prompt: str) -> str:
    response = client.post("/api/v1/battles", data={"prompt": prompt})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _answers_end(battle_id: str, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    ended = (Response.Status.DONE, Response.Status.FAILED)
    while Response.objects.filter(turn__battle_id=battle_id).exclude(status__in=ended).exists():
        assert time.monotonic() < deadline, "the battle's answers did not end"
        time.sleep(0.2)


def _send(page, prompt: str) -> str:
    from playwright.sync_api import expect

    page.fill("#prompt", prompt)
    page.click("#send")
    expect(page).to_have_url(BATTLE_URL)
    match = BATTLE_URL.search(page.url)
    assert match
    return match.group(1)


def test_a_side_waiting_for_a_worker_shows_its_place_then_the_slow_notice_and_a_new_pair(
    browser_page, queue_site
):
    from playwright.sync_api import expect

    page = browser_page
    # A first battle gives the models a history of answer durations, which the estimates come from.
    _scripted(words=4, tokens_per_s=None)
    client = session_client(queue_site)
    _answers_end(_battle_started(client, "Warm up."))
    # Then 8 words at 1 a second: the one worker slot is busy for about 16 s with this battle.
    _scripted(words=8, tokens_per_s=1)
    busy = _battle_started(client, "Keep the worker busy.")

    page.goto(queue_site + "/")
    battle_id = _send(page, "Am I waiting?")
    for side in ("a", "b"):
        pane = page.locator(f"#pane-{side}")
        expect(pane.locator(".turn-place")).to_have_text(
            re.compile(r"^Waiting for a free worker — (next|\d+(st|nd|rd|th)) in line$")
        )
        expect(pane.locator(".turn-eta")).to_have_text(
            re.compile(r"^(It should start in a few seconds|About \d+ (seconds|minutes?) until it starts)\.$")
        )
        notice = pane.locator(".turn-slow")
        expect(notice).to_be_visible(timeout=SLOW_NOTICE_S * 1000 + 10_000)
        expect(notice).to_contain_text("This model is slow to start.")
        expect(notice.get_by_role("button", name="Try a new pair")).to_be_visible()

    assert axe_violations(page) == []
    page.locator("#pane-b .turn-slow").get_by_role("button", name="Try a new pair").click()
    expect(page).not_to_have_url(re.compile(battle_id))
    expect(page).to_have_url(BATTLE_URL)
    for side in ("a", "b"):
        expect(page.locator(f"#pane-{side} .turn-prompt")).to_have_text("Am I waiting?")
    # The new pair replaced the first battle, whose answers were stopped.
    first = Battle.objects.get(pk=battle_id)
    assert first.abandoned_at is not None
    assert set(Response.objects.filter(turn__battle=first).values_list("status", flat=True)) == {"failed"}
    page.get_by_role("button", name="Abandon battle").click()
    expect(page).to_have_url(queue_site + "/")
    # The next test finds the worker slot free.
    assert client.post(f"/api/v1/battles/{busy}/abandon").status_code == 200
    client.close()


def test_abandoning_a_battle_stops_its_answers_frees_the_worker_and_starts_a_new_round(
    browser_page, queue_site
):
    from playwright.sync_api import expect

    from arena.answers import ABANDONED_FAILURE

    page = browser_page
    # 24 words at 0.5 a second: each answer would hold the one worker slot for 48 s.
    full = _scripted(words=24, tokens_per_s=0.5)
    page.goto(queue_site + "/")
    battle_id = _send(page, "Take your time.")
    expect(page.locator(".pane .answer", has_text="word0")).to_have_count(1, timeout=30_000)

    abandon = page.get_by_role("button", name="Abandon battle")
    expect(abandon).to_have_accessible_description(re.compile("Stops both answers"))
    abandon.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(queue_site + "/")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "idle")
    expect(page.locator("#prompt")).to_be_enabled()
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#drop-zone")).to_be_visible()

    battle = Battle.objects.get(pk=battle_id)
    assert battle.abandoned_at is not None
    abandoned = {r.side: r for r in Response.objects.filter(turn__battle=battle)}
    assert {r.status for r in abandoned.values()} == {"failed"}
    assert {r.error for r in abandoned.values()} == {ABANDONED_FAILURE}

    # A new round, served by the same single worker slot.
    _scripted(words=3, tokens_per_s=None)
    new_id = _send(page, "Something quick.")
    assert new_id != battle_id
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    started = Response.objects.filter(turn__battle_id=new_id).order_by("started_at").first()
    streamed = next(r for r in abandoned.values() if r.started_at is not None)
    assert started is not None and started.started_at is not None
    # The slot took the new answers long before the abandoned one could have finished: it stopped.
    assert (started.started_at - streamed.started_at).total_seconds() < 24 / 0.5
    for response in Response.objects.filter(turn__battle=battle):
        assert response.status == "failed" and response.text != full

    # Back shows the abandoned battle as it was left.
    page.go_back()
    expect(page).to_have_url(queue_site + "/")
    page.go_back()
    expect(page).to_have_url(queue_site + f"/battles/{battle_id}/")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "abandoned")
    expect(page.locator("#vote-label")).to_have_text("This battle was abandoned before a vote.")
    expect(page.locator("#pane-a .turn-error")).to_contain_text(ABANDONED_FAILURE)
    expect(page.locator("#new-round")).to_be_visible()
    expect(page.get_by_role("button", name="Abandon battle")).to_be_hidden()


def test_reconnecting_is_hidden_once_both_answers_are_done(browser_page, queue_site):
    from playwright.sync_api import expect

    page = browser_page
    # 12 words at 3 a second, one answer after the other: about 8 s for the battle.
    _scripted(words=12, tokens_per_s=3)
    page.add_init_script(WRAP_WEBSOCKET)
    page.add_init_script(WATCH_CONNECTION)
    page.goto(queue_site + "/")
    page.evaluate("window.__dropAfterDelta = true")
    _send(page, "Keep going without me.")

    # The socket is gone and stays refused: the page catches up by reading the battle at each retry.
    expect(page.locator("#connection")).to_be_visible(timeout=30_000)
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=90_000)
    expect(page.locator("#connection")).to_be_hidden()
    assert page.evaluate("window.__bannerSeen") is True
    assert page.evaluate("window.__bannerAfterDone") is False
    refused = page.evaluate("window.__refused")
    page.wait_for_timeout(3_000)
    assert page.evaluate("window.__refused") == refused, "a finished battle stops reconnecting"
    expect(page.locator("#connection")).to_be_hidden()


def test_a_file_that_is_not_an_image_is_refused_before_any_upload(browser_page, queue_site):
    from playwright.sync_api import expect

    page = browser_page
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    page.goto(queue_site + "/")
    page.set_input_files(
        "#image-input",
        files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"just some text, not a PNG\n"}],
    )
    error = page.locator("#form-error")
    expect(error).to_have_text(re.compile(r"^“x\.png” can’t be read as an image"))
    expect(page.locator("#image-preview")).to_be_hidden()
    expect(page.locator("#image-input")).to_have_value("")

    # Sending now starts a battle without it.
    _scripted(words=3, tokens_per_s=None)
    page.fill("#prompt", "No picture after all.")
    page.click("#send")
    expect(page).to_have_url(BATTLE_URL)
    expect(page.locator("#battle-image")).to_be_hidden()
    assert [url for url in posted if url.endswith("/api/v1/battles")] == [queue_site + "/api/v1/battles"]
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)


def test_a_reader_scrolled_up_in_a_pane_stays_there_while_the_answer_grows(browser_page, queue_site):
    from playwright.sync_api import expect

    page = browser_page
    # A paragraph a word, 4 words a second: taller than a pane within a few seconds, done in 6.
    _scripted(words=24, tokens_per_s=4, paragraphs=True)
    page.goto(queue_site + "/")
    _send(page, "A long one, please.")
    body = page.locator("#pane-a .pane-body")
    # Following the end while the reader lets it: scrolled down as soon as it overflows.
    page.wait_for_function(
        "() => { const el = document.querySelector('#pane-a .pane-body');"
        " return el.scrollHeight > el.clientHeight + 150 && el.scrollTop > 100; }",
        timeout=60_000,
    )
    body.hover()
    page.mouse.wheel(0, -100)
    page.wait_for_function("() => document.querySelector('#pane-a .pane-body').scrollTop > 0")
    top = body.evaluate("el => el.scrollTop")
    length = body.evaluate("el => el.textContent.length")
    page.wait_for_function(
        f"() => document.querySelector('#pane-a .pane-body').textContent.length > {length} + 20",
        timeout=30_000,
    )
    expect(page.locator("#pane-a")).to_have_attribute("data-status", "done", timeout=60_000)
    assert body.evaluate("el => el.scrollTop") <= top + 1

    # On a phone the panes stack and grow with their answers: nothing inside the page scrolls.
    page.set_viewport_size({"width": 390, "height": 800})
    assert body.evaluate("el => el.scrollHeight - el.clientHeight") <= 1
    assert body.evaluate("el => getComputedStyle(el).overflowY") == "visible"
