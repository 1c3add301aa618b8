"""The playground through the live stack: served at /playground/ by its own process behind the site,
with the site's session, and a direct chat streamed by the arena's worker on the model's queue."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client as DjangoClient

from arena.models import Battle, Response
from portal.playground.visitor import visitor_get, visitor_session_ensure
from tests.battles import session_client, session_voter_id
from tests.portal.playground.stack import ANSWER, PlaygroundStack, scripted_pair_register

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # Gradio 6 may send a message as a list of typed parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return None


def _assistant_texts(output: object) -> list[str]:
    """The assistant's messages in the chatbot, the first of an update's outputs."""
    history = output[0] if isinstance(output, tuple) else output
    assert isinstance(history, list), output
    texts = [_text(message["content"]) for message in history if message["role"] == "assistant"]
    return [text for text in texts if text is not None]


def test_playground_page_is_served_at_playground_through_the_site(playground_stack: PlaygroundStack):
    with httpx.Client(base_url=playground_stack.base_url, timeout=30) as client:
        page = client.get("/playground/")
        site = client.get("/healthz")

    assert page.status_code == 200
    assert "gradio_config" in page.text
    assert "script-src 'self' 'unsafe-inline'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert settings.SESSION_COOKIE_NAME in page.cookies
    assert site.json() == {"alive": True}


def test_direct_chat_streams_the_workers_answer_in_the_sites_session(playground_stack: PlaygroundStack):
    from gradio_client import Client

    model_a, _ = scripted_pair_register(tokens_per_s=10)
    site = session_client(playground_stack.base_url)
    voter_id = session_voter_id(site)
    page = site.get("/playground/")
    assert settings.SESSION_COOKIE_NAME not in page.cookies  # the site's session is the playground's
    cookie = f"{settings.SESSION_COOKIE_NAME}={site.cookies[settings.SESSION_COOKIE_NAME]}"
    gradio = Client(
        playground_stack.base_url + "/playground/",
        headers={"Cookie": cookie},
        verbose=False,
        download_files=False,
    )

    job = gradio.submit(model_a.slug, "Hello there", None, [], api_name="/chat")
    seen = [texts[-1] for texts in (_assistant_texts(output) for output in job) if texts]
    job.result(timeout=60)

    battle = Battle.objects.get()
    answer = Response.objects.get(turn__battle=battle)
    assert battle.mode == Battle.Mode.DIRECT and battle.creator_id == voter_id
    assert answer.status == Response.Status.DONE and answer.text.strip() == ANSWER
    partial = [text for text in seen if text.startswith("word0") and text.strip() != ANSWER]
    assert partial, seen  # words arrived before the answer was whole
    assert _assistant_texts(job.outputs()[-1])[-1].strip() == ANSWER


def test_a_signed_in_user_keeps_their_session_and_login_in_the_playground():
    user = get_user_model().objects.create_user(username="ada", email="ada@example.org", password="x" * 12)
    browser = DjangoClient()
    browser.force_login(user)
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    cookie_header = f"{settings.SESSION_COOKIE_NAME}={key}"

    assert visitor_get(cookie_header=cookie_header, address="127.0.0.1") is None  # no voter id yet
    set_cookie = visitor_session_ensure(cookie_header=cookie_header, address="127.0.0.1")
    visitor = visitor_get(cookie_header=cookie_header, address="127.0.0.1")

    assert set_cookie is not None and f"{settings.SESSION_COOKIE_NAME}={key}" in set_cookie
    assert visitor is not None and visitor.user.pk == user.pk and visitor.voter_id
    assert visitor_session_ensure(cookie_header=cookie_header, address="127.0.0.1") is None


def test_a_visitor_without_a_session_gets_a_new_one():
    set_cookie = visitor_session_ensure(cookie_header="", address="127.0.0.1")

    assert set_cookie is not None
    key = set_cookie.split(";", 1)[0].split("=", 1)[1]
    visitor = visitor_get(cookie_header=f"{settings.SESSION_COOKIE_NAME}={key}", address="127.0.0.1")
    assert visitor is not None and not visitor.user.is_authenticated
    assert visitor_get(cookie_header="sessionid=unknown", address="127.0.0.1") is None
