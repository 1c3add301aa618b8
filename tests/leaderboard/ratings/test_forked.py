"""Forked: work done in a forked child while the parent goes on, with the same result as doing it here."""

from __future__ import annotations

import os

import numpy as np
import pytest

import leaderboard.ratings.forked as forked
from leaderboard.ratings.forked import Forked


def test_the_child_s_result_comes_back():
    data = np.arange(100_000, dtype=np.int64)
    parent = os.getpid()
    job = Forked(lambda: (int(data.sum()), os.getpid() != parent))
    assert job.result() == (int(data.sum()), forked.cpus_usable() > 1)


def test_what_the_child_raises_is_raised_here():
    def broken() -> int:
        raise ValueError("line 7: 'winner' must be one of ...")

    with pytest.raises(ValueError, match="line 7"):
        Forked(broken).result()


def test_a_child_that_dies_without_a_word_is_replaced_by_doing_the_work_here():
    parent = os.getpid()

    def work() -> int:
        if os.getpid() != parent:
            os._exit(3)
        return 42

    assert Forked(work).result() == 42


def test_without_a_second_cpu_the_work_runs_here_when_asked(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(forked, "cpus_usable", lambda: 1)
    calls: list[int] = []

    def work() -> int:
        calls.append(os.getpid())
        return len(calls)

    job = Forked(work)
    assert calls == []
    assert job.result() == 1 and calls == [os.getpid()]


def test_a_cancelled_child_is_stopped():
    job = Forked(lambda: __import__("time").sleep(30))
    process = job._process
    job.cancel()
    assert process is None or not process.is_alive()
