"""A moderator's round in Chromium: a voter battles, votes and reports the battle; a moderator signs in,
finds the report in the queue, invalidates the vote with a reason, and sees the board and the audit log
reflect it."""

from __future__ import annotations

import time

import httpx
import pytest
from allauth.account.models import EmailAddress

from arena.models import Report, Vote
from leaderboard.boards.arena.services import snapshot_compute
from moderation.models import AuditEntry
from tests.battles import scripted_models_register
from tests.browser.axe import axe_violations
from tests.moderation.helpers import PASSWORD, user_make

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# A vote cast sooner than ARENA_VOTE_MIN_SECONDS (3 s by default) after the answers is not counted.
_VOTE_WAIT_S = 3.5


def _api_battle_voted(client: httpx.Client) -> None:
    battle = client.post("/api/v1/battles", data={"prompt": "Name three colours."})
    assert battle.status_code == 201, battle.text
    battle_id = battle.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/battles/{battle_id}").json()["state"] != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    time.sleep(_VOTE_WAIT_S)
    assert client.post(f"/api/v1/battles/{battle_id}/vote", json={"winner": "tie"}).status_code == 200


def test_a_moderator_finds_a_reported_battle_invalidates_its_vote_and_sees_board_and_log_change(
    browser_page, live_stack, api_client, settings
):
    from playwright.sync_api import expect

    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10
    scripted_models_register("scripted-a", "scripted-b", tokens_per_s=400)
    base = live_stack.base_url
    page = browser_page

    # 1. A voter battles, votes and reports the battle from its page.
    page.goto(base + "/")
    page.fill("#prompt", "Describe a sunset.")
    page.click("#send")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    time.sleep(_VOTE_WAIT_S)
    page.click("#vote-a")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)
    page.click("#report-open")
    assert axe_violations(page) == []
    page.select_option("#report-reason", "identity")
    page.fill("#report-details", "Answer A says who made it.")
    page.click("#report-form button[type=submit]")
    expect(page.locator("#report-status")).to_contain_text("moderators will look", timeout=15_000)
    report = Report.objects.get()
    reported = Vote.objects.get(battle_id=report.battle_id)
    assert reported.is_valid

    # Another counted vote, so that a snapshot still rates the pair after the invalidation.
    _api_battle_voted(api_client)
    assert snapshot_compute() is not None
    page.goto(base + "/leaderboard/")
    expect(page.locator(".board-meta")).to_contain_text("over 2 votes")

    # 2. A moderator signs in (another browser), finds the report and invalidates the vote.
    moderator = user_make(role="moderator")
    EmailAddress.objects.create(user=moderator, email=moderator.email, verified=True, primary=True)
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    console = context.new_page()
    console.goto(base + "/moderation/")
    expect(console).to_have_url(f"{base}/accounts/login/?next=/moderation/")
    console.fill("#id_login", moderator.email)
    console.fill("#id_password", PASSWORD)
    console.locator("main button[type=submit]").click()
    expect(console.locator('[data-queue="reports"]')).to_have_text("1", timeout=15_000)
    console.get_by_role("link", name="open reports").click()
    console.locator(f'tr[data-report="{report.pk}"] a').click()
    expect(console.locator("#turns-title")).to_be_visible()
    expect(console.locator(f'[data-vote="{reported.pk}"]')).to_have_attribute("data-counted", "yes")
    assert axe_violations(console) == []
    console.fill("#reason-invalidate", "The answer reveals the model; reported by the voter.")
    console.locator('[data-action="invalidate"]').click()
    expect(console.locator(".messages")).to_contain_text("The vote is invalidated")
    expect(console.locator(f'[data-vote="{reported.pk}"]')).to_have_attribute("data-counted", "no")
    console.fill("#reason-resolve-" + str(report.pk), "Vote invalidated.")
    console.locator('[data-action="resolve"]').click()
    expect(console.locator(".messages")).to_contain_text("The report is resolved")

    # 3. The audit log shows the action, and the board the vote gone after the next snapshot.
    console.get_by_role("link", name="Audit log").click()
    row = console.locator('tr[data-action="vote_invalidate"]')
    expect(row).to_contain_text("The answer reveals the model")
    expect(row).to_contain_text(moderator.email)
    assert axe_violations(console) == []
    entry = AuditEntry.objects.get(action="vote_invalidate")
    assert entry.changes["vote_ids"] == [reported.pk]

    snapshot = snapshot_compute()
    assert snapshot is not None and snapshot.vote_count == 1
    page.goto(base + "/leaderboard/")
    expect(page.locator(".board-meta")).to_contain_text("over 1 vote")
    context.close()
