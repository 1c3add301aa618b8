"""`make run`'s process supervisor: keeps each program running, restarting the ones that exit.

A program that exits is started again after a backoff that doubles with each quick failure (0.5 s,
1 s, 2 s ... at most 30 s) and starts over once it has stayed up for a minute; the others run on.
Stopping sends SIGTERM to all, waits out a short grace, then kills what is left.

Small on purpose (supervisord would add a config file and a daemon for what is one loop here), and
tested in tests/config/test_supervisor.py with real processes and signals.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

BACKOFF_FIRST_S: Final = 0.5
BACKOFF_MAX_S: Final = 30.0
STABLE_AFTER_S: Final = 60.0
TICK_S: Final = 0.2


@dataclass
class _Program:
    name: str
    start: Callable[[], subprocess.Popen[Any]]
    process: subprocess.Popen[Any] | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Runs `programs` (name → how to start it) until `stop()`; `watch` is called every second and
    restarts what it watches itself (the embedded servers), returning the names it restarted."""

    programs: Mapping[str, Callable[[], subprocess.Popen[Any]]]
    watch: Callable[[], list[str]] | None = None
    out: TextIO = field(default_factory=lambda: sys.stderr)
    _running: dict[str, _Program] = field(default_factory=dict)
    _stopping: bool = False
    _watched_at: float = 0.0

    def start(self) -> None:
        now = time.monotonic()
        for name, start in self.programs.items():
            program = _Program(name=name, start=start)
            self._running[name] = program
            self._launch(program, now=now)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def program_add(self, name: str, start: Callable[[], subprocess.Popen[Any]]) -> None:
        """Start one more program, supervised like the others from now on."""
        program = _Program(name=name, start=start)
        self._running[name] = program
        if not self._stopping:
            self._launch(program, now=time.monotonic())

    def stop(self, *, grace_s: float = 3.0) -> None:
        """SIGTERM every program, then SIGKILL those still running after `grace_s`."""
        self._stopping = True
        processes = [p.process for p in self._running.values() if p.process is not None]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in processes:
            try:
                process.wait(timeout=max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def request_stop(self, signum: int = 0, frame: object = None) -> None:
        """For a signal handler: the loop in `run` stops at its next tick."""
        self._stopping = True

    def run(self) -> None:
        """Supervise until `request_stop`; the caller then calls `stop`."""
        while not self._stopping:
            self.tick(now=time.monotonic())
            time.sleep(TICK_S)

    def tick(self, *, now: float) -> None:
        if self.watch is not None and now - self._watched_at >= 1.0:
            self._watched_at = now
            try:
                for name in self.watch():
                    self._say(f"{name} had stopped; started it again.")
            except Exception as exc:  # noqa: BLE001 - the next tick tries again; `make run` must outlive it
                self._say(f"could not restart an embedded server ({exc}); trying again.")
        for program in self._running.values():
            if self._stopping:
                return
            if program.restart_at is not None:
                if now >= program.restart_at:
                    self._launch(program, now=now)
                continue
            process = program.process
            if process is None or process.poll() is None:
                continue
            stable = now - program.started_at >= STABLE_AFTER_S
            program.quick_failures = 0 if stable else program.quick_failures + 1
            delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, program.quick_failures - 1))
            program.restart_at = now + delay
            self._say(f"{program.name} exited with code {process.returncode}; restarting it in {delay:g} s.")

    def pid(self, name: str) -> int | None:
        process = self._running[name].process
        return process.pid if process is not None and process.poll() is None else None

    def _launch(self, program: _Program, *, now: float) -> None:
        if program.process is not None:
            program.restarts += 1
        program.restart_at = None
        program.started_at = now
        try:
            program.process = program.start()
        except OSError as exc:
            program.process = None
            program.quick_failures += 1
            program.restart_at = now + BACKOFF_MAX_S
            self._say(f"could not start {program.name} ({exc}); trying again in {BACKOFF_MAX_S:g} s.")

    def _say(self, message: str) -> None:
        print(f"make run: {message}", file=self.out, flush=True)
