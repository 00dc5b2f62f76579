"""Benchmark of the embedded local target: `inv deploy --all --local`, cold and warm, and the
local runtime's request latency through the site's /api.

    .venv/bin/python bench/bench_local.py [--runs 3]

Cold: a fresh copy of the project (its own git repository, no .tars/ except the shared
dependency cache, no emulator running, no ui/node_modules: npm ci runs from npm's cache).
Warm: the same command again right after (nothing changed: every component "unchanged").
Prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios.clone import copy_project  # noqa: E402  (the e2e test's fresh-clone recipe)


def inv(root: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_"))}
    env.update(TARS_ROOT=str(root), PYTHONPATH=str(ROOT), NO_COLOR="1")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], cwd=root, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def api_latency(root: Path, n: int = 10) -> list[float]:
    outputs = json.loads((root / ".tars" / "local" / "outputs.json").read_text())
    url = outputs["api_endpoint"]["value"] + "?action=health"
    times = []
    for _ in range(n):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as reply:
            reply.read()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cold, warm, latency = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="tars-bench-") as tmp:
            root = copy_project(Path(tmp) / "tars")
            try:
                cold.append(inv(root, "deploy", "--all", "--local", "--yes", "--skip-verify"))
                warm.append(inv(root, "deploy", "--all", "--local", "--yes", "--skip-verify"))
                latency += api_latency(root)
            finally:
                subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "local.down"], cwd=root,
                               env=dict(os.environ, TARS_ROOT=str(root), PYTHONPATH=str(ROOT)), capture_output=True)
    med = statistics.median
    print(f"| measurement | median | min | max | runs |\n|---|---|---|---|---|")
    print(f"| `inv deploy --all --local` cold (fresh copy, no emulator) | {med(cold):.1f} s | {min(cold):.1f} s "
          f"| {max(cold):.1f} s | {len(cold)} |")
    print(f"| `inv deploy --all --local` warm (no changes) | {med(warm):.1f} s | {min(warm):.1f} s "
          f"| {max(warm):.1f} s | {len(warm)} |")
    print(f"| GET site /api?action=health (site → runtime → handler subprocess) | {med(latency) * 1000:.0f} ms "
          f"| {min(latency) * 1000:.0f} ms | {max(latency) * 1000:.0f} ms | {len(latency)} |")


if __name__ == "__main__":
    main()
