from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page(*, args: Sequence[str] = (), permissions: Sequence[str] = ()) -> Iterator[object]:
    """A Chromium page (Debian's browser, driven by Playwright; never a downloaded one), launched with
    CHROMIUM_ARGS and `args`, its context granted `permissions`."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django would refuse ORM calls in the test.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args], headless=True
            )
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, permissions=list(permissions)
            )
            page = context.new_page()
            yield page
            context.close()
            browser.close()
            # Connections opened while Playwright's loop ran belong to its context; close them here,
            # or the test database cannot be dropped at the end of the session.
            connections.close_all()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser_page(live_stack: object) -> Iterator[object]:
    """A Chromium page."""
    with chromium_page() as page:
        yield page
