"""Live board: 1,000 open board pages hear of one vote and fetch the new board.

Each simulated page (its own address) holds a socket on /ws/boards/arena/ and the version the page
showed (the board page's `data-version`), and does what static/leaderboard/live.js does: on open it
refetches the fragment (`data-fragment-url`) with `If-None-Match: "<version>"` (304 while unchanged); on
an `updated` event whose version differs from the one it shows it refetches (after live.js's random
delay, if it has one: read from the script), and on a 200 shows the body and takes `X-Board-Version` as
its version. Once every page is open and a quiet second has passed, one vote is cast through the API
(its on-commit publish goes out at once after a quiet second). The figure: how many pages ended with
the new board (a 200 with a new X-Board-Version) within the timeout, and p50/p99 from sending that vote
(the publish happens inside its request: an upper bound) to having the new board.
Target: all 1,000, p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import connect

from bench.load.battle_client import vote
from bench.load.common import (
    USER_AGENT,
    Meter,
    StartGate,
    address_new,
    asyncio_run,
    cli,
    client_new,
    latency_summary,
    ms,
    person_new,
    session_start,
)
from bench.load.http1 import Http1
from bench.load.votes import voters_prepare
from bench.stack import ROOT, StackInfo

LIVE_JS = ROOT / "static" / "leaderboard" / "live.js"


def live_js_delay_s() -> float:
    """The longest random delay live.js waits before refetching after an event (0 if it has none).

    Looks for `Math.random() * N` (milliseconds, a number or a `const` naming one) in the script,
    so the benchmark follows the page.
    """
    source = LIVE_JS.read_text()
    found = re.findall(r"Math\.random\(\)\s*\*\s*([\w.]+)|([\w.]+)\s*\*\s*Math\.random\(\)", source)
    constants = dict(re.findall(r"const\s+(\w+)\s*=\s*([0-9_.]+)\s*;", source))
    values = [float(constants.get(a or b, a or b).replace("_", "")) for a, b in found]
    return max(values, default=0.0) / 1000


@dataclass
class _Page:
    address: str
    shown: str
    new_board_at: float | None = None
    new_version: str | None = None
    event_version: str | None = None
    event_at: float | None = None
    fetches: int = 0
    not_modified: int = 0
    error: str | None = None


class _Shared:
    def __init__(self, *, before: str) -> None:
        self.before = before
        self.trigger_at = 0.0
        self.deadline = 0.0


def _board_attributes(html: str) -> tuple[str, str]:
    tag = re.search(r"<div[^>]*data-board=\"arena\"[^>]*>", html)
    if tag is None:
        raise RuntimeError("the board page has no live board element")
    version = re.search(r'data-version="([^"]*)"', tag.group(0))
    url = re.search(r'data-fragment-url="([^"]*)"', tag.group(0))
    assert version and url
    return version.group(1), url.group(1).replace("&amp;", "&")


async def _fetch(http: Http1, page: _Page, url: str) -> bool:
    """live.js's refresh(): True when it got a new board (200)."""
    page.fetches += 1
    headers = {"Accept": "text/html", "Cache-Control": "no-store"}  # fetch(..., {cache: "no-store"})
    if page.shown:
        headers["If-None-Match"] = f'"{page.shown}"'
    reply = await http.get(url, headers=headers)
    if reply.status != 200:
        if reply.status == 304:
            page.not_modified += 1
        else:
            page.error = f"fragment {reply.status}"
        return False
    page.shown = reply.headers.get("x-board-version", "")
    return True


