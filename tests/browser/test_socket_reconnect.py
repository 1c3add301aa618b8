"""The shared WebSocket client (static/core/socket.js) in Chromium: a socket the page loses comes back.

The server is never touched: the page's WebSocket is wrapped so a test can drop the current socket and
refuse new ones, like a network that went away. Each test checks that a *new* socket did the work, so a
page still listening on its first socket cannot pass.
"""

from __future__ import annotations

import re

import pytest

from leaderboard.boards.general_level.services import general_level_import
from tests.factories import workbook_bytes

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# Runs before the page's scripts. __refuse makes new sockets fail as an unreachable server does;
# __dropAfterDelta closes a socket from the page right after the first answer delta it delivers.
WRAP_WEBSOCKET = """
(() => {
  const Native = window.WebSocket;
  Object.assign(window, { __sockets: [], __opened: 0, __refused: 0 });
  Object.assign(window, { __refuse: false, __dropAfterDelta: false });
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      if (window.__refuse) {
        window.__refused++;
        throw new DOMException("refused by the test", "SyntaxError");
      }
      super(url, protocols);
      window.__sockets.push(this);
      this.addEventListener("open", () => { window.__opened++; });
      this.addEventListener("message", (event) => {
        if (!window.__dropAfterDelta || JSON.parse(event.data).type !== "delta") return;
        window.__dropAfterDelta = false;
        this.close();
      });
    }
  };
})();
"""

HEADER: list[object] = ["Task", "Metrics", "SoTA Performance", "Alpha", "Beta"]


def _workbook(*, beta_vqa: float) -> bytes:
    return workbook_bytes(
        {
            "Image-Comprehension": [HEADER, ["VQA", "ACC", 50, 60, beta_vqa]],
            "Image-Generation": [HEADER, ["T2I", "ACC", 30, 35, None]],
            "NLP": [HEADER, ["QA", "ACC", 60, 70, None]],
        }
    )


