"""The playground's votes and battles count against the site's rate limits (core.ratelimits), with
the API's counts: over a limit, Gradio shows the sentence and nothing is stored."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest
from django.test import Client

from arena.models import Vote
from portal.playground.app import _vote_handler
from portal.playground.visitor import visitor_get, visitor_session_ensure
from tests.factories import battle_make, vote_post

# The handlers hand their thread's connection back to the pool after each step: no test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def limits_on(settings):
    settings.ARENA_RATE_LIMITS_ENABLED = True
    settings.ARENA_TRUSTED_PROXIES = []
    settings.ARENA_RATE_LIMITS = {"vote": ["10/m", "2/m"]}


def _playground_request(address: str) -> tuple[gr.Request, str]:
    set_cookie = visitor_session_ensure(cookie_header="", address=address)
    assert set_cookie is not None
    cookie = set_cookie.split(";", 1)[0]
    visitor = visitor_get(cookie_header=cookie, address=address)
    assert visitor is not None
    request = gr.Request(headers={"cookie": cookie}, client=SimpleNamespace(host=address))
    return request, visitor.voter_id


def test_playground_votes_share_the_address_limit_with_the_api():
    site = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.1")
    token = site.get("/api/v1/session").json()["csrf_token"]
    assert (
        vote_post(site, token, battle_make(creator_id=site.session["arena_voter_id"]).pk).status_code == 200
    )
    request, voter_id = _playground_request("198.51.100.1")
    vote = _vote_handler("model_a")
    vote({"battle": str(battle_make(creator_id=voter_id).pk)}, request)

    refused_battle = battle_make(creator_id=voter_id)
    with pytest.raises(gr.Error) as refused:
        vote({"battle": str(refused_battle.pk)}, request)

    assert "Your network address has voted 2 times in the last minute" in str(refused.value)
    assert not Vote.objects.filter(battle=refused_battle).exists()
