"""The site's pages work in Chromium under their Content-Security-Policy, and the browser reports no
violation of it: the battle page starts a battle and takes the vote, the board goes live, the charts
page draws with plotly.js (its documented exception: the inline styles plotly writes), the API docs
page renders Swagger UI, and the account pages show their forms. A violation is caught as the page's
`securitypolicyviolation` event and as Chromium's console message, whichever comes."""

from __future__ import annotations

from typing import Any

import pytest

from leaderboard.boards.arena.services import snapshot_compute
from tests.factories import model_make, vote_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# Runs before any of the page's own scripts, whatever the policy (the driver injects it).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || "?"}:${event.lineNumber} (${event.sample || ""})`);
});
"""


def _violations(page: Any, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations"), *console]


@pytest.fixture
def watched(browser_page) -> tuple[Any, list[str]]:
    page = browser_page
    console: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on(
        "console",
        lambda message: console.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return page, console


@pytest.fixture
def rated_board(settings) -> None:
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    strong, middle, weak = (
        model_make(slug=s, display_name=f"{s.title()} VL") for s in ("strong", "middle", "weak")
    )
    for _ in range(6):
        vote_make(strong, middle)
        vote_make(middle, weak)
        vote_make(strong, weak, "model_b")
    snapshot_compute()


def test_a_battle_runs_to_its_reveal_without_a_policy_violation(watched, live_stack, arena_models) -> None:
    from playwright.sync_api import expect

    page, console = watched
    response = page.goto(live_stack.base_url + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#prompt", "Describe a *red* square with `code` and $x^2$.")
    page.click("#send")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=120_000)
    page.click("#vote-a")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)

    assert _violations(page, console) == []


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/leaderboard/", "#arena-board[data-live=open]"),
        ("/leaderboard/general-level/", "#gl-board"),
        ("/leaderboard/benchmarks/", "#benchmarks"),
        ("/api/v1/docs", ".opblock"),
        ("/accounts/login/", "form.account-card"),
        ("/accounts/signup/", "form.account-card"),
        ("/no-such-page/", "h1"),
    ],
)
def test_a_page_renders_without_a_policy_violation(watched, live_stack, rated_board, path, ready) -> None:
    page, console = watched
    page.goto(live_stack.base_url + path)
    page.wait_for_selector(ready, timeout=20_000)
    page.wait_for_load_state("networkidle")

    assert _violations(page, console) == []


def test_the_charts_page_draws_with_plotly_without_a_policy_violation(
    watched, live_stack, rated_board
) -> None:
    page, console = watched
    response = page.goto(live_stack.base_url + "/leaderboard/charts/")
    policy = response.headers["content-security-policy"]
    directives = {name: sources for name, *sources in (part.split() for part in policy.split(";"))}
    assert directives["script-src"] == ["'self'"] and "'unsafe-inline'" not in directives["style-src"]
    assert directives["style-src-elem"] == ["'self'", "'unsafe-inline'"]
    assert directives["style-src-attr"] == ["'unsafe-inline'"]
    page.locator(".chart-card").first.hover()
    for box in page.locator("[data-figure]").all():
        box.scroll_into_view_if_needed()
        page.wait_for_selector(
            f"[data-figure='{box.get_attribute('data-figure')}'][data-drawn]", timeout=20_000
        )
    assert page.locator("[data-figure] svg.main-svg").count() > 0, "plotly.js drew the charts"

    assert _violations(page, console) == []
