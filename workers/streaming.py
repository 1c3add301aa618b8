"""Streaming to the browser: chunks coalesced, numbered and sent through one event loop per process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer

from config.consumers import STREAM_EVENT


def battle_group(*, battle_id: object) -> str:
    return f"battle.{battle_id}"


class _LoopThread:
    """A long-lived asyncio loop in a daemon thread; the channel layer's connections live on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                threading.Thread(target=run, name="channel-layer-loop", daemon=True).start()
                started.wait()
                self._loop = loop
            return self._loop


_loop_thread = _LoopThread()


async def _group_send_after(*, group: str, message: dict[str, Any], after: Future[None] | None) -> None:
    if after is not None:
        with contextlib.suppress(Exception):  # the earlier message's failure is reported by its own future
            await asyncio.wrap_future(after)
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    await layer.group_send(group, message)


def group_send(*, group: str, message: dict[str, Any], after: Future[None] | None = None) -> Future[None]:
    """Send to a Channels group from any thread without starting a loop per message.

    Sends run concurrently on the loop, so one that must arrive after another names it in `after`.
    """
    return asyncio.run_coroutine_threadsafe(
        _group_send_after(group=group, message=message, after=after), _loop_thread.loop()
    )


class ChunkStream:
    """Coalesces one side's chunks into numbered deltas sent at most every `interval` seconds."""

    def __init__(self, *, battle_id: object, turn: int, side: str, interval: float) -> None:
        self.group = battle_group(battle_id=battle_id)
        self.turn = turn
        self.side = side
        self.interval = interval
        self.text = ""
        self._sent = 0
        self._seq = 0
        self._last_flush = 0.0
        self._pending: list[Future[None]] = []

    def _send(self, payload: dict[str, Any]) -> None:
        payload = {"type": STREAM_EVENT, "side": self.side, "turn": self.turn, **payload}
        # Each message waits for the one before, so deltas and the final event arrive in order.
        previous = self._pending[-1] if self._pending else None
        self._pending = [future for future in self._pending if not future.done()]
        self._pending.append(group_send(group=self.group, message=payload, after=previous))

    def add(self, chunk: str) -> None:
        self.text += chunk
        if time.monotonic() - self._last_flush >= self.interval:
            self.flush()

    def flush(self) -> None:
        unsent = self.text[self._sent :]
        self._last_flush = time.monotonic()
        if not unsent:
            return
        self._seq += 1
        self._send({"event": "delta", "seq": self._seq, "offset": self._sent, "text": unsent})
        self._sent = len(self.text)

    def finish(self, *, error: str | None = None) -> None:
        self.flush()
        if error is None:
            self._send({"event": "done"})
        else:
            self._send({"event": "error", "message": error})
        self.wait()

    def wait(self, timeout: float = 10.0) -> None:
        for future in self._pending:
            future.result(timeout=timeout)
        self._pending.clear()
