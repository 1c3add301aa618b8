"""Lighthouse (mobile) on the public pages of a production-settings stack (bench/stack.py): the scores of
its four categories and each page's first-load weight, compressed, in the "Lighthouse" section of
bench/RESULTS.md (between `<!-- lighthouse:begin -->` and `<!-- lighthouse:end -->`).

    .venv/bin/python bench/lighthouse.py               # installs Lighthouse (npm), runs, writes RESULTS.md
    .venv/bin/python bench/lighthouse.py --no-write --runs 1

Lighthouse runs from npm (pinned in bench/lighthouse/package.json, installed into
bench/lighthouse/node_modules on first use) and drives Debian's Chromium (`/usr/bin/chromium`), with its
default mobile emulation: a mid-range phone, simulated slow 4G and a 4x slower CPU. Each page is
audited `--runs` times on a cold cache and the median score of each category is kept, since the
performance score moves a few points between runs. The stack holds `--votes` voted battles (through
the real vote service) and their snapshot, so the board, the charts and the model page show data.
Targets (issue 10): at least 95 in every category on every page; the charts page under 1.5 MB on first
load (Lighthouse's `total-byte-weight`: bytes transferred, after compression).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load.common import seed  # noqa: E402
from bench.stack import stack_running  # noqa: E402

RESULTS_MD = ROOT / "bench" / "RESULTS.md"
NODE_DIR = ROOT / "bench" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MIN_SCORE = 95
CHARTS_MAX_BYTES = 1.5 * 1024 * 1024
BEGIN, END = "<!-- lighthouse:begin -->", "<!-- lighthouse:end -->"


def lighthouse_install() -> Path:
    binary = NODE_DIR / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return binary


def audit(*, binary: Path, url: str, out: Path, tries: int = 3) -> dict[str, Any]:
    """One Lighthouse run; a run that fails (Lighthouse's own runtime errors, such as NO_NAVSTART when
    Chromium's trace misses the navigation, come and go) is tried again, up to `tries` times."""
    for attempt in range(1, tries + 1):
        try:
            return _audit_once(binary=binary, url=url, out=out)
        except subprocess.CalledProcessError:
            if attempt == tries:
                raise
            print(f"lighthouse failed on {url}; trying again ({attempt}/{tries})", flush=True)
    raise AssertionError("unreachable")


def _audit_once(*, binary: Path, url: str, out: Path) -> dict[str, Any]:
    subprocess.run(
        [
            str(binary),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-path={CHROMIUM}",
            f"--chrome-flags={CHROMIUM_FLAGS}",
            "--only-categories=" + ",".join(CATEGORIES),
        ],
        check=True,
        timeout=300,
    )
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def page_figures(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Median score per category over the runs, the first run's weight and the failing audits."""
    scores = {
        category: round(statistics.median(100 * (r["categories"][category]["score"] or 0) for r in reports))
        for category in CATEGORIES
    }
    audits = reports[0]["audits"]
    failing = sorted(
        {
            key
            for report in reports
            for category in CATEGORIES
            for ref in report["categories"][category]["auditRefs"]
            if ref["weight"] > 0
            and (key := ref["id"]) in report["audits"]
            and report["audits"][key]["score"] is not None
            and report["audits"][key]["score"] < 0.9
        }
    )
    return {
        "scores": scores,
        "bytes": int(audits["total-byte-weight"]["numericValue"]),
        "lcp_ms": int(
            statistics.median(r["audits"]["largest-contentful-paint"]["numericValue"] for r in reports)
        ),
        "cls": round(max(r["audits"]["cumulative-layout-shift"]["numericValue"] for r in reports), 3),
        "failing": failing,
    }


def section(results: dict[str, dict[str, Any]], *, runs: int, version: str) -> str:
    lines = [
        "## Lighthouse (mobile)",
        "",
        f"Lighthouse {version}, default mobile emulation (simulated slow 4G, 4x CPU slowdown), Debian's "
        f"Chromium, against `bench/stack.py` (production settings, hashed and compressed static files); "
        f"median of {runs} cold-cache runs per page. Reproduce: `.venv/bin/python bench/lighthouse.py` "
        f"(`make bench` runs it). Target: >= {MIN_SCORE} in every category; the charts page under 1.5 MB "
        f"on first load. Measured {dt.date.today().isoformat()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs.",
        "",
        "| page | performance | accessibility | best practices | SEO | first load (compressed) | LCP | CLS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for page, figures in results.items():
        if "missing" in figures:
            lines.append(f"| `{page}` | not measured: the page answered {figures['missing']} | | | | | | |")
            continue
        s = figures["scores"]
        lines.append(
            f"| `{page}` | {s['performance']} | {s['accessibility']} | {s['best-practices']} | {s['seo']} "
            f"| {figures['bytes'] / 1024:,.0f} KiB | {figures['lcp_ms'] / 1000:.1f} s | {figures['cls']} |"
        )
    missed = [
        f"`{page}`: {category} {score}"
        for page, figures in results.items()
        for category, score in figures.get("scores", {}).items()
        if score < MIN_SCORE
    ]
    charts = results.get("/leaderboard/charts/")
    if charts and charts.get("bytes", 0) >= CHARTS_MAX_BYTES:
        missed.append(f"`/leaderboard/charts/` weighs {charts['bytes'] / 1024:,.0f} KiB")
    lines += ["", "Targets missed: " + ("; ".join(missed) if missed else "none") + "."]
    failing = {page: figures["failing"] for page, figures in results.items() if figures.get("failing")}
    if failing:
        lines += [
            "",
            "Audits below 0.9 in some run: "
            + "; ".join(f"`{p}`: {', '.join(a)}" for p, a in failing.items())
            + ".",
        ]
    return "\n".join([BEGIN, *lines, END])


def results_write(text: str) -> None:
    current = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        RESULTS_MD.write_text(head + text + tail)
    else:
        RESULTS_MD.write_text(current.rstrip("\n") + "\n\n" + text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--votes", type=int, default=600)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated paths, e.g. /leaderboard/charts/")
    args = parser.parse_args(argv)
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    binary = lighthouse_install()
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with stack_running(instant_models=6) as info:
        seed(info, "votes", "--count", str(args.votes))
        pages = ["/", "/leaderboard/", "/leaderboard/charts/", f"/models/{info.slugs('instant')[0]}/"]
        if args.only:
            pages = [page for page in pages if page in args.only.split(",")]
        out_dir = Path(info.data_dir) / "lighthouse"
        out_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, dict[str, Any]] = {}
        for page in pages:
            status = httpx.get(info.base_url + page, timeout=30).status_code
            if status != 200:
                results[page] = {"missing": f"HTTP {status}"}
                continue
            reports = [
                audit(
                    binary=binary,
                    url=info.base_url + page,
                    out=out_dir / f"{page.strip('/').replace('/', '_') or 'root'}-{run}.json",
                )
                for run in range(args.runs)
            ]
            results[page] = page_figures(reports)
            print(page, json.dumps(results[page]), flush=True)
    text = section(results, runs=args.runs, version=version)
    print(text)
    if not args.no_write:
        results_write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
