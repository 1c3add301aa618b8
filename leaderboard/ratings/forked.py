"""Work handed to a forked process while this one goes on, for the file commands' independent halves.

A forked child shares the parent's memory as it was, so nothing is copied to it; only its result
comes back, pickled through a pipe. Where there is no second CPU, or no fork, the work runs in this
process when its result is asked for, so callers read the same result either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

T = TypeVar("T")
_DIED = object()


def cpus_usable() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Forked(Generic[T]):
    """`work()` running in a forked child; `result()` waits for it (and raises what it raised)."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._process: multiprocessing.process.BaseProcess | None = None
        if cpus_usable() < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        # The child touches no BLAS, lock or connection of the parent: only numpy, msgspec and plain
        # Python, which are safe after a fork.
        self._process = context.Process(target=self._child, args=(send,), daemon=True)
        self._process.start()
        send.close()

    def _child(self, send: Connection) -> None:
        try:
            outcome: tuple[bool, object] = (True, self._work())
        except Exception as error:  # noqa: BLE001 (whatever it is, the parent raises it)
            outcome = (False, error)
        send.send(outcome)

    def result(self) -> T:
        process, self._process = self._process, None
        if process is None:
            return self._work()
        try:
            ok, value = self._receive.recv()
        except (EOFError, OSError):
            ok, value = True, _DIED
        finally:
            self._receive.close()
            process.join()
        if value is _DIED:
            return self._work()  # the child died without a word: do the work here
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value

    def cancel(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._receive.close()
            self._process = None
