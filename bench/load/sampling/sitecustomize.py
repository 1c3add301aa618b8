"""A sampler of every thread, for the bench stack's processes when profiling (bench/run.py --sample).

With `PYTHONPATH=bench/load/sampling` and `BENCH_SAMPLE_DIR` set, Python imports this at start-up in every
process of the stack (uvicorn's workers included): a daemon thread looks at every thread's stack every
BENCH_SAMPLE_INTERVAL_S (0.02) and writes the folded stacks ("frame;frame;… count", outermost first) to
`<dir>/<process>-<pid>.cpu.folded` (each stack weighted by the CPU microseconds its thread used since the
last look: a CPU profile of all threads) and `….wall.folded` (one per look: where threads wait) every
few seconds. It only reads `sys._current_frames()`: nothing in the
application changes, but the sampling costs CPU in proportion to threads x depth, so figures taken
with it on are not the benchmark's figures. `python -m bench.load.sampling.report DIR` summarises.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from types import FrameType


def _name() -> str:
    argv = " ".join(sys.argv)
    if "uvicorn" in argv or "multiprocessing" in argv or "spawn" in argv:
        return "web"
    if "arena_worker" in argv:
        return "worker"
    if "beat" in argv:
        return "beat"
    return os.path.basename(sys.argv[0] or "python").replace(".py", "") or "python"


_ROOT = os.getcwd().rstrip("/") + "/"
_STDLIB = os.path.dirname(os.__file__).rstrip("/") + "/"


def _frame_label(code: object) -> str:
    filename = getattr(code, "co_filename", "?")
    marker = "site-packages/"
    if marker in filename:
        filename = filename.split(marker, 1)[1]
    elif filename.startswith(_STDLIB):
        filename = "py:" + filename[len(_STDLIB) :]
    elif filename.startswith(_ROOT):
        filename = filename[len(_ROOT) :]
    return f"{filename}:{getattr(code, 'co_name', '?')}"


def _cpu_us(ident: int) -> int | None:
    """The thread's CPU time so far (its clock starts at 0 when it starts); None if it is gone."""
    try:
        return int(time.clock_gettime(time.pthread_getcpuclockid(ident)) * 1_000_000)
    except (OSError, OverflowError):
        return None


def _dump(path: str, counts: Counter[str]) -> None:
    with open(path + ".tmp", "w") as out:
        for stack, count in counts.most_common():
            out.write(f"{stack} {count}\n")
    os.replace(path + ".tmp", path)


def _sample(directory: str, interval: float) -> None:
    me = threading.get_ident()
    cpu: Counter[str] = Counter()
    wall: Counter[str] = Counter()
    names: dict[int | None, str] = {}
    used: dict[int, int] = {}
    last_dump = time.monotonic()
    while True:
        time.sleep(interval)
        for thread in threading.enumerate():
            names[thread.ident] = thread.name
        for ident, top in sys._current_frames().items():
            if ident == me:
                continue
            stack = []
            depth = 0
            frame: FrameType | None = top
            while frame is not None and depth < 80:
                stack.append(_frame_label(frame.f_code))
                frame = frame.f_back
                depth += 1
            kind = names.get(ident, "?").split("-")[0].split("_")[0]
            folded = f"[{kind}];" + ";".join(reversed(stack))
            wall[folded] += 1
            now_us = _cpu_us(ident)
            if now_us is not None:
                # A thread first seen (or a new one under a reused id) used all of its time so far.
                before = used.get(ident, 0)
                used[ident] = now_us
                cpu[folded] += now_us - before if now_us >= before else now_us
        if time.monotonic() - last_dump > 3:
            last_dump = time.monotonic()
            base = os.path.join(directory, f"{_name()}-{os.getpid()}")
            _dump(base + ".cpu.folded", cpu)
            _dump(base + ".wall.folded", wall)


_directory = os.environ.get("BENCH_SAMPLE_DIR")
if _directory:
    os.makedirs(_directory, exist_ok=True)
    _interval = float(os.environ.get("BENCH_SAMPLE_INTERVAL_S", "0.02"))
    threading.Thread(target=_sample, args=(_directory, _interval), name="bench-sampler", daemon=True).start()
