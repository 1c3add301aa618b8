"""The load benchmarks against one production-settings stack (bench/stack.py): a table of every figure beside
its target, and the "Load" section of bench/RESULTS.md (between `<!-- load:begin -->` and
`<!-- load:end -->`).

    .venv/bin/python bench/run.py                      # all, 60 s each where timed, once; writes RESULTS.md
    .venv/bin/python bench/run.py --only votes,cycles --duration 10 --repeat 3 --no-write
    .venv/bin/python bench/run.py --stack-file .data/bench/stack.json   # against `bench/stack.py serve`
    .venv/bin/python bench/run.py --set DATABASE_POOL_MAX_SIZE=16       # an app setting for the stack

Rounds run every chosen benchmark once, in order, `--repeat` times, so all see the same machine; the
table gives min-max over the rounds, and a target counts as met only if every round met it. The
section keeps, per benchmark, the latest run of it (`--only` replaces just those), and says when and on
what machine each ran. Raw results of every run go to .data/bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import DEFAULT_DATA_DIR, Stack, StackInfo, nofile_raise  # noqa: E402

RESULTS_MD = ROOT / "bench" / "RESULTS.md"
INTRO = """\
Reproduce: `make bench` (after the rating benchmark it runs `bench/run.py $(BENCH_LOAD_ARGS)`, then the
snapshot benchmark on the same scratch database), or `.venv/bin/python bench/run.py --repeat 3`. Each
figure and how it is measured: the docstrings of `bench/load/*.py`; the stack: `bench/stack.py`
(production settings, `WEB_CONCURRENCY={web}` uvicorn processes trusting this machine's `X-Forwarded-For`
(`ARENA_TRUSTED_PROXIES=127.0.0.1`, rate limits raised a thousandfold), one `arena_worker`
with a threads pool of {worker} and as many database connections, beat; a scratch PostgreSQL database and
Redis databases). Every simulated person has its own session, CSRF token, connections and address
(X-Forwarded-For), so per-client rules apply as to people. The load generators run in one process on the
same machine as the stack and take CPU from it (the `bench client` figure below)."""
BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
DATA_PREFIX = "<!-- load:data "
ORDER = ("readers", "live_board", "votes", "cycles", "streaming", "battles30")
TIMED = ("readers", "votes", "cycles")  # the ones --duration applies to


@dataclass(frozen=True)
class Figure:
    bench: str
    key: str
    label: str
    target: str  # "" for a figure shown without a target
    better: str = ""  # "high", "low", or "" (no target)
    bound: float = 0.0
    unit: str = ""

    def met(self, value: float | None) -> bool | None:
        if not self.better:
            return None
        if value is None:
            return False
        if self.better == "high":
            return value >= self.bound
        if self.better == "max":  # strictly below
            return value < self.bound
        return value <= self.bound


FIGURES = (
    Figure("readers", "requests_per_s", "requests/s (200 closed-loop readers)", "≥ 600", "high", 600),
    Figure("readers", "errors", "errors (non-2xx/3xx, failed requests)", "0", "low", 0),
    Figure("readers", "p50_ms", "p50 latency", "", unit=" ms"),
    Figure("readers", "p99_ms", "p99 latency", "< 1,000 ms", "max", 1000, " ms"),
    Figure(
        "live_board", "pages_with_new_board", "pages with the new board (of 1,000)", "1,000", "high", 1000
    ),
    Figure("live_board", "p50_ms", "p50 vote sent → new board shown", "", unit=" ms"),
    Figure("live_board", "p99_ms", "p99 vote sent → new board shown", "< 1,000 ms", "max", 1000, " ms"),
    Figure("live_board", "event_p99_ms", "p99 vote sent → event received", "", unit=" ms"),
    Figure("votes", "votes_per_s", "votes/s, sustained (32 voters)", "≥ 500", "high", 500),
    Figure("votes", "p50_ms", "vote request p50", "", unit=" ms"),
    Figure("votes", "p99_ms", "vote request p99", "< 100 ms", "max", 100, " ms"),
    Figure("votes", "lost", "acknowledged votes not in PostgreSQL", "0", "low", 0),
    Figure("votes", "errors", "vote errors (non-2xx, failed)", "", unit=""),
    Figure("cycles", "cycles_per_s", "cycles/s (30 people, create → answers → vote)", "≥ 50", "high", 50),
    Figure("cycles", "p50_ms", "cycle p50", "", unit=" ms"),
    Figure("cycles", "p99_ms", "cycle p99", "", unit=" ms"),
    Figure("cycles", "lost", "acknowledged votes not in PostgreSQL", "0", "low", 0),
    Figure("cycles", "failures", "failed cycles", "", unit=""),
    Figure(
        "streaming",
        "ttft_overhead_ms",
        "time to first token, added over in-process",
        "≤ 50 ms",
        "low",
        50,
        " ms",
    ),
    Figure("streaming", "ttft_socket_p50_ms", "time to first token over the socket, p50", "", unit=" ms"),
    Figure("streaming", "throughput_ratio", "tokens/s over the socket ÷ in process", "≥ 0.9", "high", 0.9),
    Figure("streaming", "tokens_per_s_socket", "tokens/s over the socket (model: 200)", "", unit=""),
    Figure(
        "battles30",
        "first_chunk_max_ms",
        "first chunk of every answer (60), max",
        "< 2,000 ms",
        "max",
        2000,
        " ms",
    ),
    Figure("battles30", "first_chunk_p50_ms", "first chunk, p50", "", unit=" ms"),
)


def _runner(bench: str) -> Callable[..., dict[str, Any]]:
    from bench.load import battles30, cycles, live_board, readers, streaming, votes

    modules: dict[str, Any] = {
        "readers": readers,
        "live_board": live_board,
        "votes": votes,
        "cycles": cycles,
        "streaming": streaming,
        "battles30": battles30,
    }
    runner: Callable[..., dict[str, Any]] = modules[bench].run
    return runner


def _code_version() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git commands)."""
    import subprocess

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    # The application's code only: the benchmarks, the Makefile and the documents do not change figures.
    dirty = bool(
        git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!Makefile", ":!*.md")
    )
    return f"{commit} with uncommitted changes" if dirty else commit


