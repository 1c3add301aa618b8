"""Every page of the site carries the Content-Security-Policy, and its HTML needs nothing the policy
forbids: no inline script with code, no on*= handler, no javascript: URL, no style attribute, no
<style> block (but the two documented exceptions: the styles plotly.js writes on the charts page, which
its server-rendered HTML still does without, and the self-contained 500/503 pages' one <style> block,
admitted by its hash).

The pages are collected from the URL conf itself, and each is asked as a visitor and as staff (who see
every page and every button), so a page added later is checked without being listed here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from evaluation.services import evaluation_run_start
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.boards.general_level.services import general_level_import
from portal.submissions import services as submissions
from portal.tokens import token_create
from tests.factories import model_make, vote_make
from tests.portal.submissions.helpers import endpoint_body, user_make

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Not pages: the API (JSON; its docs page is checked below), probes and scrapes, a redirect.
_NOT_PAGES = ("api/", "healthz", "readyz", "metrics", "favicon.ico")
# Pages whose policy admits inline styles, and why (core.csp.PLOTLY_STYLE_EXCEPTION).
_INLINE_STYLE_PAGES = {"/leaderboard/charts/": "plotly.js writes its styles at run time"}
# Pages that must answer 200 with HTML to someone here: the check cannot pass by finding nothing.
_MUST_RENDER = {
    "/",
    "/leaderboard/",
    "/leaderboard/fragment/",
    "/leaderboard/charts/",
    "/leaderboard/general-level/",
    "/leaderboard/general-level/fragment/",
    "/leaderboard/general-level/alpha/",
    "/leaderboard/benchmarks/",
    "/evaluations/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/logout/",
    "/account/tokens/",
    "/submit/",
    "/submissions/",
    "/submissions/queue/",
    "/api/v1/docs",
    "/admin/",
    "/moderation/",
    "/moderation/reports/",
    "/moderation/audit/",
    "/no-such-page/",
}
_RUNNABLE_SCRIPT_TYPES = ("", "text/javascript", "module", "application/javascript")


def _policy(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@dataclass
class _Inline(HTMLParser):
    """What in a page the policy would block (or, for <style>, admit only by its hash)."""

    scripts: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    style_blocks: list[str] = field(default_factory=list)
    _script_open: bool = False
    _style_open: bool = False

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.styles.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.handlers.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and "src" not in values:
            self._script_open = (values.get("type") or "").strip().lower() in _RUNNABLE_SCRIPT_TYPES
        if tag == "style":
            self._style_open = True
            self.style_blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_open = False
        if tag == "style":
            self._style_open = False

    def handle_data(self, data: str) -> None:
        if self._script_open and data.strip():
            self.scripts.append(data.strip()[:120])
        if self._style_open:
            self.style_blocks[-1] += data


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def site_data(settings) -> dict[str, str]:
    """One of everything a page can show, and the values that fill the URL conf's parameters."""
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10
    strong, weak = model_make(slug="strong", display_name="Strong VL"), model_make(slug="weak")
    votes = [vote_make(strong, weak) for _ in range(3)] + [vote_make(weak, strong, "model_b")]
    snapshot_compute()
    general_level_import(
        data=json.dumps(
            {
                "tasks": [
                    {
                        "name": "VQA",
                        "modality": "image",
                        "group": "comprehension",
                        "metric": "ACC",
                        "sota": 50,
                    }
                ],
                "models": {"Alpha": {"scores": [60]}},
            }
        ).encode(),
        filename="seed.json",
    )
    run = evaluation_run_start(model=strong, benchmark="tiny-ehub", limit=2)
    submitter = user_make()
    submission = submissions.submission_create(user=submitter, data=endpoint_body())
    token, _ = token_create(user=submitter, name="ci")
    return {
        "battle_id": str(votes[0].battle_id),
        "run_id": str(run.pk),
        "submission_id": str(submission.pk),
        "key": "alpha",
        "slug": "strong",
        "token_id": str(token.pk),
        "vote_id": str(votes[0].pk),
        "report_id": "1",
        "ban_id": "1",
        "kind": "voter",
        "value": "voter-1",
        "action": "approve",
    }


