"""Latency against concurrency: up to how many applications in flight p95 stays under a bound.

Runs `onething bench` once per concurrency (12 applications per unit of concurrency, plus
20, so every run is past its warm-up) and prints one Markdown table from the reports.

    .venv/bin/python scripts/latency_sweep.py                        # 1,2,3,5,10,20, commitment
    .venv/bin/python scripts/latency_sweep.py --concurrency 1,5,20 --path review \\
        --item food-business-license
    .venv/bin/python scripts/latency_sweep.py --summarise-only --out .data/sweep

Each run starts its own dev server and worker; 1 to 20 take about six minutes here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(concurrency: int, path: str, target: list[str], out: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from starter.cli_bench import bench_app; bench_app()",
            "--applications",
            str(12 * concurrency + 20),
            "--concurrency",
            str(concurrency),
            "--path",
            path,
            *target,
            "--open-applications",
            "0",
            "--bare-workflows",
            "100",
            "--quiet",
            "--out",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def table(reports: list[Path], bound_s: float) -> str:
    rows = [
        "| concurrency | completed / s | history events / s "
        "| to all licenses and filings p50 / p95 / p99 s |",
        "|---:|---:|---:|---|",
    ]
    under: list[int] = []
    for report in reports:
        data = json.loads(report.read_text("utf-8"))
        run, config = data["run"], data["config"]
        # Reports before the 2026.12.1 store named it latency_all_licenses_s.
        latency = (
            run.get("latency_licenses_and_filings_s")
            or run.get("latency_all_licenses_s")
            or run["latency_completed_s"]
        )
        p50, p95, p99 = latency["p50"], latency["p95"], latency["p99"]
        if p95 < bound_s:
            under.append(config["concurrency"])
        rows.append(
            f"| {config['concurrency']} | {run['completed_per_s']:.2f} | "
            f"{run['history_events_per_s']:.0f} | {p50:.2f} / {p95:.2f} / {p99:.2f} |"
        )
    verdict = (
        f"p95 under {bound_s:g} s up to {max(under)} in flight"
        if under
        else f"p95 under {bound_s:g} s at none of these concurrencies"
    )
    return "\n".join([*rows, "", verdict])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,2,3,5,10,20")
    parser.add_argument("--path", default="commitment")
    parser.add_argument("--bundle")
    parser.add_argument("--item")
    parser.add_argument("--bound", type=float, default=1.0, help="the p95 bound, seconds")
    parser.add_argument("--out", type=Path, default=ROOT / ".data" / "sweep")
    parser.add_argument("--summarise-only", action="store_true")
    args = parser.parse_args()
    levels = sorted({int(c) for c in args.concurrency.split(",")})
    target = [f"--{k}={v}" for k, v in (("bundle", args.bundle), ("item", args.item)) if v]
    args.out.mkdir(parents=True, exist_ok=True)
    reports = [args.out / f"{args.path}-{c}.json" for c in levels]
    if not args.summarise_only:
        for level, report in zip(levels, reports, strict=True):
            print(f"concurrency {level} ...", file=sys.stderr, flush=True)
            run(level, args.path, target, report)
    print(table([r for r in reports if r.exists()], args.bound))


if __name__ == "__main__":
    main()