def test_a_dropped_board_socket_reconnects_with_backoff_and_catches_up(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    general_level_import(data=_workbook(beta_vqa=40), filename="first.xlsx")
    page.add_init_script(WRAP_WEBSOCKET)
    page.goto(live_stack.base_url + "/leaderboard/general-level/")
    board = page.locator("#gl-board")
    status = page.locator("[data-live-status]")
    beta_l3 = page.locator('#board-level-3 tr[data-model="beta"] td[data-level="L3"]')
    expect(board).to_have_attribute("data-live", "open", timeout=15_000)
    # The refetch every (re)connect makes waits up to 250 ms first: one still pending when the socket
    # drops would fetch the change below, published while the page has no socket.
    expect(board).not_to_have_attribute("aria-busy", "true")
    expect(beta_l3).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    page.evaluate("window.__refuse = true; window.__sockets[0].close()")
    expect(board).to_have_attribute("data-live", "closed")
    expect(status).to_have_text("Live updates paused; reconnecting…")

    # Published while the page has no socket: only the refetch after reconnecting can show it.
    general_level_import(data=_workbook(beta_vqa=55), filename="second.xlsx")
    page.wait_for_function("() => window.__refused >= 1", timeout=10_000)  # a backed-off retry, refused
    expect(beta_l3).to_have_count(0)

    page.evaluate("window.__refuse = false")
    expect(beta_l3).to_have_text("6.88", timeout=15_000)
    expect(board).to_have_attribute("data-live", "open")
    expect(status).to_have_text("Live: updates appear as they land")
    assert page.evaluate("[window.__sockets.length, window.__sockets[0].readyState, window.__opened]") == [
        2,
        3,  # CLOSED
        2,
    ]

    # The new socket hears the next change itself.
    general_level_import(data=_workbook(beta_vqa=58), filename="third.xlsx")
    expect(beta_l3).to_have_text("7.25", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True


def test_coming_back_online_or_visible_reconnects_at_once_and_only_once(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    page.add_init_script(WRAP_WEBSOCKET)
    page.goto(live_stack.base_url + "/leaderboard/general-level/")
    board = page.locator("#gl-board")
    expect(board).to_have_attribute("data-live", "open", timeout=15_000)

    for trigger, expected_sockets in (("online", 2), ("visibilitychange", 3)):
        page.evaluate("window.__refuse = true; window.__sockets[window.__sockets.length - 1].close()")
        refused = page.evaluate("window.__refused")
        # After a refused retry the next one is seconds away, so a socket made now is the trigger's.
        page.wait_for_function(f"() => window.__refused > {refused}", timeout=10_000)
        counts = page.evaluate(
            """(trigger) => {
              window.__refuse = false;
              const target = trigger === "online" ? window : document;
              const before = window.__sockets.length;
              target.dispatchEvent(new Event(trigger));
              const after = window.__sockets.length;
              target.dispatchEvent(new Event(trigger)); // while connecting: no second socket
              return [before, after, window.__sockets.length];
            }""",
            trigger,
        )
        assert counts == [expected_sockets - 1, expected_sockets, expected_sockets], trigger
        expect(board).to_have_attribute("data-live", "open", timeout=5_000)


def test_the_client_pings_keeps_the_pongs_to_itself_and_closes_for_good(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    page.add_init_script(WRAP_WEBSOCKET)
    page.goto(live_stack.base_url + "/leaderboard/general-level/")
    expect(page.locator("#gl-board")).to_have_attribute("data-live", "open", timeout=15_000)

    wire, handed, state, url = page.evaluate(
        """() => new Promise((resolve) => {
          const handed = [];
          const socket = window.ArenaSocket.open("/ws/boards/general-level/", {
            onmessage(message) { handed.push(message.type); },
          }, { pingMs: 100 });
          const ws = window.__sockets[window.__sockets.length - 1];
          const wire = [];
          ws.addEventListener("message", (event) => wire.push(JSON.parse(event.data).type));
          window.setTimeout(() => {
            socket.close();
            // A closed client stays closed: no retry is scheduled for a close it asked for.
            window.setTimeout(() => resolve([wire, handed, socket.state, ws.url]), 1500);
          }, 1000);
        })"""
    )
    assert wire.count("pong") >= 3, wire
    assert handed == []
    assert state == "stopped"
    assert url.startswith("ws://") and url.endswith("/ws/boards/general-level/")
    assert page.evaluate("window.__sockets.length") == 2


def test_a_battle_socket_dropped_mid_answer_reconnects_and_ends_with_the_stored_answers(
    browser_page, live_stack, arena_models
):
    from playwright.sync_api import Route, expect

    page = browser_page
    # The page's REST reads of the battle wait until the new socket is open: otherwise one that lands
    # first can finish the battle on screen, and a finished battle rightly does not reconnect.
    held: list[Route] = []
    holding = [True]

    def hold_battle_reads(route: Route) -> None:
        if route.request.method == "GET" and holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/api/v1/battles/[0-9a-f-]+$"), hold_battle_reads)
    page.add_init_script(WRAP_WEBSOCKET)
    page.goto(live_stack.base_url + "/")
    page.evaluate("window.__dropAfterDelta = true")
    page.fill("#prompt", "Tell me a long story.")
    page.click("#send")

    page.wait_for_function("() => window.__opened >= 2", timeout=30_000)
    holding[0] = False
    for route in held:
        route.continue_()
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=120_000)
    sockets, first_state, dropped = page.evaluate(
        "[window.__sockets.length, window.__sockets[0].readyState, !window.__dropAfterDelta]"
    )
    assert dropped and first_state == 3 and sockets == 2, (dropped, first_state, sockets)

    # Asked from the page, whose session started the battle.
    turns = page.evaluate(
        """async () => {
          const id = new URL(window.__sockets[0].url).pathname.split("/").filter(Boolean).pop();
          const r = await fetch("/api/v1/battles/" + id, { headers: { Accept: "application/json" } });
          return (await r.json()).turns;
        }"""
    )
    for side in ("a", "b"):
        stored = turns[-1]["responses"][side]["text"]
        assert stored.strip()
        shown = page.locator(f"#pane-{side} .answer").evaluate("el => el.textContent")
        # Answers render as Markdown: what is shown is the stored text's rendering, not its raw text.
        rendered = page.evaluate(
            "(t) => { const d = document.createElement('div'); d.append(ArenaMarkdown.render(t));"
            " return d.textContent; }",
            stored,
        )
        assert shown == rendered, side