def _page_paths(values: dict[str, str]) -> Iterator[str]:
    """Every page path in the URL conf, its parameters filled from `values`."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(_NOT_PAGES):
                continue
            if isinstance(pattern, URLResolver):
                if route.startswith("admin/"):
                    continue  # Django's admin: its index and login are checked, not every model's pages
                yield from walk(pattern.url_patterns, route)
            elif "^" not in route:  # allauth's regex routes take keys sent by mail: checked below
                yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)

    yield from walk(get_resolver().url_patterns, "")
    yield from (
        "/admin/",
        "/admin/login/",
        "/api/v1/docs",
        "/no-such-page/",
        f"/battles/{uuid.uuid4()}/",
        "/accounts/confirm-email/not-a-key/",
        "/accounts/password/reset/key/1-not-a-key/",
    )


def _check(path: str, response, *, who: str) -> bool:
    """Assert what the policy demands of one answer; whether it was a whole page (200, or the 404 page)."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{who} {path} ({response.status_code}) has no Content-Security-Policy"
    policy = _policy(header)
    assert policy["script-src"] == ["'self'"], (path, header)
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"], (path, header)
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"], (path, header)
    assert {"'self'", "ws://testserver"} <= set(policy["connect-src"]), (path, header)
    assert response.headers.get("X-Frame-Options") == "DENY", path
    assert "'unsafe-inline'" not in policy["style-src"], (path, header)
    for directive in ("style-src-elem", "style-src-attr"):
        inline = "'unsafe-inline'" in policy.get(directive, ())
        assert inline == (path in _INLINE_STYLE_PAGES), (path, header)
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    found = _Inline()
    found.feed(response.content.decode())
    assert found.scripts == [], f"{who} {path}: inline script {found.scripts}"
    assert found.handlers == [], f"{who} {path}: inline handlers {found.handlers}"
    # Style attributes are refused everywhere, the charts page too (its exception is plotly's <style>).
    assert found.styles == [], f"{who} {path}: style attributes {found.styles[:5]}"
    if path not in _INLINE_STYLE_PAGES:
        for block in found.style_blocks:
            assert _sha256(block) in policy["style-src"], f"{who} {path}: a <style> block the policy blocks"
    return response.status_code == 200 or path == "/no-such-page/"


def test_every_page_has_the_policy_and_nothing_inline_it_would_block(site_data) -> None:
    admin = user_make(staff=True)
    admin.is_superuser = True  # every console and admin page, and every button on them
    admin.save()
    staff = Client()
    staff.force_login(admin)
    rendered: set[str] = set()
    paths = sorted(set(_page_paths(site_data)))
    for who, client in (("a visitor", Client()), ("staff", staff)):
        for path in paths:
            response = client.get(path)
            assert response.status_code < 500, (who, path)
            if _check(path, response, who=who):
                rendered.add(path)
    assert rendered >= _MUST_RENDER, f"not rendered in full: {sorted(_MUST_RENDER - rendered)}"
    # Pages with a parameter were filled with real rows: they rendered too.
    for path in (f"/battles/{site_data['battle_id']}/", f"/evaluations/{site_data['run_id']}/",
                 f"/models/{site_data['slug']}/", f"/submissions/{site_data['submission_id']}/"):  # fmt: skip
        assert path in rendered, path


def test_the_error_pages_self_contained_style_block_is_the_one_the_policy_admits() -> None:
    hashes = []
    for name in ("500.html", "503.html"):
        match = re.search(r"<style>(.*?)</style>", (ROOT / "templates" / name).read_text(), re.S)
        assert match is not None, name
        hashes.append(_sha256(match.group(1)))
    style_src = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]
    assert set(hashes) <= set(style_src), "update the hash in config/settings.py CONTENT_SECURITY_POLICY"


@pytest.mark.urls("tests.config.urls")
def test_a_failing_page_gets_the_policy_and_its_style_block_is_admitted() -> None:
    response = Client(raise_request_exception=False).get("/test-fails/")
    assert response.status_code == 500
    _check("/test-fails/", response, who="a visitor")


def test_the_policy_names_the_websocket_origin_of_the_host_asked(client: Client) -> None:
    plain = _policy(client.get("/leaderboard/", headers={"Host": "localhost"})["Content-Security-Policy"])
    assert "ws://localhost" in plain["connect-src"]
    secure = _policy(client.get("/leaderboard/", secure=True)["Content-Security-Policy"])
    assert "wss://testserver" in secure["connect-src"] and "ws://testserver" not in secure["connect-src"]


def test_api_answers_and_static_files_carry_the_policy_too(client: Client) -> None:
    for path in ("/api/v1/leaderboard", "/api/v1/no-such-endpoint", "/static/core/socket.js"):
        response = client.get(path)
        assert "default-src 'self'" in response["Content-Security-Policy"], path


def test_no_site_script_reads_cookies_so_both_can_be_httponly() -> None:
    # Pages get the CSRF token from the form or GET /api/v1/session (CSRF_COOKIE_HTTPONLY).
    scripts = [
        path
        for folder in ("static", "portal/static", "moderation/static", "evaluation/static")
        for path in (ROOT / folder).rglob("*.js")
        if "vendor" not in path.parts
    ]
    assert len(scripts) > 5
    readers = [str(path.relative_to(ROOT)) for path in scripts if "document.cookie" in path.read_text()]
    assert readers == []