async def _page(
    target: StackInfo,
    page: _Page,
    *,
    url: str,
    opening: asyncio.Semaphore,
    gate: StartGate,
    shared: _Shared,
    delay_s: float,
) -> None:
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": page.address}
    async with opening:
        socket = await connect(
            f"{target.ws_url}/ws/boards/arena/",
            origin=target.base_url,  # type: ignore[arg-type]
            additional_headers=headers,
            proxy=None,
            open_timeout=60,
        )
    http = person_new(target, address=page.address)
    try:
        await _fetch(http, page, url)  # onopen: anything that changed before the socket listened
        await gate.ready()
        while (remaining := shared.deadline - time.perf_counter()) > 0:
            try:
                raw = await asyncio.wait_for(socket.recv(), remaining)
            except TimeoutError:
                return
            message = json.loads(raw)
            if message.get("type") != "updated" or message.get("board") != "arena":
                continue
            if message.get("version") and message["version"] == page.shown:
                continue
            page.event_version, page.event_at = message.get("version"), time.perf_counter()
            if delay_s:
                await asyncio.sleep(random.uniform(0, delay_s))
            if await _fetch(http, page, url) and page.shown != shared.before:
                page.new_board_at, page.new_version = time.perf_counter(), page.shown
                return
    except Exception as exc:  # noqa: BLE001 -- a page that broke did not get the board
        page.error = f"{type(exc).__name__}: {str(exc)[:80]}"
    finally:
        await socket.close()
        await http.close()


async def _measure(target: StackInfo, *, pages: int, voter: dict[str, Any], timeout: float) -> dict[str, Any]:
    delay_s = live_js_delay_s()
    async with client_new(target, address=voter["address"], max_connections=1) as person:
        person.cookies.set("sessionid", voter["session_key"])
        await session_start(person)
        board = await person.get("/leaderboard/")
        before, url = _board_attributes(board.text)
        shared = _Shared(before=before)
        gate = StartGate(pages)
        opening = asyncio.Semaphore(50)
        all_pages = [_Page(address=address_new(), shown=before) for _ in range(pages)]
        opened = time.perf_counter()
        tasks = [
            asyncio.create_task(
                _page(target, page, url=url, opening=opening, gate=gate, shared=shared, delay_s=delay_s)
            )
            for page in all_pages
        ]
        await gate.all_ready(tasks)
        open_s = time.perf_counter() - opened
        # Each page shows what it last fetched; the vote must be the only change they hear of next.
        await asyncio.sleep(1.5)
        meter = Meter(target)
        meter.start()
        battle_id = voter["battles"][0]
        shared.trigger_at = time.perf_counter()
        shared.deadline = shared.trigger_at + timeout
        gate.start(timeout)
        response = await vote(person, battle_id=battle_id, winner="model_a")
        voted_at = time.perf_counter()
        await asyncio.gather(*tasks, return_exceptions=True)
        resources = meter.stop()
    got = [page for page in all_pages if page.new_board_at is not None]
    after_vote = [page.new_board_at - shared.trigger_at for page in got if page.new_board_at is not None]
    heard = [page.event_at - shared.trigger_at for page in all_pages if page.event_at is not None]
    errors: dict[str, int] = {}
    for page in all_pages:
        if page.error:
            errors[page.error] = errors.get(page.error, 0) + 1
    return {
        "pages": pages,
        "pages_with_new_board": len(got),
        "pages_heard_event": len(heard),
        **latency_summary(after_vote),
        **latency_summary(heard, prefix="event_"),
        "vote_status": response.status_code,
        "vote_ms": ms(voted_at - shared.trigger_at),
        "fragment_fetches": sum(page.fetches for page in all_pages),
        "fragment_304": sum(page.not_modified for page in all_pages),
        "page_errors": errors,
        "sockets_open_s": round(open_s, 1),
        "live_js_delay_max_ms": ms(delay_s),
        "resources": resources,
    }


def run(target: StackInfo, *, pages: int = 1000, timeout: float = 10.0) -> dict[str, Any]:
    (voter,) = voters_prepare(target, voters=1, battles_per_voter=1)
    result = asyncio_run(_measure(target, pages=pages, voter=voter, timeout=timeout))
    return {"settings": {"pages": pages, "timeout_s": timeout}, **result}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after the vote a page may take")


if __name__ == "__main__":
    cli(description=__doc__ or "", run=run, add_arguments=add_arguments)
