"""A model author's whole journey in Chromium: sign up, submit an endpoint (a real `transformers serve`
on loopback), watch its status change live as the worker checks it and staff approve it, then chat
with it in the playground, directly and side by side, where the named vote is stored and kept off
the anonymous board."""

from __future__ import annotations

import time
from typing import Any

import pytest

from arena.models import Battle, Response, Vote
from leaderboard.boards.arena.services import snapshot_compute
from portal.submissions import services
from portal.submissions.models import Submission
from tests.portal.playground.stack import PlaygroundStack, playground_stack, scripted_pair_register
from tests.portal.submissions.helpers import CARD, user_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

__all__ = ["playground_stack"]

EMAIL = "author@example.org"
PASSWORD = "a long and unusual password 42"


def _pick(page: Any, dropdown: str, label: str) -> None:
    from playwright.sync_api import expect

    field = page.locator(f"{dropdown} input")
    field.click()
    # The list this dropdown opened (another may still be in the page): the one its input controls.
    listbox = field.get_attribute("aria-controls")
    page.locator(f'#{listbox} [role=option][aria-label="{label}"]').click()
    expect(field).to_have_value(label)


def _answered(battle: Battle, *, sides: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while Response.objects.filter(turn__battle=battle, status=Response.Status.DONE).count() < sides:
        assert time.monotonic() < deadline, list(Response.objects.filter(turn__battle=battle).values())
        time.sleep(0.3)


def test_an_author_signs_up_submits_watches_it_live_and_chats_with_it_in_the_playground(
    browser_page, playground_stack: PlaygroundStack, served, tiny_models_dir
):
    from playwright.sync_api import expect

    page = browser_page
    base = playground_stack.base_url
    page.goto(base + "/accounts/signup/")
    page.fill("#id_email", EMAIL)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator(".site-header")).to_contain_text(EMAIL)

    page.goto(base + "/submit/")
    page.fill("#id_display_name", "Journey VL")
    page.fill("#id_organization", "Journey Lab")
    page.fill("#id_license", "apache-2.0")
    page.fill("#id_description", CARD)
    page.locator("#id_reads_images").uncheck()
    page.check("#id_kind_1")  # an OpenAI-compatible endpoint
    page.fill("#id_base_url", served.base_url)
    page.fill("#id_model", str(tiny_models_dir.dir / "tiny-llava-64"))
    page.fill("#id_api_key", "sk-journey")
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/submissions/*/")
    submission = Submission.objects.get(display_name="Journey VL")
    # From here on the page never loads again: every status arrives over its socket.
    page.evaluate("window.stillTheSamePage = true")
    status = page.locator("#status-title")
    expect(status).to_contain_text("Waiting for approval", timeout=60_000)
    services.submission_approve(user=user_make(staff=True), submission_id=submission.pk)
    expect(status).to_contain_text("Finished", timeout=120_000)
    expect(page.locator(".submission-events")).to_contain_text("Approved, waiting for evaluation (staff)")
    expect(page.locator(".submission-log")).to_contain_text("tiny-ehub")
    assert page.evaluate("window.stillTheSamePage") is True
    assert "sk-journey" not in page.content()

    # Finished but not enabled: only its author (and staff) may pick it, in the playground.
    scripted, _ = scripted_pair_register(tokens_per_s=20)
    page.goto(base + "/playground/")
    expect(page.locator("#pg-header")).to_contain_text(f"Signed in as {EMAIL}", timeout=60_000)
    _pick(page, "#chat-model", "Journey VL (Journey Lab)")
    page.locator("#chat-prompt textarea").fill("Hello there.")
    page.locator("#chat-send").click()
    expect(page.locator("#chat-box")).to_contain_text("Hello there.", timeout=30_000)
    chat = _wait_for_battle(mode=Battle.Mode.DIRECT)
    assert chat.model_a.slug == submission.slug
    _answered(chat, sides=1)

    page.get_by_role("tab", name="Side by side").click()
    _pick(page, "#pair-model-a", "Journey VL (Journey Lab)")
    _pick(page, "#pair-model-b", f"{scripted.display_name} (Tests)")
    page.locator("#pair-prompt textarea").fill("Compare yourselves.")
    page.locator("#pair-send").click()
    expect(page.locator("#vote-b")).to_be_enabled(timeout=90_000)
    page.locator("#vote-b").click()
    expect(page.locator("#pair-status")).to_contain_text("stored as a named vote", timeout=30_000)

    vote = Vote.objects.select_related("battle__model_a", "battle__model_b").get()
    assert vote.anony is False and vote.winner == "model_b"
    assert (vote.battle.model_a.slug, vote.battle.model_b.slug) == (submission.slug, scripted.slug)
    # The anonymous board counts no named vote: there is nothing to rate.
    assert snapshot_compute() is None


def _wait_for_battle(*, mode: str, timeout: float = 30) -> Battle:
    deadline = time.monotonic() + timeout
    while True:
        battle = Battle.objects.select_related("model_a").filter(mode=mode).first()
        if battle is not None:
            return battle
        assert time.monotonic() < deadline, f"no {mode} battle started"
        time.sleep(0.2)
