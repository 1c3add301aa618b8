"""Streaming transport: a generation's chunks, coalesced, numbered and sent to a Channels group.

With a `state_key`, the text so far is also kept in the cache (Redis) before each message is sent,
so a listener that joins late reads it there and then follows the deltas: nothing is missed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from core.cache import cache_get, cache_set
from core.realtime import STREAM_EVENT, group_send

# Long enough for any generation; the stored answer is the record after that.
STATE_TTL_S = 3600


def stream_state_get(*, state_key: str) -> str | None:
    """The text a stream had sent so far, or None (not started, expired, or the cache unreachable)."""
    value = cache_get(state_key)  # an unreachable cache is a miss: the caller reads the database
    return value if isinstance(value, str) else None


class ChunkStream:
    """Coalesces one generation's chunks into numbered deltas sent at most every `interval` seconds.

    Every message carries `fields` (what the listener needs to place it, e.g. which answer it is).
    """

    def __init__(
        self, *, group: str, fields: Mapping[str, Any], interval: float, state_key: str | None = None
    ) -> None:
        self.group = group
        self.state_key = state_key
        self.fields = dict(fields)
        self.interval = interval
        self.text = ""
        self._sent = 0
        self._seq = 0
        self._last_flush = 0.0
        self._pending: list[Future[None]] = []

    def _send(self, payload: dict[str, Any]) -> None:
        payload = {"type": STREAM_EVENT, **self.fields, **payload}
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
        self._state_save()
        self._send({"event": "delta", "seq": self._seq, "offset": self._sent, "text": unsent})
        self._sent = len(self.text)

    def _state_save(self) -> None:
        if self.state_key is None:
            return
        # Unsaved (the cache down), the stream goes on without replay rather than fail the answer.
        cache_set(self.state_key, self.text, STATE_TTL_S)

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