def machine(target: StackInfo) -> dict[str, Any]:
    import psycopg
    import redis

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    with psycopg.connect(target.database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        postgres = str(row[0]) if row else "?"
    client = redis.Redis.from_url(target.redis_url)
    try:
        redis_version = str(client.info("server")["redis_version"])
    finally:
        client.close()
    return {
        "code": _code_version(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgres": postgres.split()[0] + (" (embedded)" if target.embedded.get("postgres") else ""),
        "redis": redis_version + (" (embedded)" if target.embedded.get("redis") else ""),
        "web_concurrency": target.web_concurrency,
        "worker_concurrency": target.worker_concurrency,
    }


def _options(bench: str, args: argparse.Namespace) -> dict[str, Any]:
    return {"duration": args.duration} if bench in TIMED and args.duration is not None else {}


def rounds(
    target: StackInfo, *, benches: list[str], repeat: int, args: argparse.Namespace
) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {bench: [] for bench in benches}
    for round_number in range(1, repeat + 1):
        for bench in benches:
            print(f"[run] round {round_number}/{repeat}: {bench} …", file=sys.stderr, flush=True)
            started = time.monotonic()
            try:
                result = _runner(bench)(target, **_options(bench, args))
            except Exception as exc:  # noqa: BLE001 -- one broken benchmark must not lose the others' figures
                result = {"failed": f"{type(exc).__name__}: {exc}"[:2000]}
            result["bench_s"] = round(time.monotonic() - started, 1)
            results[bench].append(result)
            print(f"[run]   {bench}: {_brief(bench, result)}", file=sys.stderr, flush=True)
    return results


def _brief(bench: str, result: dict[str, Any]) -> str:
    if "failed" in result:
        return f"FAILED {result['failed'][:300]}"
    return ", ".join(f"{f.key}={result.get(f.key)}" for f in FIGURES if f.bench == bench)


def _value(result: dict[str, Any], key: str) -> float | None:
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else None


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    elif abs(value) < 10:
        text = f"{value:.3f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:,.1f}"
    return text + unit


def summarise(bench: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per figure: min, max over the runs and whether every run met the target."""
    rows = []
    ok_runs = [run for run in runs if "failed" not in run]
    for figure in (f for f in FIGURES if f.bench == bench):
        values = [_value(run, figure.key) for run in ok_runs]
        present = [v for v in values if v is not None]
        verdicts = [figure.met(v) for v in values] + (
            [False] * (len(runs) - len(ok_runs)) if figure.better else []
        )
        rows.append(
            {
                "bench": bench,
                "key": figure.key,
                "label": figure.label,
                "target": figure.target,
                "min": min(present) if present else None,
                "max": max(present) if present else None,
                "unit": figure.unit,
                "met": None if not figure.better else (sum(1 for v in verdicts if v), len(verdicts)),
            }
        )
    return rows


def _range(row: dict[str, Any]) -> str:
    low, high = _format(row["min"], row["unit"]), _format(row["max"], row["unit"])
    return low if low == high else f"{_format(row['min'], '')}–{high}"


def _verdict(row: dict[str, Any]) -> str:
    if row["met"] is None:
        return ""
    met, of = row["met"]
    if met == of:
        return "met" if of == 1 else f"met ({of}/{of})"
    return "**missed**" if met == 0 else f"**missed** in {of - met} of {of}"


def table(entries: dict[str, dict[str, Any]]) -> str:
    lines = ["| benchmark | figure | target | result (min–max) | |", "| --- | --- | --- | ---: | --- |"]
    for bench in ORDER:
        entry = entries.get(bench)
        if not entry:
            continue
        failed = [run["failed"] for run in entry["runs"] if "failed" in run]
        for row in summarise(bench, entry["runs"]):
            lines.append(f"| {bench} | {row['label']} | {row['target']} | {_range(row)} | {_verdict(row)} |")
        if failed:
            lines.append(
                f"| {bench} | FAILED in {len(failed)} of {len(entry['runs'])} runs: {failed[0][:200]} | | | |"
            )
    return "\n".join(lines)


def _resources_line(bench: str, entry: dict[str, Any]) -> str:
    runs = [run for run in entry["runs"] if "resources" in run]
    if not runs:
        return ""
    loads = [value for run in runs for value in run["resources"]["load_avg_1m"]]
    cores: dict[str, list[float]] = {}
    for run in runs:
        for name, value in run["resources"]["cores_busy"].items():
            cores.setdefault(name, []).append(value)
    busy = ", ".join(
        f"{name} {min(values):.2f}" + (f"–{max(values):.2f}" if max(values) != min(values) else "")
        for name, values in cores.items()
        if max(values) >= 0.01
    )
    lags = [
        run["resources"]["client_loop_lag_p99_ms"]
        for run in runs
        if "client_loop_lag_p99_ms" in run["resources"]
    ]
    lag = f"; the client's event loop late by {max(lags):.0f} ms at p99" if lags else ""
    code = entry["machine"].get("code")
    return (
        f"- **{bench}** ({entry['date']}{f', code {code}' if code else ''}, {len(entry['runs'])} run(s), "
        f"{entry['settings']}): load average {min(loads):.2f}–{max(loads):.2f}; cores busy: {busy}{lag}"
    )


def section(entries: dict[str, dict[str, Any]]) -> str:
    latest = max(entries.values(), key=lambda entry: entry["date"])
    m = latest["machine"]
    dates = sorted({entry["date"][:10] for entry in entries.values()})
    machines = {json.dumps(entry["machine"], sort_keys=True) for entry in entries.values()}
    out = [
        BEGIN,
        "# Load: the whole stack under simulated people",
        "",
        *INTRO.format(web=m["web_concurrency"], worker=m["worker_concurrency"]).splitlines(),
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"PostgreSQL {m['postgres']},",
        f"Redis {m['redis']}. Run on {', '.join(dates)}."
        + (" (Benchmarks ran on differing machines; see each line below.)" if len(machines) > 1 else ""),
        "",
        table(entries),
        "",
        "Per benchmark: when, load average (1 min, at start and end of each run) and CPU cores busy on",
        "average (CPU seconds ÷ wall seconds) per part: the benchmark process, the web server's processes,",
        "the worker, beat, the PostgreSQL backends of the scratch database, the whole Redis server.",
        "",
        *[line for bench in ORDER if bench in entries and (line := _resources_line(bench, entries[bench]))],
        "",
        DATA_PREFIX + json.dumps(entries, separators=(",", ":")).replace("--", "\\u002d\\u002d") + " -->",
        END,
    ]
    return "\n".join(out)


def _compact(run: dict[str, Any]) -> dict[str, Any]:
    """What the section keeps of a run: the figures and the resources, not the per-path details."""
    keys = {f.key for f in FIGURES} | {"failed", "resources", "settings"}
    return {key: value for key, value in run.items() if key in keys}


def entries_stored(text: str) -> dict[str, dict[str, Any]]:
    start = text.find(DATA_PREFIX)
    if start < 0:
        return {}
    end = text.find(" -->", start)
    stored: dict[str, dict[str, Any]] = json.loads(text[start + len(DATA_PREFIX) : end])
    return stored


def results_write(entries_new: dict[str, dict[str, Any]], path: Path = RESULTS_MD) -> None:
    text = path.read_text() if path.exists() else ""
    begin, end = text.find(BEGIN), text.find(END)
    entries = entries_stored(text[begin:end]) if begin >= 0 and end > begin else {}
    entries.update(entries_new)
    body = section(entries)
    if begin >= 0 and end > begin:
        text = text[:begin] + body + text[end + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(ORDER), help=f"comma-separated, of: {', '.join(ORDER)}")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--duration", type=float, default=None, help=f"seconds for {', '.join(TIMED)} (60)")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md as it is")
    parser.add_argument(
        "--stack-file", type=Path, default=None, help="use a running stack (bench/stack.py serve)"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="an app setting for the stack"
    )
    parser.add_argument("--web-concurrency", type=int, default=2, help="uvicorn processes (WEB_CONCURRENCY)")
    parser.add_argument(
        "--sample", type=Path, default=None, metavar="DIR", help="sample the stack's stacks (slows it)"
    )
    args = parser.parse_args(argv)
    benches = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(benches) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    benches = [bench for bench in ORDER if bench in benches]
    nofile_raise()
    started = dt.datetime.now(dt.UTC)
    if args.stack_file:
        target = StackInfo.load(args.stack_file)
        results = rounds(target, benches=benches, repeat=args.repeat, args=args)
        described = machine(target)
    else:
        extra = dict(item.split("=", 1) for item in args.set)
        with Stack(extra_env=extra, sample_dir=args.sample, web_concurrency=args.web_concurrency) as target:
            results = rounds(target, benches=benches, repeat=args.repeat, args=args)
            described = machine(target)
    stamp = started.strftime("%Y-%m-%d %H:%M UTC")
    raw_dir = DEFAULT_DATA_DIR / "results"
    raw_dir.mkdir(parents=True, exist_ok=True)
    raw = raw_dir / f"load-{started.strftime('%Y%m%dT%H%M%S')}.json"
    raw.write_text(json.dumps({"date": stamp, "machine": described, "results": results}, indent=1))
    entries = {
        bench: {
            "date": stamp,
            "machine": described,
            "settings": ", ".join(f"{k}={v}" for k, v in (runs[0].get("settings") or {}).items()),
            "runs": [_compact(run) for run in runs],
        }
        for bench, runs in results.items()
    }
    print()
    print(table(entries))
    print()
    for bench in benches:
        print(_resources_line(bench, entries[bench]))
    print(f"\nraw results: {raw}")
    sampled = args.sample is not None
    if sampled:
        print("sampling was on: figures are not the benchmark's (not written to RESULTS.md)")
    elif not args.no_write:
        results_write(entries)
        print(f"updated the Load section of {RESULTS_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
